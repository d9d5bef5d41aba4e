//! The graph as the workers hold it: every entity on the worker its id hashes to, every edge on
//! the workers of both its endpoints, with endpoints resolved from external ids to keys
//! (`worker << 32 | local index`).
//!
//! Resolution is a join in two rounds: an edge row travels to the worker of its source, which
//! checks the id (dangling? wrong kind? existing as of the run's instant?), then to the worker of
//! its target, which checks that end and keeps the edge; a copy goes back to the source's worker
//! for the outgoing direction.

use ekg_loaders::{mask_personal, Rule};
use ekg_schema::as_of::valid_on;
use ekg_schema::{NodeKind, Relation, DATE_NULL, MICROS_PER_DAY, TS_NULL};
use serde::{Deserialize, Serialize};
use timely::worker::Worker;
use xxhash_rust::xxh3::xxh3_64;

use crate::exchange::Channel;
use crate::read::{endpoint_columns, table_kind, EdgeRow, EdgeValues, NodeRow, Origin, Share};
use crate::Error;

/// Edge rows a worker sends per round while partitioning.
const ROUND_EDGES: usize = 1 << 20;

/// An entity's place in the cluster: `worker << 32 | local index`.
pub type Key = u64;

pub fn key(worker: usize, local: u32) -> Key {
    (worker as u64) << 32 | u64::from(local)
}

pub fn worker_of(key: Key) -> usize {
    (key >> 32) as usize
}

pub fn local_of(key: Key) -> u32 {
    key as u32
}

/// The worker that holds the entity `id`.
pub fn owner_of(id: &str, peers: usize) -> usize {
    (xxh3_64(id.as_bytes()) % peers as u64) as usize
}

/// An edge at its target's worker.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct InEdge {
    pub src: Key,
    pub src_kind: u8,
    pub dst: u32,
    pub relation: u8,
    pub weight: f64,
    pub ts: i64,
}

/// The same edge at its source's worker.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct OutEdge {
    pub src: u32,
    pub dst: Key,
    pub relation: u8,
    pub weight: f64,
    pub ts: i64,
}

/// One worker's part of the graph as of the run's instant.
pub struct Partition {
    /// This worker's entities, sorted by id: local index = position.
    pub ids: Vec<String>,
    pub kinds: Vec<NodeKind>,
    pub exists: Vec<bool>,
    /// Edges into this worker's entities, and out of them, between entities that exist.
    pub in_edges: Vec<InEdge>,
    pub out_edges: Vec<OutEdge>,
    /// Existing entities in the whole graph.
    pub node_count: u64,
    pub as_of: i64,
}

/// Half-resolved edge: source checked, on its way to the target's worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct HalfEdge {
    dst: String,
    src: Key,
    src_kind: u8,
    src_exists: bool,
    edge: EdgeValues,
}

impl crate::exchange::Wire for HalfEdge {
    fn heap_bytes(&self) -> usize {
        self.dst.len()
    }
}

impl crate::exchange::Wire for OutEdge {}

fn kind_of(k: u8) -> NodeKind {
    NodeKind::ALL[k as usize & 3]
}

fn relation_of(r: u8) -> Relation {
    Relation::ALL[r as usize % Relation::ALL.len()]
}

/// Problems found anywhere stop every worker alike: each worker learns all of them.
pub fn check(worker: &mut Worker, channel: &mut Channel<String>, problems: Vec<String>) -> Result<(), Error> {
    let peers = worker.peers();
    let mut outgoing: Vec<Vec<String>> = (0..peers).map(|_| Vec::new()).collect();
    for p in outgoing.iter_mut() {
        p.extend(problems.iter().take(crate::MAX_REPORTED).cloned());
        p.push(format!("#{}", problems.len()));
    }
    let mut all = Vec::new();
    let mut total = 0u64;
    for from in channel.all_to_all(worker, outgoing) {
        for p in from {
            match p.strip_prefix('#').and_then(|n| n.parse::<u64>().ok()) {
                Some(n) => total += n,
                None => all.push(p),
            }
        }
    }
    if total == 0 {
        return Ok(());
    }
    all.truncate(crate::MAX_REPORTED);
    Err(Error::Rows { total, shown: all })
}

