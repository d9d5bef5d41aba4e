//! `ekg generate`: a realistic synthetic enterprise dataset with planted, recorded patterns.
//!
//! Industrial clusters around core enterprises with supply chains; ownership pyramids with a
//! person at the top and cross-holdings; officers, with nominee legal representatives shared by
//! shell firms; accounts with heavy-tailed, business-hours transfers; loans with post-loan fund
//! flows, some diverted back to the borrower's controller; guarantee chains and circles; fraud
//! rings (shared phones, addresses, devices; round-tripping fund cycles; scatter-gather flows)
//! camouflaged by ordinary trade; popular registration-agent addresses; and defaults concentrated
//! where contagion would put them. `truth/` records what was planted.
//!
//! Deterministic for a seed: every random stream is seeded from (seed, purpose, chunk), never
//! from thread timing.

pub mod ids;
mod tables;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use tables::write_dataset;

/// Generator parameters.
#[derive(Clone, Debug)]
pub struct GenConfig {
    pub firms: u32,
    pub seed: u64,
    /// Average transfers sent per firm (ordinary trade; planted flows come on top).
    pub transfers_per_firm: f64,
}

impl GenConfig {
    pub const DEFAULT_SEED: u64 = 42;
    pub const DEFAULT_TRANSFERS_PER_FIRM: f64 = 16.0;
}

/// An entity by kind and index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ent {
    Firm(u32),
    Person(u32),
    Account(u32),
    Loan(u32),
}

pub const INDUSTRIES: [&str; 12] = [
    "manufacturing",
    "wholesale_retail",
    "construction",
    "logistics",
    "software",
    "agriculture",
    "real_estate",
    "food",
    "textiles",
    "chemicals",
    "electronics",
    "services",
];

/// Dates are days since 1970-01-01; transfers fall in [WINDOW_START, WINDOW_START + WINDOW_DAYS).
pub const WINDOW_START_DAY: i32 = 19_723; // 2024-01-01
pub const WINDOW_DAYS: i32 = 730;
pub use ekg_schema::MICROS_PER_DAY;

/// A planted pattern, for truth/rings.parquet.
#[derive(Clone, Debug)]
pub struct PlantedRing {
    pub kind: &'static str,
    pub members: Vec<Ent>,
}

