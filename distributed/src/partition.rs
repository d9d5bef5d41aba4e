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

use crate::exchange::{per_worker, rounds, Channel};
use crate::read::{self, endpoint_columns, table_kind, EdgeRow, EdgeStream, EdgeValues, NodeRow, Origin};
use crate::Error;

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
    pub src_defaulted: bool,
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
    pub dst_defaulted: bool,
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
    /// Firms defaulted as of the run's instant.
    pub defaulted: Vec<bool>,
    /// Firms' probability of default (NaN where unknown or not a firm).
    pub pd: Vec<f64>,
    /// Edges into this worker's entities, and out of them, between entities that exist.
    pub in_edges: Vec<InEdge>,
    pub out_edges: Vec<OutEdge>,
    pub as_of: i64,
}

/// Half-resolved edge: source checked, on its way to the target's worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct HalfEdge {
    dst: String,
    src: Key,
    src_kind: u8,
    src_exists: bool,
    src_defaulted: bool,
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
    let mut outgoing: Vec<Vec<String>> = per_worker(peers);
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

/// A worker that fails says so to the others, and every worker stops with an error.
pub fn together<T>(worker: &mut Worker, texts: &mut Channel<String>, result: Result<T, Error>) -> Result<T, Error> {
    match result {
        Ok(value) => {
            check(worker, texts, Vec::new())?;
            Ok(value)
        }
        Err(e) => {
            let message = e.to_string();
            let _ = check(worker, texts, vec![message.clone()]);
            Err(Error::Input(message))
        }
    }
}

/// This worker's entities, sorted by id, and a lookup from id to local index.
struct Entities {
    ids: Vec<String>,
    kinds: Vec<NodeKind>,
    exists: Vec<bool>,
    defaulted: Vec<bool>,
    pd: Vec<f64>,
    /// `(xxh3 of the id, local index)`, sorted: a string comparison only on a hash match.
    by_hash: Vec<(u64, u32)>,
}

