//! The distributed stages: each computes, for this worker's entities, the same feature columns
//! as the single-process job (`ekg score`), by rounds of exchange between the workers.

use ekg_algorithms::centrality::pagerank::PageRankConfig;
use ekg_schema::{NodeKind, Relation, MICROS_PER_DAY, TS_NULL};
use timely::worker::Worker;

use crate::exchange::{per_worker, rounds, Channel};
use crate::partition::{key, local_of, worker_of, Key, Partition};

/// One feature column over this worker's entities.
pub struct Column {
    pub name: String,
    pub description: String,
    pub values: Values,
}

pub enum Values {
    F64(Vec<f64>),
    /// [`NOT_APPLICABLE`] where the column does not apply to the entity (written as null).
    U32(Vec<u32>),
}

/// A gathered column as process 0 holds it until it is written: blocks that store only what
/// differs from null or zero, since most columns are one or the other for most entities.
pub struct HeldColumn {
    pub name: String,
    pub description: String,
    pub values: HeldValues,
}

pub enum HeldValues {
    F64(ekg_schema::blocks::BlockColumn<f64>),
    /// [`NOT_APPLICABLE`] is null.
    U32(ekg_schema::blocks::BlockColumn<u32>),
}

/// A count that does not apply to the entity (a person's count on a firm's row).
pub const NOT_APPLICABLE: u32 = u32::MAX;

/// Sums of `f64`s over all workers, the same on every worker (summed in worker order).
fn sum_all(worker: &mut Worker, reals: &mut Channel<f64>, x: f64) -> f64 {
    reals.all_gather(worker, x).into_iter().fold(0.0, |a, b| a + b)
}

/// Each account's owner, where it has one that exists.
pub fn account_owners(part: &Partition) -> Vec<Option<Key>> {
    let mut owner = vec![None; part.len()];
    for e in part.in_edges.iter().filter(|e| e.relation == Relation::AccountOwner as u8) {
        owner[e.dst as usize] = Some(e.src);
    }
    owner
}

/// Adds each account's values to its owner's (the entity-level roll-up of `ekg score`).
fn roll_up(worker: &mut Worker, channel: &mut Channel<(u32, Vec<f64>)>, owner: &[Option<Key>], columns: &mut [Vec<f64>]) {
    let mut outgoing = per_worker(worker.peers());
    for (a, o) in owner.iter().enumerate() {
        if let Some(o) = o {
            outgoing[worker_of(*o)].push((local_of(*o), columns.iter().map(|c| c[a]).collect()));
        }
    }
    for (o, values) in channel.all_to_all(worker, outgoing).into_iter().flatten() {
        for (c, x) in columns.iter_mut().zip(values) {
            if x.is_finite() {
                c[o as usize] += x;
            }
        }
    }
}

/// Degrees per relation and direction; guarantee amounts and supply volumes in and out.
pub fn structure(part: &Partition) -> Vec<Column> {
    let n = part.len();
    let mut columns = Vec::new();
    for relation in [Relation::Shareholding, Relation::Officer, Relation::Transfer, Relation::Guarantee, Relation::Supply] {
        let r = relation as u8;
        let (mut out, mut into) = (vec![0u32; n], vec![0u32; n]);
        part.out_edges.iter().filter(|e| e.relation == r).for_each(|e| out[e.src as usize] += 1);
        part.in_edges.iter().filter(|e| e.relation == r).for_each(|e| into[e.dst as usize] += 1);
        let name = relation.as_str();
        columns.push(Column {
            name: format!("{name}_out"),
            description: format!("Edges of {name} leaving the node (as holder, officer, payer, guarantor, supplier)."),
            values: Values::U32(out),
        });
        columns.push(Column {
            name: format!("{name}_in"),
            description: format!("Edges of {name} entering the node (as held firm, run firm, payee, borrower, customer)."),
            values: Values::U32(into),
        });
    }
    for (relation, out_name, in_name, what) in [
        (Relation::Guarantee, "guarantee_given_amount", "guarantee_received_amount", "guarantee amounts"),
        (Relation::Supply, "supply_sold_volume", "supply_bought_volume", "supply volumes"),
    ] {
        let r = relation as u8;
        let finite = |w: f64| if w.is_finite() { w } else { 0.0 };
        let (mut out, mut into) = (vec![0.0; n], vec![0.0; n]);
        part.out_edges.iter().filter(|e| e.relation == r).for_each(|e| out[e.src as usize] += finite(e.weight));
        part.in_edges.iter().filter(|e| e.relation == r).for_each(|e| into[e.dst as usize] += finite(e.weight));
        columns.push(Column { name: out_name.into(), description: format!("Σ {what} out of the node."), values: Values::F64(out) });
        columns.push(Column { name: in_name.into(), description: format!("Σ {what} into the node."), values: Values::F64(into) });
    }
    columns
}

