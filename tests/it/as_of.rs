//! `--as-of` is leakage-free: scoring at D, then adding events of every dated kind after D and
//! scoring at D again, gives byte-identical features, flags and rings. The dataset is written
//! here as CSV from its own seeded draws, independent of `ekg generate`.

use std::fmt::Write as _;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{ekg, text};

/// Day offsets are from 2024-01-01; D is day 200 (2024-07-19).
const D: i64 = 200;

pub(super) fn date(day: i64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    (base + chrono::Duration::days(day)).format("%Y-%m-%d").to_string()
}

pub(super) fn instant(day: i64, minute: i64) -> String {
    format!("{}T{:02}:{:02}:00Z", date(day), (minute / 60) % 24, minute % 60)
}

/// A dataset's tables as CSV text, by table name.
#[derive(Clone, Default)]
pub(super) struct Tables {
    pub(super) firms: String,
    pub(super) persons: String,
    pub(super) accounts: String,
    pub(super) loans: String,
    pub(super) shareholdings: String,
    pub(super) officers: String,
    pub(super) transfers: String,
    pub(super) guarantees: String,
    pub(super) supply_links: String,
    pub(super) identifiers: String,
}

impl Tables {
    /// Every table rewritten by `f`, table by table in a fixed order.
    pub(super) fn map(&self, mut f: impl FnMut(&str) -> String) -> Tables {
        Tables {
            firms: f(&self.firms),
            persons: f(&self.persons),
            accounts: f(&self.accounts),
            loans: f(&self.loans),
            shareholdings: f(&self.shareholdings),
            officers: f(&self.officers),
            transfers: f(&self.transfers),
            guarantees: f(&self.guarantees),
            supply_links: f(&self.supply_links),
            identifiers: f(&self.identifiers),
        }
    }

    pub(super) fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).expect("dir");
        let tables = [
            ("firms", "firm_id,name,industry,region,registered_capital,founded,defaulted,defaulted_on\n", &self.firms),
            ("persons", "person_id,name\n", &self.persons),
            ("accounts", "account_id,owner_id,opened\n", &self.accounts),
            ("loans", "loan_id,borrower_id,amount,disbursed,deposit_account_id,defaulted,defaulted_on\n", &self.loans),
            ("shareholdings", "holder_id,firm_id,share,valid_from,valid_to\n", &self.shareholdings),
            ("officers", "person_id,firm_id,role,valid_from,valid_to\n", &self.officers),
            ("transfers", "src_id,dst_id,amount,ts\n", &self.transfers),
            ("guarantees", "guarantor_id,borrower_id,amount,start,end\n", &self.guarantees),
            ("supply_links", "supplier_id,customer_id,volume,valid_from,valid_to\n", &self.supply_links),
            ("identifiers", "entity_id,kind,value,valid_from,valid_to\n", &self.identifiers),
        ];
        for (name, header, body) in tables {
            std::fs::write(dir.join(format!("{name}.csv")), format!("{header}{body}")).expect("write");
        }
    }
}

/// Firm `i`'s and account `a`'s ids: not in creation order, so no id order follows time.
pub(super) fn firm(i: u32) -> String {
    format!("F{:05}", (i * 7919) % 10007)
}
pub(super) fn account(a: u32) -> String {
    format!("A{:05}", (a * 4481) % 10009)
}

/// Appends a transfer between accounts `s` and `d`.
fn transfer(t: &mut Tables, s: u32, d: u32, amount: i64, when: &str) {
    let _ = writeln!(t.transfers, "{},{},{amount},{when}", account(s), account(d));
}

/// `count` draws of two different ids below `n`.
fn distinct_pairs(rng: &mut ChaCha8Rng, n: u32, count: u32) -> Vec<(u32, u32)> {
    (0..count).map(|_| (rng.random_range(0..n), rng.random_range(0..n))).filter(|(a, b)| a != b).collect()
}

