//! The as-of view: the graph exactly as it stood at one instant, so that no analysis run on it can
//! see a later event.
//!
//! At instant `D` (its calendar day `d`):
//! - a firm exists if it was founded on or before `d` (or its founding date is unknown); an
//!   account if it was opened by `D` and its owner exists; a loan if it was disbursed by `D` and
//!   its borrower exists; persons have no date and always exist;
//! - a transfer holds if it happened by `D`; a guarantee if `start ≤ d ≤ end`; a shareholding,
//!   officer post, supply link or identifier link if `valid_from ≤ d ≤ valid_to` (an unknown
//!   bound is open); and only between entities that exist;
//! - a firm or loan counts as defaulted only if its `defaulted_on` is on or before `d` (a default
//!   without a date counts at every `D`).
//!
//! Entities that did not exist are removed, not merely cut off, so that node counts (PageRank's
//! teleport mass, component sizes, shares of a population) are those of `D`. Surviving nodes keep
//! their relative order, so every list stays sorted by the same key and every tie breaks the same
//! way as in a graph loaded from only the rows of `D`.

use std::ops::Range;

use crate::builder::id_range;
use crate::column::Column;
use crate::csr::{gather, group_by_row, Csr};
use crate::graph::{
    AccountColumns, AttrColumn, FirmColumns, Graph, IdentifierStore, LoanColumns, PersonColumns, RelationStore, BOOL_FALSE, BOOL_TRUE,
    DATE_NULL, TS_NULL, VALIDITY_ATTRS,
};
use crate::kinds::{KindSet, NodeId, NodeKind, Relation};
use crate::strings::{DictBuilder, IdMap, IdMapBuilder, StrPoolBuilder};

use rayon::prelude::*;

use crate::MICROS_PER_DAY;
const GONE: u32 = u32::MAX;

/// What [`Graph::as_of`] left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AsOfReport {
    /// Nodes created after the instant, per kind (firms, persons, accounts, loans).
    pub nodes_removed: [u64; 4],
    /// Edges not yet (or no longer) valid, per relation in [`Relation::ALL`] order.
    pub edges_removed: Vec<u64>,
    /// Identifier links not valid at the instant.
    pub identifier_links_removed: u64,
    /// Firms and loans whose default came after the instant (counted as not defaulted).
    pub later_defaults: u64,
    /// Defaulted firms and loans without a `defaulted_on` date (defaulted at every instant).
    pub undated_defaults: u64,
}

/// Whether the day range `from..=to` (each `DATE_NULL` for an open end) contains `day`.
#[inline]
pub fn valid_on(from: i32, to: i32, day: i32) -> bool {
    (from == DATE_NULL || from <= day) && (to == DATE_NULL || to >= day)
}

impl Graph {
    /// The graph as it stood at `as_of` (µs since the epoch, UTC); see the module doc.
    ///
    /// # Complexity
    /// O(n + m); nothing is copied when every node and edge already holds at `as_of`.
    pub fn as_of(self, as_of: i64) -> Graph {
        self.as_of_with_report(as_of).0
    }

    /// [`Graph::as_of`] with a count of what it left out.
    pub fn as_of_with_report(mut self, as_of: i64) -> (Graph, AsOfReport) {
        let day = as_of.div_euclid(MICROS_PER_DAY).clamp(i32::MIN as i64 + 1, i32::MAX as i64) as i32;
        let mut report = AsOfReport { edges_removed: vec![0; Relation::ALL.len()], ..AsOfReport::default() };
        self.relabel_defaults(day, &mut report);

        let exists = self.existing_nodes(as_of, day);
        let mut new_id = vec![GONE; self.node_count()];
        let mut next = 0u32;
        for (v, slot) in new_id.iter_mut().enumerate() {
            if exists[v] {
                *slot = next;
                next += 1;
            } else {
                report.nodes_removed[self.kind(NodeId(v as u32)) as usize] += 1;
            }
        }
        let all_nodes_exist = report.nodes_removed.iter().all(|&c| c == 0);
        let keep_edges: Vec<Vec<bool>> =
            Relation::ALL.iter().map(|&r| self.valid_edges(r, as_of, day, (!all_nodes_exist).then_some(&new_id[..]))).collect();
        for (k, keep) in keep_edges.iter().enumerate() {
            report.edges_removed[k] = keep.iter().filter(|&&x| !x).count() as u64;
        }
        let link_keep = self.valid_identifier_links(day, &new_id);
        report.identifier_links_removed = link_keep.iter().filter(|&&x| !x).count() as u64;

        let nothing_removed = report.nodes_removed.iter().all(|&c| c == 0)
            && report.edges_removed.iter().all(|&c| c == 0)
            && report.identifier_links_removed == 0;
        if nothing_removed {
            return (self, report);
        }
        let only_edges_removed = report.nodes_removed.iter().all(|&c| c == 0) && report.identifier_links_removed == 0;
        if only_edges_removed {
            // The usual night (later transfers in the input): ids, attributes and identifiers
            // stay as they are, and only the relations that lost edges are rebuilt.
            for (k, &relation) in Relation::ALL.iter().enumerate() {
                if report.edges_removed[k] > 0 {
                    let store = std::mem::take(&mut self.relations[relation as usize]);
                    self.relations[relation as usize] = keep_only(store, &keep_edges[k]);
                }
            }
            return (self, report);
        }
        let graph = self.remapped(&new_id, &keep_edges, &link_keep);
        (graph, report)
    }