/// Transfer amounts in total and over the 30, 90 and 365 days up to the instant, entity-level,
/// and the 90-day trend.
pub fn transfer_amounts(worker: &mut Worker, part: &Partition, owner: &[Option<Key>]) -> Vec<Column> {
    let n = part.len();
    let as_of = part.as_of;
    let windows = ekg_schema::contract::TRANSFER_WINDOW_DAYS;
    let mut columns: Vec<Vec<f64>> = (0..8).map(|_| vec![0.0; n]).collect();
    let mut add = |base: usize, v: usize, amount: f64, ts: i64| {
        let a = if amount.is_finite() { amount } else { 0.0 };
        for (k, days) in windows.iter().enumerate() {
            if k == 0 || (ts != TS_NULL && ts > as_of - days * MICROS_PER_DAY && ts <= as_of) {
                columns[base + k][v] += a;
            }
        }
    };
    let transfer = Relation::Transfer as u8;
    part.out_edges.iter().filter(|e| e.relation == transfer).for_each(|e| add(0, e.src as usize, e.weight, e.ts));
    part.in_edges.iter().filter(|e| e.relation == transfer).for_each(|e| add(4, e.dst as usize, e.weight, e.ts));
    let mut channel = Channel::new(worker);
    roll_up(worker, &mut channel, owner, &mut columns);
    let trend: Vec<f64> = (0..n)
        .map(|v| {
            let (q, y) = (columns[2][v] + columns[6][v], columns[3][v] + columns[7][v]);
            if y > 0.0 {
                q * 365.0 / 90.0 / y
            } else {
                f64::NAN
            }
        })
        .collect();
    let names = ekg_schema::contract::TRANSFER_AMOUNT_FEATURES;
    let mut out: Vec<Column> = names
        .iter()
        .zip(columns)
        .map(|((name, d), values)| Column { name: (*name).into(), description: (*d).into(), values: Values::F64(values) })
        .collect();
    out.push(Column {
        name: "transfer_trend_90d".into(),
        description: "Last 90 days' volume (in + out), annualised, over the last 365 days' volume: > 1 growing.".into(),
        values: Values::F64(trend),
    });
    out
}

/// (holder, counterparty) pairs whose repeats are dropped whenever their number has doubled
/// since the last time: memory about twice the distinct pairs, amortised O(n log n).
#[derive(Default)]
struct DistinctPairs {
    pairs: Vec<(u32, Key)>,
    settled: usize,
}

impl DistinctPairs {
    fn push(&mut self, pair: (u32, Key)) {
        self.pairs.push(pair);
        if self.pairs.len() >= 2 * self.settled.max(1 << 16) {
            self.settle();
        }
    }

    fn settle(&mut self) {
        self.pairs.sort_unstable();
        self.pairs.dedup();
        self.settled = self.pairs.len();
    }
}