impl Partition {
    /// Partitions `share` (this worker's rows) over the workers, as of `as_of` or, when `None`,
    /// the latest transfer of the whole input.
    pub fn build(worker: &mut Worker, share: Share, as_of: Option<i64>, paths: &[String]) -> Result<Partition, Error> {
        let (me, peers) = (worker.index(), worker.peers());
        let mut texts: Channel<String> = Channel::new(worker);
        let mut numbers: Channel<i64> = Channel::new(worker);
        check(worker, &mut texts, share.problems)?;
        let as_of = match as_of {
            Some(t) => t,
            None => {
                let latest =
                    share.edges.iter().filter(|e| e.edge.relation == Relation::Transfer as u8).map(|e| e.edge.ts).max().unwrap_or(TS_NULL);
                numbers.all_gather(worker, latest).into_iter().max().unwrap_or(TS_NULL)
            }
        };
        if as_of == TS_NULL {
            return Err(Error::Input("no --as-of and no transfers to take the latest instant from".into()));
        }
        let day = as_of.div_euclid(MICROS_PER_DAY).clamp(i32::MIN as i64 + 1, i32::MAX as i64) as i32;

        // Entities to their workers, sorted by id; a repeated id must repeat the same row.
        let mut node_channel: Channel<NodeRow> = Channel::new(worker);
        let mut outgoing: Vec<Vec<NodeRow>> = (0..peers).map(|_| Vec::new()).collect();
        for n in share.nodes {
            outgoing[owner_of(&n.id, peers)].push(n);
        }
        let mut rows: Vec<NodeRow> = node_channel.all_to_all(worker, outgoing).into_iter().flatten().collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id).then(a.origin.table.cmp(&b.origin.table)).then(a.origin.row.cmp(&b.origin.row)));
        let mut problems = Vec::new();
        let mut kept: Vec<NodeRow> = Vec::with_capacity(rows.len());
        for row in rows {
            match kept.last() {
                Some(last) if last.id == row.id => {
                    if last.kind != row.kind || last.day != row.day || last.instant != row.instant {
                        let column = table_kind(row.origin.table).spec().columns[0].name;
                        problems.push(row_problem(
                            paths,
                            row.origin,
                            column,
                            Rule::DuplicateId,
                            format!("'{}' appears twice with different values", mask_personal(&row.id)),
                        ));
                    }
                }
                _ => kept.push(row),
            }
        }
        let kinds: Vec<NodeKind> = kept.iter().map(|r| kind_of(r.kind)).collect();
        let mut exists: Vec<bool> = kept
            .iter()
            .map(|r| match kind_of(r.kind) {
                NodeKind::Firm => r.day == DATE_NULL || r.day <= day,
                NodeKind::Person => true,
                NodeKind::Account | NodeKind::Loan => r.instant == TS_NULL || r.instant <= as_of,
            })
            .collect();
        let ids: Vec<String> = kept.into_iter().map(|r| r.id).collect();
        // Looked up by hash first: a string comparison only on a hash match.
        let mut by_hash: Vec<(u64, u32)> = ids.iter().enumerate().map(|(i, id)| (xxh3_64(id.as_bytes()), i as u32)).collect();
        by_hash.sort_unstable();
        let lookup = |id: &str| {
            let h = xxh3_64(id.as_bytes());
            let start = by_hash.partition_point(|&(x, _)| x < h);
            by_hash[start..].iter().take_while(|&&(x, _)| x == h).map(|&(_, i)| i as usize).find(|&i| ids[i] == id)
        };

        // An account exists only if its owner does, a loan only if its borrower does: resolve
        // those edges first; the rest after, against the final existence.
        let is_parent = |e: &EdgeRow| e.edge.relation == Relation::AccountOwner as u8 || e.edge.relation == Relation::LoanBorrower as u8;
        let (parents, others): (Vec<EdgeRow>, Vec<EdgeRow>) = share.edges.into_iter().partition(is_parent);
        let mut row_channel: Channel<EdgeRow> = Channel::new(worker);
        let mut half_channel: Channel<HalfEdge> = Channel::new(worker);
        let mut in_edges = Vec::new();
        // Edges go in rounds of at most ROUND_EDGES per worker: what is in flight (rows, their
        // messages, half-resolved edges) stays bounded whatever the input's size.
        let batches: Vec<(usize, Vec<EdgeRow>)> = [parents, others]
            .into_iter()
            .enumerate()
            .flat_map(|(pass, mut edges)| {
                let mut pieces = Vec::new();
                while edges.len() > ROUND_EDGES {
                    pieces.push((pass, edges.split_off(edges.len() - ROUND_EDGES)));
                }
                pieces.push((pass, edges));
                pieces
            })
            .collect();
        let rounds_here = [0, 1].map(|pass| batches.iter().filter(|b| b.0 == pass).count() as i64);
        let mut batches = batches.into_iter().peekable();
        for (pass, rounds_here) in rounds_here.into_iter().enumerate() {
            let rounds = numbers.all_gather(worker, rounds_here).into_iter().max().unwrap_or(0);
            for _ in 0..rounds {
                let edges = match batches.peek() {
                    Some((p, _)) if *p == pass => batches.next().map(|b| b.1).unwrap_or_default(),
                    _ => Vec::new(),
                };
                let mut outgoing: Vec<Vec<EdgeRow>> = (0..peers).map(|_| Vec::new()).collect();
                for e in edges {
                    outgoing[owner_of(&e.src, peers)].push(e);
                }
                let mut halves: Vec<Vec<HalfEdge>> = (0..peers).map(|_| Vec::new()).collect();
                for e in row_channel.all_to_all(worker, outgoing).into_iter().flatten() {
                    let relation = relation_of(e.edge.relation);
                    let column = endpoint_columns(relation).0;
                    let Some(local) = endpoint(
                        &ids,
                        &kinds,
                        lookup(&e.src),
                        &e.src,
                        relation.endpoint_kinds().0,
                        Place { paths, origin: e.edge.origin, column },
                        &mut problems,
                    ) else {
                        continue;
                    };
                    let half = HalfEdge {
                        src: key(me, local),
                        src_kind: kinds[local as usize] as u8,
                        src_exists: exists[local as usize],
                        dst: e.dst,
                        edge: e.edge,
                    };
                    halves[owner_of(&half.dst, peers)].push(half);
                }
                let mut arrived: Vec<HalfEdge> = half_channel.all_to_all(worker, halves).into_iter().flatten().collect();
                // File order within a round: the edge lists come out the same on every run.
                arrived.sort_by_key(|h| (h.edge.origin.table, h.edge.origin.row));
                for h in arrived {
                    let relation = relation_of(h.edge.relation);
                    let column = endpoint_columns(relation).1;
                    let Some(local) = endpoint(
                        &ids,
                        &kinds,
                        lookup(&h.dst),
                        &h.dst,
                        relation.endpoint_kinds().1,
                        Place { paths, origin: h.edge.origin, column },
                        &mut problems,
                    ) else {
                        continue;
                    };
                    if pass == 0 {
                        exists[local as usize] &= h.src_exists;
                    }
                    let e = h.edge;
                    let timed = e.ts == TS_NULL || e.ts <= as_of;
                    if timed && valid_on(e.from, e.to, day) && h.src_exists && exists[local as usize] {
                        in_edges.push(InEdge {
                            src: h.src,
                            src_kind: h.src_kind,
                            dst: local,
                            relation: e.relation,
                            weight: e.weight,
                            ts: e.ts,
                        });
                    }
                }
            }
        }
        check(worker, &mut texts, problems)?;

        // The outgoing copies, and edges whose source was an account dropped by its owner.
        let mut out_channel: Channel<OutEdge> = Channel::new(worker);
        let mut outgoing: Vec<Vec<OutEdge>> = (0..peers).map(|_| Vec::new()).collect();
        for e in &in_edges {
            outgoing[worker_of(e.src)].push(OutEdge {
                src: local_of(e.src),
                dst: key(me, e.dst),
                relation: e.relation,
                weight: e.weight,
                ts: e.ts,
            });
        }
        let out_edges: Vec<OutEdge> = out_channel.all_to_all(worker, outgoing).into_iter().flatten().collect();
        let local_count = exists.iter().filter(|&&x| x).count() as i64;
        let node_count = numbers.all_gather(worker, local_count).into_iter().sum::<i64>() as u64;
        Ok(Partition { ids, kinds, exists, in_edges, out_edges, node_count, as_of })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A problem as the loader prints it: file, row, column, message.