    /// Default labels as of `day`: a dated default after it is not (yet) a default.
    fn relabel_defaults(&mut self, day: i32, report: &mut AsOfReport) {
        let relabel = |flags: &[u8], dates: &[i32], report: &mut AsOfReport| -> Option<Vec<u8>> {
            let mut changed = false;
            let out: Vec<u8> = flags
                .iter()
                .enumerate()
                .map(|(i, &f)| {
                    let date = dates.get(i).copied().unwrap_or(DATE_NULL);
                    if f != BOOL_TRUE {
                        f
                    } else if date == DATE_NULL {
                        report.undated_defaults += 1;
                        f
                    } else if date > day {
                        report.later_defaults += 1;
                        changed = true;
                        BOOL_FALSE
                    } else {
                        f
                    }
                })
                .collect();
            changed.then_some(out)
        };
        if let Some(firms) = relabel(&self.firms.defaulted, &self.firms.defaulted_on, report) {
            self.firms.defaulted = firms.into();
        }
        if let Some(loans) = relabel(&self.loans.defaulted, &self.loans.defaulted_on, report) {
            self.loans.defaulted = loans.into();
        }
    }

    /// Which nodes existed at `as_of`.
    fn existing_nodes(&self, as_of: i64, day: i32) -> Vec<bool> {
        let mut exists = vec![true; self.node_count()];
        for (i, &founded) in self.firms.founded.iter().enumerate() {
            exists[i] = founded == DATE_NULL || founded <= day;
        }
        let accounts = self.kind_range(NodeKind::Account);
        let owners = &self.relation(Relation::AccountOwner).reverse;
        for (k, a) in accounts.clone().enumerate() {
            let opened = self.accounts.opened.get(k).copied().unwrap_or(TS_NULL);
            let owner_exists = owners.neighbors(NodeId(a)).iter().all(|o| exists[o.index()]);
            exists[a as usize] = (opened == TS_NULL || opened <= as_of) && owner_exists;
        }
        let loans = self.kind_range(NodeKind::Loan);
        let borrowers = &self.relation(Relation::LoanBorrower).reverse;
        for (k, l) in loans.enumerate() {
            let disbursed = self.loans.disbursed.get(k).copied().unwrap_or(TS_NULL);
            let borrower_exists = borrowers.neighbors(NodeId(l)).iter().all(|b| exists[b.index()]);
            exists[l as usize] = (disbursed == TS_NULL || disbursed <= as_of) && borrower_exists;
        }
        exists
    }