/// Distinct counterparties of each entity's transfers: an account's own; a firm's or person's
/// its own and its accounts', less itself and its own accounts (as `ekg score` counts them).
pub fn transfer_counterparties(worker: &mut Worker, part: &Partition, owner: &[Option<Key>]) -> Column {
    const NO_OWNER: Key = Key::MAX;
    let (me, n_local, peers) = (worker.index(), part.len(), worker.peers());
    let transfer = Relation::Transfer as u8;
    // Each end of a transfer learns the other end and the other end's owner; in rounds, so
    // what is in flight stays bounded. (holder, counterparty) pairs: an account's kept here, its
    // owner's sent on to the owner; repeats dropped as they pile up.
    let mut pairs = DistinctPairs::default();
    let mut onward: Vec<DistinctPairs> = (0..peers).map(|_| DistinctPairs::default()).collect();
    let mut ends: Channel<(u32, Key, Key)> = Channel::new(worker);
    let mut numbers: Channel<i64> = Channel::new(worker);
    let rounds = rounds(worker, &mut numbers, part.in_edges.len().max(part.out_edges.len()), crate::ROUND_ROWS);
    let round_of = |edges_len: usize, r: usize| (r * crate::ROUND_ROWS).min(edges_len)..((r + 1) * crate::ROUND_ROWS).min(edges_len);
    for r in 0..rounds {
        let mut outgoing: Vec<Vec<(u32, Key, Key)>> = per_worker(peers);
        for e in part.in_edges[round_of(part.in_edges.len(), r)].iter().filter(|e| e.relation == transfer) {
            outgoing[worker_of(e.src)].push((local_of(e.src), key(me, e.dst), owner[e.dst as usize].unwrap_or(NO_OWNER)));
        }
        for e in part.out_edges[round_of(part.out_edges.len(), r)].iter().filter(|e| e.relation == transfer) {
            let (dst, src) = (e.dst, e.src as usize);
            outgoing[worker_of(dst)].push((local_of(dst), key(me, e.src), owner[src].unwrap_or(NO_OWNER)));
        }
        ends.all_to_all_each(worker, outgoing, |_, items| {
            for (x, y, owner_of_y) in items {
                let holder = key(me, x);
                if part.kinds[x as usize] == NodeKind::Account || (y != holder && owner_of_y != holder) {
                    pairs.push((x, y));
                }
                if let Some(o) = owner[x as usize] {
                    if y != o && owner_of_y != o {
                        onward[worker_of(o)].push((local_of(o), y));
                    }
                }
            }
        });
    }
    let mut owners: Channel<(u32, Key)> = Channel::new(worker);
    let onward: Vec<Vec<(u32, Key)>> = onward
        .into_iter()
        .map(|mut d| {
            d.settle();
            d.pairs
        })
        .collect();
    owners.all_to_all_each(worker, onward, |_, items| items.into_iter().for_each(|p| pairs.push(p)));
    pairs.settle();
    let mut count = vec![0u32; n_local];
    for (x, _) in pairs.pairs {
        count[x as usize] += 1;
    }
    Column {
        name: "transfer_counterparties".into(),
        description: "Distinct entities paid or paid by (own and owned accounts).".into(),
        values: Values::U32(count),
    }
}

/// Persons: firms held and run, how many of them defaulted, and the mean pd of the firms held
/// (parallel holdings counted each time, as `ekg score` counts them).
pub fn person_features(worker: &mut Worker, part: &Partition) -> Vec<Column> {
    let (n_local, peers) = (part.len(), worker.peers());
    let is_person = |v: usize| part.kinds[v] == NodeKind::Person;
    let counts = |relation: Relation, defaulted_only: bool| -> Vec<u32> {
        let mut c: Vec<u32> = (0..n_local).map(|v| if is_person(v) { 0 } else { NOT_APPLICABLE }).collect();
        for e in part.out_edges.iter().filter(|e| e.relation == relation as u8 && is_person(e.src as usize)) {
            c[e.src as usize] += u32::from(!defaulted_only || e.dst_defaulted);
        }
        c
    };
    // Each holding's firm sends its pd to the holder.
    let mut outgoing: Vec<Vec<(u32, f64)>> = per_worker(peers);
    for e in part.in_edges.iter().filter(|e| e.relation == Relation::Shareholding as u8 && e.src_kind == NodeKind::Person as u8) {
        let pd = part.pd[e.dst as usize];
        if pd.is_finite() {
            outgoing[worker_of(e.src)].push((local_of(e.src), pd));
        }
    }
    let (mut sum, mut held) = (vec![0.0; n_local], vec![0u32; n_local]);
    let mut pds: Channel<(u32, f64)> = Channel::new(worker);
    pds.all_to_all_each(worker, outgoing, |_, items| {
        for (v, pd) in items {
            sum[v as usize] += pd;
            held[v as usize] += 1;
        }
    });
    let mean_pd: Vec<f64> = (0..n_local).map(|v| if held[v] > 0 { sum[v] / f64::from(held[v]) } else { f64::NAN }).collect();
    let column = |name: &str, description: &str, values: Values| Column { name: name.into(), description: description.into(), values };
    vec![
        column("firms_owned", "Persons: firms they hold shares in.", Values::U32(counts(Relation::Shareholding, false))),
        column("firms_run", "Persons: firms they are an officer of.", Values::U32(counts(Relation::Officer, false))),
        column("owned_firms_defaulted", "Persons: firms they hold that defaulted.", Values::U32(counts(Relation::Shareholding, true))),
        column("run_firms_defaulted", "Persons: firms they run that defaulted.", Values::U32(counts(Relation::Officer, true))),
        column("owned_firms_mean_pd", "Persons: mean pd of the firms they hold (the owner's risk).", Values::F64(mean_pd)),
    ]
}