fn row_problem(paths: &[String], origin: Origin, column: &'static str, rule: Rule, message: String) -> String {
    let path = paths.get(origin.table as usize).map_or_else(|| table_kind(origin.table).spec().name.to_string(), Clone::clone);
    format!("{path}: row {}: column `{column}`: {message} ({})", origin.row, rule.as_str())
}

/// Where an endpoint was read: for its problems.
struct Place<'a> {
    paths: &'a [String],
    origin: Origin,
    column: &'static str,
}

/// The local index of an edge's endpoint, or a problem when the id is unknown or of a kind the
/// relation does not take.
fn endpoint(
    ids: &[String],
    kinds: &[NodeKind],
    found: Option<usize>,
    id: &str,
    allowed: ekg_schema::KindSet,
    place: Place,
    problems: &mut Vec<String>,
) -> Option<u32> {
    let Place { paths, origin, column } = place;
    let Some(local) = found else {
        problems.push(row_problem(
            paths,
            origin,
            column,
            Rule::DanglingEndpoint,
            format!("'{}' is not an entity of this dataset", mask_personal(id)),
        ));
        return None;
    };
    debug_assert_eq!(ids[local], id);
    let kind = kinds[local];
    if !allowed.contains(kind) {
        problems.push(row_problem(
            paths,
            origin,
            column,
            Rule::WrongEndpointKind,
            format!("'{}' is a {}; expected {}", mask_personal(id), kind.as_str(), allowed.describe()),
        ));
        return None;
    }
    Some(local as u32)
}