    /// Which edges of `relation` (forward positions) hold at `as_of`; `new_id`, when some node
    /// left the view, also drops the edges of those nodes.
    fn valid_edges(&self, relation: Relation, as_of: i64, day: i32, new_id: Option<&[u32]>) -> Vec<bool> {
        let store = self.relation(relation);
        let i32_attr = |name: &str| store.attr(name).and_then(AttrColumn::as_i32);
        let ts = store.attr("ts").and_then(AttrColumn::as_i64);
        let (from, to) = match relation {
            Relation::Guarantee => (i32_attr("start"), i32_attr("end")),
            _ => (i32_attr(VALIDITY_ATTRS[0]), i32_attr(VALIDITY_ATTRS[1])),
        };
        let holds = |e: usize| {
            let timed = ts.is_none_or(|t| t[e] == TS_NULL || t[e] <= as_of);
            let dated = match (from, to) {
                (Some(f), Some(t)) => valid_on(f[e], t[e], day),
                _ => true,
            };
            timed && dated
        };
        let forward = &store.forward;
        let Some(new_id) = new_id else {
            // Every node exists: an edge holds by its own dates alone, edge by edge in parallel.
            return (0..store.edge_count()).into_par_iter().map(holds).collect();
        };
        let mut keep = vec![false; store.edge_count()];
        for row in 0..forward.rows() {
            let src = forward.row_start() + row as u32;
            if new_id[src as usize] == GONE {
                continue;
            }
            let range = forward.range(NodeId(src));
            for (e, dst) in range.clone().zip(&forward.targets()[range]) {
                keep[e] = holds(e) && new_id[dst.index()] != GONE;
            }
        }
        keep
    }

    /// Which identifier links (in `by_entity` order) hold on `day` between existing entities.
    fn valid_identifier_links(&self, day: i32, new_id: &[u32]) -> Vec<bool> {
        let by_entity = &self.identifiers.by_entity;
        let (from, to) = (&self.identifiers.valid_from, &self.identifiers.valid_to);
        let mut keep = vec![false; by_entity.edge_count()];
        for row in 0..by_entity.rows() {
            let entity = by_entity.row_start() + row as u32;
            if new_id[entity as usize] == GONE {
                continue;
            }
            for e in by_entity.range(NodeId(entity)) {
                keep[e] = valid_on(from.get(e).copied().unwrap_or(DATE_NULL), to.get(e).copied().unwrap_or(DATE_NULL), day);
            }
        }
        keep
    }

    /// The graph of the nodes with `new_id[v] != GONE`, renumbered, with only the kept edges.
    fn remapped(mut self, new_id: &[u32], keep_edges: &[Vec<bool>], link_keep: &[bool]) -> Graph {
        let kept = |v: u32| new_id[v as usize] != GONE;
        let mut kind_starts = [0u32; 5];
        for kind in NodeKind::ALL {
            let range = self.kind_range(kind);
            kind_starts[kind as usize + 1] = kind_starts[kind as usize] + range.filter(|&v| kept(v)).count() as u32;
        }
        let mut ids = IdMapBuilder::with_capacity(kind_starts[4] as usize, self.ids.byte_len());
        for v in (0..self.node_count() as u32).filter(|&v| kept(v)) {
            // Ids were unique in the full graph, so they are unique in any part of it.
            let _ = ids.insert(self.ids.external(NodeId(v)));
        }

        let firm_rows: Vec<u32> = self.kind_range(NodeKind::Firm).filter(|&v| kept(v)).collect();
        let f = &self.firms;
        let dict = |d: &crate::strings::Dict| {
            let mut b = DictBuilder::default();
            for &i in &firm_rows {
                b.push(d.get(i as usize));
            }
            b.finish()
        };
        let mut names = StrPoolBuilder::with_capacity(firm_rows.len(), 0);
        for &i in &firm_rows {
            names.push(f.name.get(i as usize));
        }
        let firms = FirmColumns {
            name: names.finish(),
            industry: dict(&f.industry),
            region: dict(&f.region),
            registered_capital: pick(&f.registered_capital, &firm_rows, 0),
            founded: pick(&f.founded, &firm_rows, 0),
            status: dict(&f.status),
            defaulted: pick(&f.defaulted, &firm_rows, 0),
            defaulted_on: pick(&f.defaulted_on, &firm_rows, 0),
            exposure: pick(&f.exposure, &firm_rows, 0),
            pd: pick(&f.pd, &firm_rows, 0),
            employees: pick(&f.employees, &firm_rows, 0),
            revenue: pick(&f.revenue, &firm_rows, 0),
            total_assets: pick(&f.total_assets, &firm_rows, 0),
        };
        let rows_of = |kind: NodeKind| -> (Vec<u32>, u32) {
            let range = self.kind_range(kind);
            (range.clone().filter(|&v| kept(v)).collect(), range.start)
        };
        let (person_rows, person_start) = rows_of(NodeKind::Person);
        let mut person_names = StrPoolBuilder::with_capacity(person_rows.len(), 0);
        for &v in &person_rows {
            person_names.push(self.persons.name.get((v - person_start) as usize));
        }
        let (account_rows, account_start) = rows_of(NodeKind::Account);
        let (loan_rows, loan_start) = rows_of(NodeKind::Loan);
        let accounts = AccountColumns {
            opened: pick(&self.accounts.opened, &account_rows, account_start),
            blocked: pick(&self.accounts.blocked, &account_rows, account_start),
        };
        let loans = LoanColumns {
            amount: pick(&self.loans.amount, &loan_rows, loan_start),
            disbursed: pick(&self.loans.disbursed, &loan_rows, loan_start),
            defaulted: pick(&self.loans.defaulted, &loan_rows, loan_start),
            defaulted_on: pick(&self.loans.defaulted_on, &loan_rows, loan_start),
        };

        let range_of = |set: KindSet| id_range(&kind_starts, set);
        let relations = Relation::ALL
            .iter()
            .zip(keep_edges)
            .map(|(&r, keep)| {
                let (src_kinds, dst_kinds) = r.endpoint_kinds();
                remap_store(self.relation(r), keep, new_id, range_of(src_kinds).start, range_of(dst_kinds).start)
            })
            .collect();
        let entities = range_of(KindSet::of(&[NodeKind::Firm, NodeKind::Person, NodeKind::Account]));
        let values = std::mem::take(&mut self.identifiers.values);
        let identifiers = remap_identifiers(&self.identifiers, values, link_keep, new_id, entities);
        Graph {
            ids: ids.finish(),
            kind_starts,
            firms,
            persons: PersonColumns { name: person_names.finish() },
            accounts,
            loans,
            relations,
            identifiers,
        }
    }
}