/// PageRank of the money flow: transfers weighted by amount (1 where absent), every existing
/// entity a node, an owner's score including its accounts'.
pub fn pagerank(worker: &mut Worker, part: &Partition, config: &PageRankConfig, owner: &[Option<Key>]) -> Column {
    let weight = |w: f64| if w.is_finite() && w > 0.0 { w } else { 1.0 };
    let mut arcs = Arcs::new(part.len(), worker.peers());
    for e in part.out_edges.iter().filter(|e| e.relation == Relation::Transfer as u8) {
        arcs.add(e.src, e.dst, weight(e.weight));
    }
    let mut columns = vec![page_rank(worker, &part.exists, arcs, config, None)];
    let mut channel = Channel::new(worker);
    roll_up(worker, &mut channel, owner, &mut columns);
    Column {
        name: "pagerank".into(),
        description: "PageRank of the money-flow graph (transfers weighted by amount), an owner's including its accounts'.".into(),
        values: Values::F64(columns.pop().unwrap_or_default()),
    }
}

/// The arcs a PageRank runs over, from this worker's sources: per target worker (target, source,
/// weight), and each source's out-weight.
struct Arcs {
    by_worker: Vec<Vec<(u32, u32, f64)>>,
    out_weight: Vec<f64>,
}

impl Arcs {
    fn new(n_local: usize, peers: usize) -> Arcs {
        Arcs { by_worker: per_worker(peers), out_weight: vec![0.0; n_local] }
    }

    fn add(&mut self, source: u32, target: Key, weight: f64) {
        self.out_weight[source as usize] += weight;
        self.by_worker[worker_of(target)].push((local_of(target), source, weight));
    }
}

/// PageRank over `arcs` among the entities marked in `members` (on every worker): the
/// single-process iteration and stopping rule, in f64. `teleport`, when given, is where the
/// teleported and dangling mass goes (personalised PageRank); else it is spread uniformly.
fn page_rank(worker: &mut Worker, members: &[bool], arcs: Arcs, config: &PageRankConfig, teleport: Option<&[f64]>) -> Vec<f64> {
    let n_local = members.len();
    let (mut sums, mut reals): (Channel<(u32, f64)>, Channel<f64>) = (Channel::new(worker), Channel::new(worker));
    let n = sum_all(worker, &mut reals, members.iter().filter(|&&m| m).count() as f64).max(1.0);
    let Arcs { mut by_worker, out_weight } = arcs;
    // Grouped by target, so one sum per target goes out.
    for a in by_worker.iter_mut() {
        a.sort_by_key(|&(t, s, _)| (t, s));
    }
    let d = config.damping;
    let uniform = 1.0 / n;
    let stop_below = config.tolerance * n;
    let mut rank: Vec<f64> = members.iter().map(|&x| if x { uniform } else { 0.0 }).collect();
    let mut contrib = vec![0.0; n_local];
    for _ in 0..config.max_iterations {
        for v in 0..n_local {
            contrib[v] = if out_weight[v] > 0.0 { rank[v] / out_weight[v] } else { 0.0 };
        }
        let dangling_here = (0..n_local).filter(|&v| members[v] && out_weight[v] == 0.0).fold(0.0, |a, v| a + rank[v]);
        let dangling = sum_all(worker, &mut reals, dangling_here);
        let spread = (1.0 - d) + d * dangling;
        let outgoing: Vec<Vec<(u32, f64)>> = by_worker
            .iter()
            .map(|list| {
                let mut combined: Vec<(u32, f64)> = Vec::new();
                for &(t, s, w) in list {
                    let x = contrib[s as usize] * w;
                    match combined.last_mut() {
                        Some((last, sum)) if *last == t => *sum += x,
                        _ => combined.push((t, x)),
                    }
                }
                combined
            })
            .collect();
        let mut next = vec![0.0; n_local];
        sums.all_to_all_each(worker, outgoing, |_, items| items.into_iter().for_each(|(t, x)| next[t as usize] += x));
        let mut delta_here = 0.0;
        for v in 0..n_local {
            if members[v] {
                next[v] = d * next[v] + spread * teleport.map_or(uniform, |t| t[v]);
                delta_here += (next[v] - rank[v]).abs();
            }
        }
        rank = next;
        let delta = sum_all(worker, &mut reals, delta_here);
        if config.tolerance > 0.0 && delta < stop_below {
            break;
        }
    }
    rank
}