/// The whole plan: node attributes and relations by index, before ids are formatted.
#[derive(Default)]
pub struct Plan {
    pub firms: u32,
    pub persons: u32,
    pub region: Vec<u8>,
    pub industry: Vec<u8>,
    pub capital: Vec<f64>,
    pub founded: Vec<i32>,
    pub defaulted: Vec<bool>,
    pub exposure: Vec<f64>,
    pub pd: Vec<f64>,
    pub is_core: Vec<bool>,
    /// Accounts: owner.
    pub account_owner: Vec<Ent>,
    pub account_opened: Vec<i64>,
    /// First account of each firm (firms own `firm_accounts[i]..firm_accounts[i+1]`).
    pub firm_accounts: Vec<u32>,
    /// A person's account, if any.
    pub person_account: Vec<u32>,
    pub loans: Vec<Loan>,
    pub shareholdings: Vec<(Ent, u32, f64)>,
    pub officers: Vec<(u32, u32, u8)>,
    pub supply: Vec<(u32, u32, f64)>,
    pub guarantees: Vec<(Ent, Ent, f64, i32)>,
    pub identifiers: Vec<(Ent, u8, String)>,
    /// Planted transfers (rings, diversion); ordinary trade is generated per chunk on write.
    pub planted_transfers: Vec<Transfer>,
    pub rings: Vec<PlantedRing>,
    /// (group, controller person, firm, level) of ownership pyramids.
    pub pyramids: Vec<(u32, u32, u32, u8)>,
    pub transfers_per_firm: f64,
    pub seed: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct Loan {
    pub borrower: u32,
    pub amount: f64,
    pub disbursed: i64,
    pub deposit_account: u32,
    pub defaulted: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct Transfer {
    pub src: u32,
    pub dst: u32,
    pub amount: f64,
    pub ts: i64,
}

pub fn rng_for(seed: u64, purpose: u64, chunk: u64) -> ChaCha8Rng {
    let mixed = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ chunk.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    ChaCha8Rng::seed_from_u64(mixed)
}

/// A log-normal draw (heavy-tailed amounts).
pub fn lognormal(rng: &mut ChaCha8Rng, mu: f64, sigma: f64) -> f64 {
    use rand_distr::{Distribution, LogNormal};
    LogNormal::new(mu, sigma).map(|d| d.sample(rng)).unwrap_or(mu.exp())
}

/// A business-hours instant on `day`: transfers cluster in the working day.
pub fn business_time(rng: &mut ChaCha8Rng, day: i32) -> i64 {
    const HOUR_WEIGHTS: [u32; 24] = [1, 1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 10, 12, 15, 15, 13, 10, 6, 4, 3, 2, 2, 1];
    let total: u32 = HOUR_WEIGHTS.iter().sum();
    let mut pick = rng.random_range(0..total);
    let mut hour = 0;
    for (h, w) in HOUR_WEIGHTS.iter().enumerate() {
        if pick < *w {
            hour = h;
            break;
        }
        pick -= w;
    }
    day as i64 * MICROS_PER_DAY + hour as i64 * 3_600_000_000 + rng.random_range(0..3_600_000_000i64)
}

/// Builds the plan for `config`.
pub fn plan(config: &GenConfig) -> Plan {
    let n = config.firms.max(20);
    let mut rng = rng_for(config.seed, 1, 0);
    let mut p = Plan { firms: n, persons: n + n / 5, transfers_per_firm: config.transfers_per_firm, seed: config.seed, ..Plan::default() };
    let cores = plan_firms(&mut p, &mut rng);
    plan_accounts(&mut p, &mut rng);
    plan_officers(&mut p, &mut rng);
    let holders_done = plan_pyramids(&mut p, &mut rng, cores);
    plan_holdings(&mut p, &mut rng, &holders_done);
    plan_supply(&mut p, &mut rng, cores);
    plan_identifiers(&mut p, &mut rng);
    plan_loans(&mut p, &mut rng, cores);
    plan_guarantees(&mut p, &mut rng, cores);
    plant_fraud_rings(&mut p, &mut rng, cores);
    plant_loan_diversion(&mut p, &mut rng);
    plant_defaults(&mut p, &mut rng);
    // Later additions draw from their own stream so that the patterns above stay as they were.
    plant_typologies(&mut p, &mut rng_for(config.seed, 11, 0));
    p
}

/// A random firm of core `c`'s cluster (firms `cores + c + k·cores`).
fn cluster_member(rng: &mut ChaCha8Rng, n: u32, cores: u32, c: u32) -> u32 {
    let cluster_size = (n - cores) / cores;
    (cores + c + cores * rng.random_range(0..cluster_size.max(1))).min(n - 1)
}

/// Firms: the core enterprises first, then ordinary firms with region, industry, capital and
/// founding day. Returns the number of cores.
fn plan_firms(p: &mut Plan, rng: &mut ChaCha8Rng) -> u32 {
    let n = p.firms;
    let cores = (n / 1000).max(3);
    for i in 0..n {
        let core = i < cores;
        let region =
            if core { (i % 16) as u8 } else { ((i % cores) % 16) as u8 ^ if rng.random_bool(0.1) { rng.random_range(0..16) } else { 0 } };
        p.region.push(region % 16);
        p.industry.push(rng.random_range(0..INDUSTRIES.len() as u8));
        p.capital.push(if core { lognormal(rng, 20.0, 0.8) } else { lognormal(rng, 14.0, 1.2) });
        p.founded.push(if core { rng.random_range(3_000..12_000) } else { rng.random_range(10_000..WINDOW_START_DAY - 30) });
        p.is_core.push(core);
    }
    cores
}

/// Accounts: one or two per firm (three for a core), and for about a third of persons.
fn plan_accounts(p: &mut Plan, rng: &mut ChaCha8Rng) {
    let n = p.firms;
    for i in 0..n {
        p.firm_accounts.push(p.account_owner.len() as u32);
        let count = if p.is_core[i as usize] {
            3
        } else if rng.random_bool(0.5) {
            2
        } else {
            1
        };
        for _ in 0..count {
            p.account_owner.push(Ent::Firm(i));
            let day = p.founded[i as usize].max(WINDOW_START_DAY - 3_000) + rng.random_range(0..30);
            p.account_opened.push(day as i64 * MICROS_PER_DAY);
        }
    }
    p.firm_accounts.push(p.account_owner.len() as u32);
    for j in 0..p.persons {
        if rng.random_bool(0.3) || j >= n {
            p.person_account.push(p.account_owner.len() as u32);
            p.account_owner.push(Ent::Person(j));
            p.account_opened.push((WINDOW_START_DAY - rng.random_range(30..3_000)) as i64 * MICROS_PER_DAY);
        } else {
            p.person_account.push(u32::MAX);
        }
    }
}

/// Officers: the founder (person i) runs firm i, with up to two other officers.
fn plan_officers(p: &mut Plan, rng: &mut ChaCha8Rng) {
    let n = p.firms;
    for i in 0..n {
        let founder = i;
        p.officers.push((founder, i, 0));
        for _ in 0..rng.random_range(0..3) {
            p.officers.push((rng.random_range(0..p.persons), i, rng.random_range(1..4)));
        }
    }
}

/// Ownership pyramids: a controller person owns a holding firm, which owns subsidiaries by
/// majority, down to three levels; some bottom firms hold a slice of the top (cross-holding).
/// Returns which firms have their holders.
fn plan_pyramids(p: &mut Plan, rng: &mut ChaCha8Rng, cores: u32) -> Vec<bool> {
    let n = p.firms;
    let mut holders_done = vec![false; n as usize];
    let groups = (n / 60).max(2);
    let mut next_firm = cores;
    for g in 0..groups {
        let size = rng.random_range(4..10);
        if next_firm + size >= n {
            break;
        }
        let controller = n + (g % (p.persons - n).max(1));
        let top = next_firm;
        next_firm += 1;
        p.shareholdings.push((Ent::Person(controller), top, 0.6 + rng.random::<f64>() * 0.35));
        p.pyramids.push((g, controller, top, 0));
        holders_done[top as usize] = true;
        let mut parents = vec![top];
        let mut level = 1u8;
        let mut placed = 1;
        while placed < size {
            let mut next_level = Vec::new();
            for &parent in &parents {
                for _ in 0..rng.random_range(1..4) {
                    if placed >= size {
                        break;
                    }
                    let child = next_firm;
                    next_firm += 1;
                    placed += 1;
                    let share = 0.51 + rng.random::<f64>() * 0.39;
                    p.shareholdings.push((Ent::Firm(parent), child, share));
                    p.shareholdings.push((Ent::Person(child), child, (1.0 - share) * 0.9));
                    p.pyramids.push((g, controller, child, level));
                    holders_done[child as usize] = true;
                    next_level.push(child);
                }
            }
            if next_level.is_empty() {
                break;
            }
            parents = next_level;
            level += 1;
        }
        if rng.random_bool(0.3) {
            if let Some(&bottom) = parents.last() {
                // The top's other holders: the controller holds < 1, leave room for 5%.
                if let Some(h) = p.shareholdings.iter_mut().find(|h| h.1 == top) {
                    h.2 = h.2.min(0.9);
                }
                p.shareholdings.push((Ent::Firm(bottom), top, 0.05));
            }
        }
    }
    holders_done
}

/// Ordinary ownership of the firms outside pyramids: the founder mostly, a few other holders.
fn plan_holdings(p: &mut Plan, rng: &mut ChaCha8Rng, holders_done: &[bool]) {
    let n = p.firms;
    for i in 0..n {
        if holders_done[i as usize] {
            continue;
        }
        let founder_share = if p.is_core[i as usize] { 0.3 } else { 0.4 + rng.random::<f64>() * 0.6 };
        p.shareholdings.push((Ent::Person(i), i, founder_share));
        let mut rest = 1.0 - founder_share;
        for _ in 0..rng.random_range(0..3) {
            if rest < 0.05 {
                break;
            }
            let share = rest * (0.3 + rng.random::<f64>() * 0.6);
            rest -= share;
            let holder = if rng.random_bool(0.3) { Ent::Firm(rng.random_range(0..n)) } else { Ent::Person(rng.random_range(0..p.persons)) };
            if holder != Ent::Firm(i) {
                p.shareholdings.push((holder, i, share));
            }
        }
    }
}

/// Supply chains around the cores, and links within each core's cluster.
fn plan_supply(p: &mut Plan, rng: &mut ChaCha8Rng, cores: u32) {
    let n = p.firms;
    for i in cores..n {
        let c = (i - cores) % cores;
        if rng.random_bool(0.5) {
            p.supply.push((i, c, lognormal(rng, 15.0, 1.0)));
        }
        if rng.random_bool(0.3) {
            p.supply.push((c, i, lognormal(rng, 14.0, 1.0)));
        }
        for _ in 0..rng.random_range(0..3) {
            let j = cluster_member(rng, n, cores, c);
            if j != i {
                p.supply.push((i, j, lognormal(rng, 12.0, 1.2)));
            }
        }
    }
}

/// Identifiers: own phone, e-mail and address per firm, registration agents shared by many.
fn plan_identifiers(p: &mut Plan, rng: &mut ChaCha8Rng) {
    let n = p.firms;
    let agents = 5u32;
    for i in 0..n {
        p.identifiers.push((Ent::Firm(i), 0, format!("1{:010}", 3_000_000_000u64 + i as u64 * 37)));
        p.identifiers.push((Ent::Firm(i), 1, format!("contact{i}@firm{}.cn", i % 997)));
        let address = if rng.random_bool(0.02) {
            format!("Agent Plaza {} Room 1{:02}", rng.random_range(0..agents), 1)
        } else {
            format!("{} District Road {} No. {}", ids::REGIONS[p.region[i as usize] as usize], i % 500, i)
        };
        p.identifiers.push((Ent::Firm(i), 2, address));
    }
    for j in (0..p.persons).step_by(2) {
        p.identifiers.push((Ent::Person(j), 0, format!("1{:010}", 5_000_000_000u64 + j as u64 * 41)));
    }
}

/// Loans: about 30% of ordinary firms borrow; deposits go to their first account.
fn plan_loans(p: &mut Plan, rng: &mut ChaCha8Rng, cores: u32) {
    let n = p.firms;
    for i in cores..n {
        if rng.random_bool(0.3) {
            let day = WINDOW_START_DAY + rng.random_range(0..WINDOW_DAYS - 120);
            p.loans.push(Loan {
                borrower: i,
                amount: (lognormal(rng, 13.5, 0.8) / 1e4).round() * 1e4,
                disbursed: business_time(rng, day),
                deposit_account: p.firm_accounts[i as usize],
                defaulted: false,
            });
        }
    }
}

/// Guarantees: chains inside clusters, and planted circles of 3-6 firms.
fn plan_guarantees(p: &mut Plan, rng: &mut ChaCha8Rng, cores: u32) {
    let n = p.firms;
    let loan_firms: Vec<u32> = p.loans.iter().map(|l| l.borrower).collect();
    for &b in &loan_firms {
        if rng.random_bool(0.4) {
            let c = (b - cores) % cores;
            let g = cluster_member(rng, n, cores, c);
            if g != b {
                let start = WINDOW_START_DAY - rng.random_range(0..400);
                p.guarantees.push((Ent::Firm(g), Ent::Firm(b), lognormal(rng, 13.0, 0.7), start));
            }
        }
    }
    let circles = (n / 1000).max(2);
    for _ in 0..circles {
        let size = rng.random_range(3..7);
        let members: Vec<u32> = (0..size).map(|_| rng.random_range(cores..n)).collect();
        let mut unique = members.clone();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != members.len() {
            continue;
        }
        for k in 0..members.len() {
            let start = WINDOW_START_DAY - rng.random_range(0..400);
            p.guarantees.push((Ent::Firm(members[k]), Ent::Firm(members[(k + 1) % members.len()]), lognormal(rng, 14.0, 0.5), start));
        }
        p.rings.push(PlantedRing { kind: "guarantee_circle", members: members.iter().map(|&m| Ent::Firm(m)).collect() });
    }
}

/// Shell-firm rings: a nominee legal representative, shared phone, address and device, and
/// round-tripping fund cycles or scatter-gather flows among their accounts.
fn plant_fraud_rings(p: &mut Plan, rng: &mut ChaCha8Rng, cores: u32) {
    let n = p.firms;
    let rings = (n / 2000).max(2);
    for r in 0..rings {
        let size = rng.random_range(5..13);
        // Small datasets have room for fewer rings (no underflow below the first firm).
        let Some(first) = n.checked_sub((r + 1) * 13).filter(|&f| f > cores + 1) else {
            break;
        };
        let members: Vec<u32> = (first..first + size).collect();
        let nominee = n + p.persons.saturating_sub(n + 1).min(r * 7 + 3);
        let phone = format!("1{:010}", 7_000_000_000u64 + r as u64);
        let address = format!("Room {} Unit {} Hidden Lane", 100 + r, r % 7);
        let device = format!("IMEI-86{:013}", r as u64 * 104_729);
        for &m in &members {
            p.officers.push((nominee, m, 0));
            p.identifiers.push((Ent::Firm(m), 0, phone.clone()));
            p.identifiers.push((Ent::Firm(m), 2, address.clone()));
            let account = p.firm_accounts[m as usize];
            p.identifiers.push((Ent::Account(account), 3, device.clone()));
            p.founded[m as usize] = WINDOW_START_DAY - rng.random_range(30..200);
        }
        p.rings.push(PlantedRing { kind: "shared_identifier", members: members.iter().map(|&m| Ent::Firm(m)).collect() });
        let accounts: Vec<u32> = members.iter().map(|&m| p.firm_accounts[m as usize]).collect();
        if r % 2 == 0 {
            // Round-tripping: the same money goes around the ring, hop by hop, within days.
            let len = accounts.len().min(rng.random_range(3..7));
            // Any member may send first: the cycle is rotated to a random start.
            let mut cycle = accounts[..len].to_vec();
            cycle.rotate_left(rng.random_range(0..len));
            for _ in 0..2 {
                let mut amount = lognormal(rng, 15.0, 0.5);
                let mut day = WINDOW_START_DAY + rng.random_range(0..WINDOW_DAYS - 60);
                for k in 0..len {
                    p.planted_transfers.push(Transfer { src: cycle[k], dst: cycle[(k + 1) % len], amount, ts: business_time(rng, day) });
                    amount *= 0.97 + rng.random::<f64>() * 0.02;
                    day += rng.random_range(1..4);
                }
            }
            p.rings.push(PlantedRing { kind: "fund_cycle", members: cycle.iter().map(|&a| Ent::Account(a)).collect() });
        } else {
            // Scatter-gather: one source fans out to mules which forward to one sink.
            let (source, sink) = (accounts[0], accounts[accounts.len() - 1]);
            let mules = &accounts[1..accounts.len() - 1];
            let day = WINDOW_START_DAY + rng.random_range(0..WINDOW_DAYS - 30);
            let piece = lognormal(rng, 13.0, 0.3);
            for &m in mules {
                let amount = piece * (0.95 + rng.random::<f64>() * 0.1);
                // The source pays within two days; each mule passes it on one to six days later.
                let paid = day + rng.random_range(0..2);
                p.planted_transfers.push(Transfer { src: source, dst: m, amount, ts: business_time(rng, paid) });
                let shaved = amount * (0.95 + rng.random::<f64>() * 0.045);
                let onward = paid + rng.random_range(1..6);
                p.planted_transfers.push(Transfer { src: m, dst: sink, amount: shaved, ts: business_time(rng, onward) });
            }
            p.rings.push(PlantedRing { kind: "scatter_gather", members: accounts.iter().map(|&a| Ent::Account(a)).collect() });
        }
    }
}

/// AML flow typologies (the IBM AMLSim / AMLworld families) and dense transfer blocks, with
/// innocent look-alikes: partners that pay each other back and forth every month for years.
fn plant_typologies(p: &mut Plan, rng: &mut ChaCha8Rng) {
    let n = p.firms;
    let cores = p.is_core.iter().filter(|&&c| c).count() as u32;
    let count = (n / 2000).max(3);
    let accounts = p.account_owner.len() as u32;
    let firm_accounts = p.firm_accounts.clone();
    // k distinct first accounts of ordinary firms.
    let distinct = |rng: &mut ChaCha8Rng, k: usize| -> Vec<u32> {
        let mut out: Vec<u32> = Vec::with_capacity(k);
        while out.len() < k {
            let a = firm_accounts[rng.random_range(cores..n) as usize];
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    };
    let day_in_window = |rng: &mut ChaCha8Rng, margin: i32| WINDOW_START_DAY + rng.random_range(0..WINDOW_DAYS - margin);
    for _ in 0..count {
        // Fan-out: one account pays 6-12 others about the same amount within two days.
        let parties = {
            let k = rng.random_range(7..14);
            distinct(rng, k)
        };
        let day = day_in_window(rng, 10);
        let piece = lognormal(rng, 12.5, 0.4);
        for &d in &parties[1..] {
            let ts = {
                let d = day + rng.random_range(0..2);
                business_time(rng, d)
            };
            let amount = piece * (0.95 + rng.random::<f64>() * 0.1);
            p.planted_transfers.push(Transfer { src: parties[0], dst: d, amount, ts });
        }
        p.rings.push(PlantedRing { kind: "fan_out", members: parties.iter().map(|&a| Ent::Account(a)).collect() });

        // Fan-in: 6-12 accounts pay one about the same amount within two days.
        let parties = {
            let k = rng.random_range(7..14);
            distinct(rng, k)
        };
        let day = day_in_window(rng, 10);
        let piece = lognormal(rng, 12.5, 0.4);
        for &s in &parties[1..] {
            let ts = {
                let d = day + rng.random_range(0..2);
                business_time(rng, d)
            };
            let amount = piece * (0.95 + rng.random::<f64>() * 0.1);
            p.planted_transfers.push(Transfer { src: s, dst: parties[0], amount, ts });
        }
        p.rings.push(PlantedRing { kind: "fan_in", members: parties.iter().map(|&a| Ent::Account(a)).collect() });

        // Gather-scatter: 5-8 accounts pay a hub, which pays 5-8 others within days.
        let (ins, outs) = (rng.random_range(5..9), rng.random_range(5..9));
        let parties = distinct(rng, 1 + ins + outs);
        let hub = parties[0];
        let day = day_in_window(rng, 10);
        let piece = lognormal(rng, 12.5, 0.4);
        for &s in &parties[1..=ins] {
            let ts = business_time(rng, day);
            let amount = piece * (0.95 + rng.random::<f64>() * 0.1);
            p.planted_transfers.push(Transfer { src: s, dst: hub, amount, ts });
        }
        for &d in &parties[ins + 1..] {
            let ts = business_time(rng, day + 2);
            let amount = piece * (0.95 + rng.random::<f64>() * 0.1);
            p.planted_transfers.push(Transfer { src: hub, dst: d, amount, ts });
        }
        p.rings.push(PlantedRing { kind: "gather_scatter", members: parties.iter().map(|&a| Ent::Account(a)).collect() });

        // Dense block: 5-8 accounts each pay each of 5-8 others within a month, and camouflage
        // their block with payments to ordinary firms.
        let (left, right) = (rng.random_range(5..9), rng.random_range(5..9));
        let parties = distinct(rng, left + right);
        let day = day_in_window(rng, 40);
        for &s in &parties[..left] {
            for &d in &parties[left..] {
                let ts = {
                    let d = day + rng.random_range(0..30);
                    business_time(rng, d)
                };
                let amount = lognormal(rng, 11.0, 0.8);
                p.planted_transfers.push(Transfer { src: s, dst: d, amount, ts });
            }
            for _ in 0..3 {
                let d = rng.random_range(0..accounts);
                if d != s {
                    let when = day_in_window(rng, 1);
                    let ts = business_time(rng, when);
                    let amount = lognormal(rng, 9.5, 1.5);
                    p.planted_transfers.push(Transfer { src: s, dst: d, amount, ts });
                }
            }
        }
        p.rings.push(PlantedRing { kind: "dense_block", members: parties.iter().map(|&a| Ent::Account(a)).collect() });
    }
    // Innocent look-alikes: long-standing partners settle with each other monthly, similar
    // amounts both ways, a few weeks apart.
    for _ in 0..count * 5 {
        let pair = distinct(rng, 2);
        let base = lognormal(rng, 11.0, 0.5);
        let mut day = WINDOW_START_DAY + rng.random_range(0..30);
        while day < WINDOW_START_DAY + WINDOW_DAYS - 40 {
            let (a, b) = (pair[0], pair[1]);
            let (amount, ts) = (base * (0.9 + rng.random::<f64>() * 0.2), business_time(rng, day));
            p.planted_transfers.push(Transfer { src: a, dst: b, amount, ts });
            let back = day + rng.random_range(12..25);
            let (amount, ts) = (base * (0.9 + rng.random::<f64>() * 0.2), business_time(rng, back));
            p.planted_transfers.push(Transfer { src: b, dst: a, amount, ts });
            day += 30;
        }
    }
}

/// Some loans' funds leave the deposit account within a day and come back to the borrower's
/// founder (the firm's main owner) through one intermediary.
fn plant_loan_diversion(p: &mut Plan, rng: &mut ChaCha8Rng) {
    let count = (p.loans.len() / 200).max(2).min(p.loans.len());
    for k in 0..count {
        let index = (k * 97) % p.loans.len().max(1);
        let loan = p.loans[index];
        let founder_account = p.person_account[loan.borrower as usize];
        let sink = if founder_account != u32::MAX { founder_account } else { continue };
        let middle = p.firm_accounts[((loan.borrower as u64 * 7 + 13) % p.firms as u64) as usize];
        let day = (loan.disbursed / MICROS_PER_DAY) as i32;
        let amount = loan.amount * (0.8 + rng.random::<f64>() * 0.15);
        p.planted_transfers.push(Transfer { src: loan.deposit_account, dst: middle, amount, ts: business_time(rng, day + 1) });
        p.planted_transfers.push(Transfer { src: middle, dst: sink, amount: amount * 0.99, ts: business_time(rng, day + 3) });
        p.rings.push(PlantedRing {
            kind: "loan_diversion",
            members: vec![Ent::Loan(index as u32), Ent::Account(loan.deposit_account), Ent::Account(middle), Ent::Account(sink)],
        });
    }
}

/// Defaults: a base rate, then contagion along guarantees and through shell rings.
fn plant_defaults(p: &mut Plan, rng: &mut ChaCha8Rng) {
    let n = p.firms as usize;
    let mut defaulted: Vec<bool> = (0..n).map(|i| !p.is_core[i] && rng.random_bool(0.015)).collect();
    for ring in p.rings.iter().filter(|r| r.kind == "shared_identifier") {
        for m in &ring.members {
            if let Ent::Firm(f) = m {
                if rng.random_bool(0.3) {
                    defaulted[*f as usize] = true;
                }
            }
        }
    }
    // Guarantors of defaulted borrowers default with some probability, twice around.
    for _ in 0..2 {
        for (g, b, _, _) in &p.guarantees {
            if let (Ent::Firm(g), Ent::Firm(b)) = (g, b) {
                if defaulted[*b as usize] && rng.random_bool(0.35) {
                    defaulted[*g as usize] = true;
                }
            }
        }
    }
    let mut exposure = vec![0.0; n];
    for loan in p.loans.iter_mut() {
        loan.defaulted = defaulted[loan.borrower as usize] && rng.random_bool(0.8);
        exposure[loan.borrower as usize] += loan.amount;
    }
    p.pd = (0..n)
        .map(|i| {
            let base: f64 = if defaulted[i] { 0.25 } else { 0.02 };
            (base * (0.5 + rng.random::<f64>())).min(1.0)
        })
        .collect();
    p.exposure = exposure;
    p.defaulted = defaulted;
}