/// `column[v - base]` for each `v` of `rows`.
fn pick<T: bytemuck::Pod + Send + Sync>(column: &[T], rows: &[u32], base: u32) -> Column<T> {
    rows.iter().filter_map(|&v| column.get((v - base) as usize).copied()).collect::<Vec<T>>().into()
}

/// `csr` without the dropped rows and entries, targets renumbered by `target_id`; `entry_kept(i)`
/// says whether entry `i` stays. Rows are renumbered in order, so the new rows start at
/// `new_row_start`.
fn filter_csr(
    csr: &Csr,
    new_id: &[u32],
    target_id: impl Fn(NodeId) -> NodeId,
    new_row_start: u32,
    entry_kept: impl Fn(usize) -> bool,
) -> Csr {
    let mut offsets = vec![0u32];
    let mut targets = Vec::new();
    for row in 0..csr.rows() {
        let v = csr.row_start() + row as u32;
        if new_id[v as usize] == GONE {
            continue;
        }
        let range = csr.range(NodeId(v));
        for (i, t) in range.clone().zip(&csr.targets()[range]) {
            if entry_kept(i) {
                targets.push(target_id(*t));
            }
        }
        offsets.push(targets.len() as u32);
    }
    Csr::from_parts(new_row_start, offsets.into(), targets.into())
}

/// One relation with only the edges `keep[e]`, every node keeping its id (no node left the view):
/// each list filtered in place of renumbering, in parallel, with one random read per reverse
/// entry (its edge's new position, `GONE` when dropped).
fn keep_only(store: RelationStore, keep: &[bool]) -> RelationStore {
    // Each old part is dropped as soon as its filtered copy exists, so the relation is never held
    // twice over (the transfers are most of a graph: holding both raised the 3M-firm job's peak
    // by 0.7 GiB at this stage).
    let RelationStore { forward, reverse, reverse_edge, attrs } = store;
    let mut new_position = vec![GONE; forward.edge_count()];
    let mut next = 0u32;
    for (slot, &kept) in new_position.iter_mut().zip(keep) {
        if kept {
            *slot = next;
            next += 1;
        }
    }
    let filter = |csr: Csr, kept: &(dyn Fn(usize) -> bool + Sync)| -> Csr {
        let offsets = csr.offsets();
        let counts: Vec<u32> = (0..csr.rows())
            .into_par_iter()
            .map(|r| (offsets[r] as usize..offsets[r + 1] as usize).filter(|&i| kept(i)).count() as u32)
            .collect();
        let mut new_offsets = Vec::with_capacity(counts.len() + 1);
        new_offsets.push(0u32);
        for c in counts {
            new_offsets.push(new_offsets[new_offsets.len() - 1] + c);
        }
        let targets = kept_values(csr.targets(), kept);
        Csr::from_parts(csr.row_start(), new_offsets.into(), targets.into())
    };
    let forward = filter(forward, &|e| keep[e]);
    let moved: Vec<u32> = reverse_edge.par_iter().map(|&e| new_position[e as usize]).collect();
    drop(reverse_edge);
    drop(new_position);
    let reverse = filter(reverse, &|i| moved[i] != GONE);
    let reverse_edge = kept_values(&moved, &|i| moved[i] != GONE);
    drop(moved);
    let kept_edges: Vec<u32> = kept_map(keep.len(), &|e| keep[e], |e| e as u32);
    let attrs = attrs.into_iter().map(|(name, column)| (name, gather_column(&column, &kept_edges))).collect();
    RelationStore { forward, reverse, reverse_edge: reverse_edge.into(), attrs }
}