/// The risk network's features: the undirected view of holdings, officer posts, guarantees and
/// supply links among firms and persons (parallel edges kept, as the single-process projection
/// keeps them). Defaulted shares at 1 hop (neighbours that defaulted) and 2 hops (the mean of the
/// neighbours' 1-hop shares), and PageRank personalised to the defaulted firms.
pub fn risk(worker: &mut Worker, part: &Partition, config: &PageRankConfig) -> Vec<Column> {
    let (n_local, peers) = (part.len(), worker.peers());
    let is_risk = |r: u8| ekg_algorithms::RISK_RELATIONS.iter().any(|&x| x as u8 == r);
    let members: Vec<bool> = (0..n_local).map(|v| part.exists[v] && matches!(part.kinds[v], NodeKind::Firm | NodeKind::Person)).collect();
    let (mut degree, mut bad) = (vec![0u32; n_local], vec![0u32; n_local]);
    let mut arcs = Arcs::new(n_local, peers);
    for e in part.in_edges.iter().filter(|e| is_risk(e.relation)) {
        degree[e.dst as usize] += 1;
        bad[e.dst as usize] += u32::from(e.src_defaulted);
        arcs.add(e.dst, e.src, 1.0);
    }
    for e in part.out_edges.iter().filter(|e| is_risk(e.relation)) {
        degree[e.src as usize] += 1;
        bad[e.src as usize] += u32::from(e.dst_defaulted);
        arcs.add(e.src, e.dst, 1.0);
    }
    let one: Vec<f64> = (0..n_local).map(|v| if degree[v] > 0 { f64::from(bad[v]) / f64::from(degree[v]) } else { f64::NAN }).collect();
    // Each end of an edge sends its 1-hop share to the other.
    let mut outgoing: Vec<Vec<(u32, f64)>> = per_worker(peers);
    for e in part.in_edges.iter().filter(|e| is_risk(e.relation)) {
        outgoing[worker_of(e.src)].push((local_of(e.src), one[e.dst as usize]));
    }
    for e in part.out_edges.iter().filter(|e| is_risk(e.relation)) {
        outgoing[worker_of(e.dst)].push((local_of(e.dst), one[e.src as usize]));
    }
    let (mut sum, mut count) = (vec![0.0; n_local], vec![0u32; n_local]);
    let mut shares: Channel<(u32, f64)> = Channel::new(worker);
    shares.all_to_all_each(worker, outgoing, |_, items| {
        for (v, x) in items.into_iter().filter(|(_, x)| x.is_finite()) {
            sum[v as usize] += x;
            count[v as usize] += 1;
        }
    });
    let two: Vec<f64> = (0..n_local).map(|v| if count[v] > 0 { sum[v] / f64::from(count[v]) } else { f64::NAN }).collect();

    let seeds: Vec<bool> = (0..n_local).map(|v| members[v] && part.defaulted[v]).collect();
    let mut counter: Channel<f64> = Channel::new(worker);
    let seed_count = sum_all(worker, &mut counter, seeds.iter().filter(|&&s| s).count() as f64);
    let ppr = if seed_count > 0.0 {
        let teleport: Vec<f64> = seeds.iter().map(|&s| if s { 1.0 / seed_count } else { 0.0 }).collect();
        let rank = page_rank(worker, &members, arcs, config, Some(&teleport));
        (0..n_local).map(|v| if members[v] { rank[v] } else { f64::NAN }).collect()
    } else {
        vec![f64::NAN; n_local]
    };
    let column = |name: &str, description: &str, values: Vec<f64>| Column {
        name: name.into(),
        description: description.into(),
        values: Values::F64(values),
    };
    vec![
        column("defaulted_share_1hop", "Share of the node's risk-network neighbours that defaulted.", one),
        column("defaulted_share_2hop", "Mean of the neighbours' defaulted shares: defaulted firms two hops away, path-weighted.", two),
        column("ppr", "Risk rank: PageRank personalised to the defaulted firms over holdings, officers, guarantees and supply links.", ppr),
    ]
}