/// The state at D: firms, persons, accounts, loans and relations dated on or before D.
pub(super) fn base(rng: &mut ChaCha8Rng) -> (Tables, u32, u32) {
    let (firms, persons, accounts) = (90u32, 70u32, 140u32);
    let mut t = Tables::default();
    for i in 0..firms {
        let defaulted = rng.random_bool(0.12);
        // Some defaults are dated before D, a few have no date (defaulted at every as-of).
        let on = if defaulted && rng.random_bool(0.8) { date(rng.random_range(0..D)) } else { String::new() };
        let _ = writeln!(t.firms, "{},Firm {i},ind{},reg{},{},{},{defaulted},{on}", firm(i), i % 5, i % 3, 1e6, date(-3000 + i as i64));
    }
    for j in 0..persons {
        let _ = writeln!(t.persons, "P{j:04},Person {j}");
    }
    for a in 0..accounts {
        let owner = if a < firms { firm(a) } else { format!("P{:04}", a - firms) };
        let _ = writeln!(t.accounts, "{},{owner},{}", account(a), instant(rng.random_range(-400..0), 600));
    }
    for l in 0..30u32 {
        let b = rng.random_range(0..firms);
        let defaulted = rng.random_bool(0.2);
        let on = if defaulted { date(rng.random_range(0..D)) } else { String::new() };
        let _ = writeln!(
            t.loans,
            "L{l:03},{},{},{},{},{defaulted},{on}",
            firm(b),
            100_000 * (1 + l),
            instant(rng.random_range(0..D), 500),
            account(b)
        );
    }
    for (h, f) in distinct_pairs(rng, firms, 120) {
        let _ = writeln!(t.shareholdings, "{},{},0.0{},{},", firm(h), firm(f), rng.random_range(1..9), date(rng.random_range(-900..D)));
    }
    for f in 0..firms {
        let _ = writeln!(t.officers, "P{:04},{},legal_rep,{},", rng.random_range(0..persons), firm(f), date(-800));
    }
    for (s, d) in distinct_pairs(rng, accounts, 2000) {
        let when = instant(rng.random_range(0..=D), rng.random_range(0..1440));
        transfer(&mut t, s, d, rng.random_range(1_000..90_000), &when);
    }
    // A planted round trip started by a middle member, all before D.
    for (k, (s, d)) in [(41u32, 7u32), (7, 63), (63, 41)].into_iter().enumerate() {
        let _ = writeln!(t.transfers, "{},{},{},{}", account(s), account(d), 500_000 - 1_000 * k as i64, instant(150 + k as i64, 600));
    }
    for (g, b) in distinct_pairs(rng, firms, 50) {
        let _ =
            writeln!(t.guarantees, "{},{},{},{},", firm(g), firm(b), rng.random_range(100_000..900_000), date(rng.random_range(-300..D)));
    }
    for (s, c) in distinct_pairs(rng, firms, 100) {
        let _ =
            writeln!(t.supply_links, "{},{},{},{},", firm(s), firm(c), rng.random_range(1_000..50_000), date(rng.random_range(-500..D)));
    }
    for f in 0..firms {
        // Every sixth firm shares a phone with its neighbours in a group of three.
        let phone = if f % 6 < 3 { format!("1390000{:04}", f / 6) } else { format!("1380000{f:04}") };
        let _ = writeln!(t.identifiers, "{},phone,{phone},{},", firm(f), date(-100));
    }
    (t, firms, accounts)
}