/// `values[i]` for every `i` with `kept(i)`, in order, written straight into a vector of the
/// exact length (a parallel filter's collect gathers its pieces first, holding the result twice).
fn kept_values<T: bytemuck::Pod + Send + Sync>(values: &[T], kept: &(dyn Fn(usize) -> bool + Sync)) -> Vec<T> {
    kept_map(values.len(), kept, |i| values[i])
}

/// `value(i)` for every `i < len` with `kept(i)`, in order, into a vector of the exact length:
/// counted chunk by chunk in parallel, then each chunk fills its own piece.
fn kept_map<T: bytemuck::Pod + Send + Sync>(
    len: usize,
    kept: &(dyn Fn(usize) -> bool + Sync),
    value: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    const CHUNK: usize = 1 << 16;
    let chunk = |c: usize| c * CHUNK..((c + 1) * CHUNK).min(len);
    let counts: Vec<usize> = (0..len.div_ceil(CHUNK)).into_par_iter().map(|c| chunk(c).filter(|&i| kept(i)).count()).collect();
    let mut out: Vec<T> = bytemuck::allocation::zeroed_vec(counts.iter().sum());
    let mut pieces = Vec::with_capacity(counts.len());
    let mut rest = &mut out[..];
    for &count in &counts {
        let (piece, tail) = rest.split_at_mut(count);
        pieces.push(piece);
        rest = tail;
    }
    pieces.into_par_iter().enumerate().for_each(|(c, piece)| {
        for (slot, i) in piece.iter_mut().zip(chunk(c).filter(|&i| kept(i))) {
            *slot = value(i);
        }
    });
    out
}

fn gather_column(column: &AttrColumn, kept_edges: &[u32]) -> AttrColumn {
    match column {
        AttrColumn::F64(c) => AttrColumn::F64(gather(c, kept_edges).into()),
        AttrColumn::I64(c) => AttrColumn::I64(gather(c, kept_edges).into()),
        AttrColumn::I32(c) => AttrColumn::I32(gather(c, kept_edges).into()),
        AttrColumn::U8(c) => AttrColumn::U8(gather(c, kept_edges).into()),
    }
}

fn gather_attrs(store: &RelationStore, kept_edges: &[u32]) -> Vec<(&'static str, AttrColumn)> {
    store.attrs.iter().map(|(name, column)| (*name, gather_column(column, kept_edges))).collect()
}

/// One relation with only the edges `keep[e]` (whose ends exist), ends renumbered by `new_id`.
fn remap_store(store: &RelationStore, keep: &[bool], new_id: &[u32], src_start: u32, dst_start: u32) -> RelationStore {
    let mut new_position = vec![GONE; store.edge_count()];
    let mut next = 0u32;
    for (e, slot) in new_position.iter_mut().enumerate() {
        if keep[e] {
            *slot = next;
            next += 1;
        }
    }
    let node = |t: NodeId| NodeId(new_id[t.index()]);
    let forward = filter_csr(&store.forward, new_id, node, src_start, |e| keep[e]);
    let reverse_kept = |i: usize| keep[store.reverse_edge[i] as usize];
    let reverse = filter_csr(&store.reverse, new_id, node, dst_start, reverse_kept);
    let reverse_edge: Vec<u32> =
        (0..store.reverse_edge.len()).filter(|&i| reverse_kept(i)).map(|i| new_position[store.reverse_edge[i] as usize]).collect();
    let kept_edges: Vec<u32> = (0..store.edge_count() as u32).filter(|&e| keep[e as usize]).collect();
    RelationStore { forward, reverse, reverse_edge: reverse_edge.into(), attrs: gather_attrs(store, &kept_edges) }
}