/// Size of each entity's weakly connected component over all relations: the smallest key
/// spreads along the edges until no label changes, then each label's worker counts its members.
pub fn component_size(worker: &mut Worker, part: &Partition) -> Column {
    let (me, n_local, peers) = (worker.index(), part.len(), worker.peers());
    // Per entity, its neighbours' keys (both directions, every relation).
    let mut degree = vec![0usize; n_local + 1];
    part.in_edges.iter().for_each(|e| degree[e.dst as usize + 1] += 1);
    part.out_edges.iter().for_each(|e| degree[e.src as usize + 1] += 1);
    for v in 0..n_local {
        degree[v + 1] += degree[v];
    }
    let offsets = degree;
    let mut fill = offsets.clone();
    let mut neighbours = vec![0 as Key; offsets[n_local]];
    for (v, u) in part.in_edges.iter().map(|e| (e.dst, e.src)).chain(part.out_edges.iter().map(|e| (e.src, e.dst))) {
        neighbours[fill[v as usize]] = u;
        fill[v as usize] += 1;
    }
    // Min-label propagation: each round takes labels to a fixpoint within the worker, then sends
    // the labels that changed across workers. A component's label ends as its smallest key
    // whatever the order, so the result does not depend on the partitioning.
    let mut label: Vec<Key> = (0..n_local as u32).map(|v| key(me, v)).collect();
    let mut changed: Vec<bool> = part.exists.clone();
    // Popped smallest key first: it floods its part of the component at once, and what follows
    // finds its neighbours already labelled (linear work within the worker).
    let mut queue: Vec<u32> = (0..n_local as u32).rev().filter(|&v| part.exists[v as usize]).collect();
    let (mut labels, mut counts): (Channel<(u32, Key)>, Channel<i64>) = (Channel::new(worker), Channel::new(worker));
    loop {
        while let Some(v) = queue.pop() {
            let l = label[v as usize];
            for &u in &neighbours[offsets[v as usize]..offsets[v as usize + 1]] {
                let local = local_of(u) as usize;
                if worker_of(u) == me && l < label[local] {
                    label[local] = l;
                    changed[local] = true;
                    queue.push(local as u32);
                }
            }
        }
        let mut outgoing: Vec<Vec<(u32, Key)>> = per_worker(peers);
        for v in 0..n_local {
            if !std::mem::take(&mut changed[v]) {
                continue;
            }
            for &u in neighbours[offsets[v]..offsets[v + 1]].iter().filter(|&&u| worker_of(u) != me) {
                outgoing[worker_of(u)].push((local_of(u), label[v]));
            }
        }
        let mut lowered = 0i64;
        labels.all_to_all_each(worker, outgoing, |_, items| {
            for (v, l) in items {
                if l < label[v as usize] {
                    label[v as usize] = l;
                    lowered += i64::from(!changed[v as usize]);
                    changed[v as usize] = true;
                    queue.push(v);
                }
            }
        });
        if counts.all_gather(worker, lowered).into_iter().sum::<i64>() == 0 {
            break;
        }
    }
    // Members per label at the label's worker, then each member asks for its label's count.
    let mut outgoing: Vec<Vec<(u32, Key)>> = per_worker(peers);
    for v in (0..n_local).filter(|&v| part.exists[v]) {
        outgoing[worker_of(label[v])].push((local_of(label[v]), key(me, v as u32)));
    }
    let mut members = vec![0u32; n_local];
    let asked: Vec<(u32, Key)> = labels.all_to_all(worker, outgoing).into_iter().flatten().collect();
    asked.iter().for_each(|&(l, _)| members[l as usize] += 1);
    let mut replies: Vec<Vec<(u32, Key)>> = per_worker(peers);
    for &(l, member) in &asked {
        replies[worker_of(member)].push((local_of(member), Key::from(members[l as usize])));
    }
    let mut size = vec![0u32; n_local];
    for (v, s) in labels.all_to_all(worker, replies).into_iter().flatten() {
        size[v as usize] = s as u32;
    }
    Column {
        name: "component_size".into(),
        description: "Nodes in the node's weakly connected component over all relations.".into(),
        values: Values::U32(size),
    }
}