/// The same data plus later events of every dated kind.
pub(super) fn with_later_events(base: &Tables, firms: u32, accounts: u32, rng: &mut ChaCha8Rng) -> Tables {
    let mut t = base.clone();
    // Firms founded after D, with accounts opened after D.
    for i in firms..firms + 5 {
        let _ = writeln!(t.firms, "{},Late {i},ind0,reg0,1000000,{},false,", firm(i), date(D + 10 + i as i64 - firms as i64));
    }
    let new_accounts = accounts + 15;
    for a in accounts..new_accounts {
        let owner = if a < accounts + 5 { firm(firms + a - accounts) } else { firm(rng.random_range(0..firms)) };
        let _ = writeln!(t.accounts, "{},{owner},{}", account(a), instant(D + 20, 600));
    }
    // Firms that default after D: their rows change from not defaulted to a later default.
    let mut lines: Vec<String> = t.firms.lines().map(str::to_string).collect();
    for line in lines.iter_mut().take(firms as usize) {
        if line.ends_with(",false,") && rng.random_bool(0.3) {
            let kept = line.trim_end_matches(",false,").to_string();
            *line = format!("{kept},true,{}", date(D + rng.random_range(1..100)));
        }
    }
    t.firms = lines.join("\n") + "\n";
    for l in 30..40u32 {
        let b = rng.random_range(0..firms);
        let _ = writeln!(t.loans, "L{l:03},{},{},{},{},true,{}", firm(b), 50_000 * (1 + l), instant(D + 5, 500), account(b), date(D + 50));
    }
    for (s, d) in distinct_pairs(rng, new_accounts, 400) {
        let when = instant(D + rng.random_range(1..90), 700);
        transfer(&mut t, s, d, rng.random_range(1_000..90_000), &when);
    }
    for (g, b) in distinct_pairs(rng, firms, 30) {
        let _ = writeln!(t.guarantees, "{},{},500000,{},", firm(g), firm(b), date(D + rng.random_range(1..60)));
    }
    for (h, f) in distinct_pairs(rng, firms, 30) {
        let _ = writeln!(t.shareholdings, "{},{},0.01,{},", firm(h), firm(f), date(D + 3));
    }
    for f in 0..20 {
        let _ = writeln!(t.officers, "P{:04},{},director,{},", rng.random_range(0..70), firm(f), date(D + 1));
        let _ = writeln!(t.supply_links, "{},{},9999,{},", firm(f), firm(f + 30), date(D + 2));
        // A phone all of them share only after D: a ring that does not exist yet.
        let _ = writeln!(t.identifiers, "{},phone,13700000000,{},", firm(f), date(D + 4));
    }
    t
}

/// `ekg score DIR --out OUT --as-of AS_OF --reveal-pii`, which must succeed (ids as written, so
/// tests can map them back).
pub(super) fn score_as_of(dir: &Path, out: &Path, as_of: &str) {
    let result =
        ekg(&["score", dir.to_str().unwrap_or_default(), "--out", out.to_str().unwrap_or_default(), "--as-of", as_of, "--reveal-pii"]);
    assert!(result.status.success(), "score: {}", text(&result.stderr));
}

#[test]
fn later_events_of_every_dated_kind_change_nothing_at_d() {
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let (before, firms, accounts) = base(&mut rng);
    let after = with_later_events(&before, firms, accounts, &mut rng);
    let (dir, b, out_b) = scored_alike_at_d(&before, &after, "later events");
    // The later events are there: scored after them, the outputs change.
    let late = dir.path().join("late");
    let result = ekg(&["score", b.to_str().unwrap_or_default(), "--out", late.to_str().unwrap_or_default(), "--as-of", &date(D + 120)]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert_ne!(std::fs::read(out_b.join("features.parquet")).ok(), std::fs::read(late.join("features.parquet")).ok());
}

/// Scores both datasets at D and holds every table equal; returns the folder, `after`'s dataset
/// and its output.
fn scored_alike_at_d(before: &Tables, after: &Tables, added: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    before.write(&a);
    after.write(&b);
    let (out_a, out_b) = (dir.path().join("out_a"), dir.path().join("out_b"));
    score_as_of(&a, &out_a, &date(D));
    score_as_of(&b, &out_b, &date(D));
    for table in ["features", "flags", "rings", "ring_edges", "ring_nodes", "cases", "communities", "groups", "prospects"] {
        let name = format!("{table}.parquet");
        let (x, y) = (std::fs::read(out_a.join(&name)).ok(), std::fs::read(out_b.join(&name)).ok());
        assert!(x.is_some(), "{table} written");
        assert!(x == y, "{table} differs once {added} are added");
    }
    (dir, b, out_b)
}

/// Later transfers alone (the usual night) take the as-of view's shorter way, which keeps ids,
/// attributes and identifiers and rebuilds only the transfers: the outputs are still those
/// scored without them.
#[test]
fn later_transfers_alone_change_nothing_at_d() {
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let (before, _, accounts) = base(&mut rng);
    let mut after = before.clone();
    for (s, d) in distinct_pairs(&mut rng, accounts, 300) {
        let when = instant(D + rng.random_range(1..30), 700);
        transfer(&mut after, s, d, rng.random_range(1_000..90_000), &when);
    }
    scored_alike_at_d(&before, &after, "later transfers");
}