/// The identifier links `keep[i]` (in `by_entity` order) of existing entities, both directions
/// rebuilt as the builder builds them; values keep their ids.
fn remap_identifiers(store: &IdentifierStore, values: IdMap, keep: &[bool], new_id: &[u32], entities: Range<u32>) -> IdentifierStore {
    // Its targets are identifier values, kept whole with their numbers: only the rows (entities)
    // are renumbered.
    let by_entity = filter_csr(&store.by_entity, new_id, |value| value, entities.start, |i| keep[i]);
    let kept: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
    let valid_from: Vec<i32> = kept.iter().map(|&i| store.valid_from.get(i).copied().unwrap_or(DATE_NULL)).collect();
    let valid_to: Vec<i32> = kept.iter().map(|&i| store.valid_to.get(i).copied().unwrap_or(DATE_NULL)).collect();
    let mut entity_rows = Vec::with_capacity(by_entity.edge_count());
    for row in 0..by_entity.rows() {
        let v = by_entity.row_start() + row as u32;
        entity_rows.extend(std::iter::repeat_n(NodeId(v), by_entity.degree(NodeId(v))));
    }
    let value_rows: Vec<NodeId> = by_entity.targets().to_vec();
    let (offsets, order) = group_by_row(&value_rows, 0, values.len(), |e| entity_rows[e as usize]);
    let by_value = Csr::from_parts(0, offsets.into(), gather(&entity_rows, &order).into());
    IdentifierStore { values, by_entity, by_value, valid_from: valid_from.into(), valid_to: valid_to.into() }
}

#[cfg(test)]
mod tests {
    use crate::builder::{FirmRow, GraphBuilder};
    use crate::{IdentifierKind, NodeId, NodeKind, MICROS_PER_DAY};

    #[test]
    fn kept_values_are_a_sequential_filter_across_chunk_edges() {
        let chunk: usize = 1 << 16;
        for len in [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 5] {
            let values: Vec<u32> = (0..len as u32).map(|i| i.wrapping_mul(2654435761)).collect();
            // Kept by a hash of the position: runs of both, and whole chunks of neither near the end.
            let kept = |i: usize| !(values[i] >> 7).is_multiple_of(3) && i < len.saturating_sub(chunk / 2);
            let expected: Vec<u32> = (0..len).filter(|&i| kept(i)).map(|i| values[i]).collect();
            assert_eq!(super::kept_values(&values, &kept), expected, "len {len}");
            let positions: Vec<u32> = (0..len).filter(|&i| kept(i)).map(|i| i as u32).collect();
            assert_eq!(super::kept_map(len, &kept, |i| i as u32), positions, "positions, len {len}");
        }
    }

    #[test]
    fn a_firm_not_yet_founded_leaves_the_others_their_identifiers() {
        // Firm A, numbered first, is founded after the as-of day and leaves the view: the
        // identifier links of the firms after it must keep their values, not take the values
        // numbered where the firms were (values are not renumbered with the nodes).
        let mut b = GraphBuilder::new();
        for (id, founded) in [("A", 200), ("B", 10), ("C", 10), ("D", 10)] {
            assert!(matches!(b.add_node(NodeKind::Firm, id), Ok(Ok(_))));
            b.push_firm(&FirmRow { founded, ..FirmRow::default() });
        }
        for (firm, phone) in [(0, "zero"), (1, "shared"), (2, "shared"), (3, "own")] {
            b.add_identifier(NodeId(firm), IdentifierKind::Phone, phone);
        }
        let graph = b.finish().expect("graph").as_of(100 * MICROS_PER_DAY);
        assert_eq!(graph.kind_count(NodeKind::Firm), 3);
        let phones = |firm: &str| -> Vec<String> {
            let v = graph.ids.get(firm).expect("a firm of the view");
            graph.identifiers.by_entity.neighbors(v).iter().map(|&value| graph.identifiers.text(value).to_string()).collect()
        };
        assert_eq!(
            (phones("B"), phones("C"), phones("D")),
            (vec!["shared".to_string()], vec!["shared".to_string()], vec!["own".to_string()])
        );
    }
}
