//! The distributed stages: each computes, for this worker's entities, the same feature columns
//! as the single-process job (`ekg score`), by rounds of exchange between the workers.

use ekg_algorithms::centrality::pagerank::PageRankConfig;
use ekg_schema::{Relation, MICROS_PER_DAY, TS_NULL};
use timely::worker::Worker;

use crate::exchange::Channel;
use crate::partition::{key, local_of, worker_of, Key, Partition};

/// One feature column over this worker's entities.
pub struct Column {
    pub name: String,
    pub description: String,
    pub values: Values,
}

pub enum Values {
    F64(Vec<f64>),
    U32(Vec<u32>),
}

fn lists<T>(peers: usize) -> Vec<Vec<T>> {
    (0..peers).map(|_| Vec::new()).collect()
}

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
    let mut outgoing = lists(worker.peers());
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

/// PageRank of the money-flow graph (transfers weighted by amount) over every entity, by the
/// iteration of `ekg_algorithms::centrality::pagerank` in f64: the same stopping rule on the same
/// global sums, so the same iteration count; an owner's score includes its accounts'.
pub fn pagerank(worker: &mut Worker, part: &Partition, config: &PageRankConfig, owner: &[Option<Key>]) -> Column {
    let (n_local, peers) = (part.len(), worker.peers());
    let n = part.node_count.max(1) as f64;
    let transfer = Relation::Transfer as u8;
    let weight = |w: f64| if w.is_finite() && w > 0.0 { w } else { 1.0 };
    let mut out_weight = vec![0.0; n_local];
    // Per target worker: (target, source, weight), grouped by target so one sum per target goes out.
    let mut arcs: Vec<Vec<(u32, u32, f64)>> = lists(peers);
    for e in part.out_edges.iter().filter(|e| e.relation == transfer) {
        out_weight[e.src as usize] += weight(e.weight);
        arcs[worker_of(e.dst)].push((local_of(e.dst), e.src, weight(e.weight)));
    }
    for a in arcs.iter_mut() {
        a.sort_by_key(|&(t, s, _)| (t, s));
    }
    let (mut sums, mut reals): (Channel<(u32, f64)>, Channel<f64>) = (Channel::new(worker), Channel::new(worker));
    let d = config.damping;
    let uniform = 1.0 / n;
    let stop_below = config.tolerance * n;
    let mut rank: Vec<f64> = part.exists.iter().map(|&x| if x { uniform } else { 0.0 }).collect();
    let mut contrib = vec![0.0; n_local];
    for _ in 0..config.max_iterations {
        for v in 0..n_local {
            contrib[v] = if out_weight[v] > 0.0 { rank[v] / out_weight[v] } else { 0.0 };
        }
        let dangling_here = (0..n_local).filter(|&v| part.exists[v] && out_weight[v] == 0.0).fold(0.0, |a, v| a + rank[v]);
        let dangling = sum_all(worker, &mut reals, dangling_here);
        let spread = (1.0 - d) + d * dangling;
        let outgoing: Vec<Vec<(u32, f64)>> = arcs
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
        for (t, x) in sums.all_to_all(worker, outgoing).into_iter().flatten() {
            next[t as usize] += x;
        }
        let mut delta_here = 0.0;
        for v in 0..n_local {
            if part.exists[v] {
                next[v] = d * next[v] + spread * uniform;
                delta_here += (next[v] - rank[v]).abs();
            }
        }
        rank = next;
        let delta = sum_all(worker, &mut reals, delta_here);
        if config.tolerance > 0.0 && delta < stop_below {
            break;
        }
    }
    let mut columns = vec![rank];
    let mut channel = Channel::new(worker);
    roll_up(worker, &mut channel, owner, &mut columns);
    Column {
        name: "pagerank".into(),
        description: "PageRank of the money-flow graph (transfers weighted by amount), an owner's including its accounts'.".into(),
        values: Values::F64(columns.pop().unwrap_or_default()),
    }
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
        let mut outgoing: Vec<Vec<(u32, Key)>> = lists(peers);
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
    let mut outgoing: Vec<Vec<(u32, Key)>> = lists(peers);
    for v in (0..n_local).filter(|&v| part.exists[v]) {
        outgoing[worker_of(label[v])].push((local_of(label[v]), key(me, v as u32)));
    }
    let mut members = vec![0u32; n_local];
    let asked: Vec<(u32, Key)> = labels.all_to_all(worker, outgoing).into_iter().flatten().collect();
    asked.iter().for_each(|&(l, _)| members[l as usize] += 1);
    let mut replies: Vec<Vec<(u32, Key)>> = lists(peers);
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