impl Entities {
    /// Gathers every entity row on its worker; a repeated id must repeat the same row.
    fn gather(
        worker: &mut Worker,
        nodes: Vec<NodeRow>,
        (as_of, day): (i64, i32),
        paths: &[String],
        problems: &mut Vec<String>,
    ) -> Entities {
        let peers = worker.peers();
        let mut node_channel: Channel<NodeRow> = Channel::new(worker);
        let mut outgoing: Vec<Vec<NodeRow>> = per_worker(peers);
        for n in nodes {
            outgoing[owner_of(&n.id, peers)].push(n);
        }
        let mut rows: Vec<NodeRow> = node_channel.all_to_all(worker, outgoing).into_iter().flatten().collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id).then(a.origin.table.cmp(&b.origin.table)).then(a.origin.row.cmp(&b.origin.row)));
        let mut kept: Vec<NodeRow> = Vec::with_capacity(rows.len());
        for row in rows {
            match kept.last() {
                Some(last) if last.id == row.id => {
                    let same = (last.kind, last.day, last.instant, last.defaulted, last.defaulted_on, last.pd.to_bits())
                        == (row.kind, row.day, row.instant, row.defaulted, row.defaulted_on, row.pd.to_bits());
                    if !same {
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
        let exists: Vec<bool> = kept
            .iter()
            .map(|r| match kind_of(r.kind) {
                NodeKind::Firm => r.day == DATE_NULL || r.day <= day,
                NodeKind::Person => true,
                NodeKind::Account | NodeKind::Loan => r.instant == TS_NULL || r.instant <= as_of,
            })
            .collect();
        let defaulted: Vec<bool> = kept.iter().map(|r| r.defaulted && (r.defaulted_on == DATE_NULL || r.defaulted_on <= day)).collect();
        let pd: Vec<f64> = kept.iter().map(|r| r.pd).collect();
        let ids: Vec<String> = kept.into_iter().map(|r| r.id).collect();
        let mut by_hash: Vec<(u64, u32)> = ids.iter().enumerate().map(|(i, id)| (xxh3_64(id.as_bytes()), i as u32)).collect();
        by_hash.sort_unstable();
        Entities { ids, kinds, exists, defaulted, pd, by_hash }
    }

    fn lookup(&self, id: &str) -> Option<usize> {
        let h = xxh3_64(id.as_bytes());
        let start = self.by_hash.partition_point(|&(x, _)| x < h);
        self.by_hash[start..].iter().take_while(|&&(x, _)| x == h).map(|&(_, i)| i as usize).find(|&i| self.ids[i] == id)
    }

    /// The local index of an edge's endpoint, or a problem when the id is unknown or of a kind
    /// the relation does not take.
    fn endpoint(&self, id: &str, allowed: ekg_schema::KindSet, place: Place, problems: &mut Vec<String>) -> Option<u32> {
        let Place { paths, origin, column } = place;
        let Some(local) = self.lookup(id) else {
            problems.push(row_problem(
                paths,
                origin,
                column,
                Rule::DanglingEndpoint,
                format!("'{}' is not an entity of this dataset", mask_personal(id)),
            ));
            return None;
        };
        let kind = self.kinds[local];
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
}

/// Resolves edges in rounds: to the source's worker, which checks that end, then to the target's,
/// which checks the other and keeps the edges that exist as of the run's instant.
struct Resolver<'a> {
    rows: Channel<EdgeRow>,
    halves: Channel<HalfEdge>,
    paths: &'a [String],
    as_of: i64,
    day: i32,
    in_edges: Vec<InEdge>,
    problems: Vec<String>,
}

impl Resolver<'_> {
    /// One round. In the first pass (accounts' owners, loans' borrowers) an entity whose parent
    /// does not exist does not exist either.
    fn round(&mut self, worker: &mut Worker, entities: &mut Entities, edges: Vec<EdgeRow>, parents: bool) {
        let (me, peers) = (worker.index(), worker.peers());
        let mut outgoing: Vec<Vec<EdgeRow>> = per_worker(peers);
        for e in edges {
            outgoing[owner_of(&e.src, peers)].push(e);
        }
        let mut halves: Vec<Vec<HalfEdge>> = per_worker(peers);
        for e in self.rows.all_to_all(worker, outgoing).into_iter().flatten() {
            let relation = relation_of(e.edge.relation);
            let place = Place { paths: self.paths, origin: e.edge.origin, column: endpoint_columns(relation).0 };
            let Some(local) = entities.endpoint(&e.src, relation.endpoint_kinds().0, place, &mut self.problems) else { continue };
            let half = HalfEdge {
                src: key(me, local),
                src_kind: entities.kinds[local as usize] as u8,
                src_exists: entities.exists[local as usize],
                src_defaulted: entities.defaulted[local as usize],
                dst: e.dst,
                edge: e.edge,
            };
            halves[owner_of(&half.dst, peers)].push(half);
        }
        let mut arrived: Vec<HalfEdge> = self.halves.all_to_all(worker, halves).into_iter().flatten().collect();
        // File order within a round: the edge lists come out the same on every run.
        arrived.sort_by_key(|h| (h.edge.origin.table, h.edge.origin.row));
        for h in arrived {
            let relation = relation_of(h.edge.relation);
            let place = Place { paths: self.paths, origin: h.edge.origin, column: endpoint_columns(relation).1 };
            let Some(local) = entities.endpoint(&h.dst, relation.endpoint_kinds().1, place, &mut self.problems) else { continue };
            if parents {
                entities.exists[local as usize] &= h.src_exists;
            }
            let e = h.edge;
            let timed = e.ts == TS_NULL || e.ts <= self.as_of;
            if timed && valid_on(e.from, e.to, self.day) && h.src_exists && entities.exists[local as usize] {
                self.in_edges.push(InEdge {
                    src: h.src,
                    src_kind: h.src_kind,
                    src_defaulted: h.src_defaulted,
                    dst: local,
                    relation: e.relation,
                    weight: e.weight,
                    ts: e.ts,
                });
            }
        }
    }
}

impl Partition {
    /// Reads this worker's share of `job`'s tables and partitions it over the workers, as of the
    /// job's instant or, when it has none, the latest transfer of the whole input.
    pub fn build(worker: &mut Worker, job: &crate::Job, paths: &[String]) -> Result<Partition, Error> {
        let (me, peers) = (worker.index(), worker.peers());
        let (dataset, encoding, round) = (&job.dataset, job.encoding, job.round_rows.max(1));
        let mut texts: Channel<String> = Channel::new(worker);
        let mut numbers: Channel<i64> = Channel::new(worker);
        let nodes = together(worker, &mut texts, read::read_nodes(dataset, encoding, me, peers))?;
        let as_of = match job.as_of {
            Some(t) => t,
            None => {
                let latest = together(worker, &mut texts, read::latest_transfer(dataset, encoding, me, peers))?;
                numbers.all_gather(worker, latest).into_iter().max().unwrap_or(TS_NULL)
            }
        };
        if as_of == TS_NULL {
            return Err(Error::Input("no --as-of and no transfers to take the latest instant from".into()));
        }
        let day = as_of.div_euclid(MICROS_PER_DAY).clamp(i32::MIN as i64 + 1, i32::MAX as i64) as i32;

        let mut read_problems = nodes.problems;
        let mut resolver = Resolver {
            rows: Channel::new(worker),
            halves: Channel::new(worker),
            paths,
            as_of,
            day,
            in_edges: Vec::new(),
            problems: Vec::new(),
        };
        let mut entities = Entities::gather(worker, nodes.nodes, (as_of, day), paths, &mut resolver.problems);

        // An account exists only if its owner does, a loan only if its borrower does: those
        // edges first, then the rest against the final existence. Rounds of at most
        // `round` rows per worker bound what is in flight whatever the input's size.
        let is_parent = |e: &EdgeRow| e.edge.relation == Relation::AccountOwner as u8 || e.edge.relation == Relation::LoanBorrower as u8;
        let (parents, others): (Vec<EdgeRow>, Vec<EdgeRow>) = nodes.edges.into_iter().partition(is_parent);
        let mut parents = EdgeStream::held(parents);
        let mut others = together(worker, &mut texts, EdgeStream::new(dataset, encoding, (me, peers), others, round))?;
        for (pass, stream) in [&mut parents, &mut others].into_iter().enumerate() {
            loop {
                let batch = together(worker, &mut texts, stream.next_batch(round))?;
                if numbers.all_gather(worker, !batch.is_empty() as i64).into_iter().all(|more| more == 0) {
                    break;
                }
                resolver.round(worker, &mut entities, batch, pass == 0);
            }
            read_problems.append(&mut stream.problems);
        }
        // Bad values first, as the loader reports them; then endpoints and duplicates.
        check(worker, &mut texts, read_problems)?;
        check(worker, &mut texts, std::mem::take(&mut resolver.problems))?;
        let in_edges = resolver.in_edges;

        // The outgoing copies, in rounds as well.
        let mut out_channel: Channel<OutEdge> = Channel::new(worker);
        let mut out_edges: Vec<OutEdge> = Vec::new();
        let rounds = rounds(worker, &mut numbers, in_edges.len(), round);
        for r in 0..rounds {
            let mut outgoing: Vec<Vec<OutEdge>> = per_worker(peers);
            for e in in_edges.iter().skip(r * round).take(round) {
                outgoing[worker_of(e.src)].push(OutEdge {
                    src: local_of(e.src),
                    dst: key(me, e.dst),
                    dst_defaulted: entities.defaulted[e.dst as usize],
                    relation: e.relation,
                    weight: e.weight,
                    ts: e.ts,
                });
            }
            out_channel.all_to_all_each(worker, outgoing, |_, items| out_edges.extend(items));
        }
        let Entities { ids, kinds, exists, defaulted, pd, .. } = entities;
        Ok(Partition { ids, kinds, exists, defaulted, pd, in_edges, out_edges, as_of })
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
