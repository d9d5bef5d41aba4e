//! Building a [`Graph`]: nodes are interned kind by kind, then edges are appended per relation,
//! then `finish` builds every CSR with a parallel counting sort.

use rayon::prelude::*;

use crate::column::Column;
use crate::csr::{gather, group_by_row, Csr};
use crate::error::{Error, Result};
use crate::graph::{
    edge_attr_specs, AccountColumns, AttrColumn, AttrType, FirmColumns, Graph, IdentifierStore, LoanColumns, PersonColumns, RelationStore,
};
use crate::kinds::{IdentifierKind, KindSet, NodeId, NodeKind, Relation};
use crate::strings::{DictBuilder, IdMapBuilder, StrPoolBuilder};

/// Firm attribute columns under construction.
#[derive(Debug, Default)]
pub struct FirmColumnsBuilder {
    pub name: StrPoolBuilder,
    pub industry: DictBuilder,
    pub region: DictBuilder,
    pub registered_capital: Vec<f64>,
    pub founded: Vec<i32>,
    pub status: DictBuilder,
    pub defaulted: Vec<u8>,
    pub exposure: Vec<f64>,
    pub pd: Vec<f64>,
}

/// One row of firm attributes.
#[derive(Clone, Debug, Default)]
pub struct FirmRow<'a> {
    pub name: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub region: Option<&'a str>,
    pub registered_capital: f64,
    pub founded: i32,
    pub status: Option<&'a str>,
    pub defaulted: u8,
    pub exposure: f64,
    pub pd: f64,
}

/// Edge attribute values under construction, one vector per attribute of the relation.
#[derive(Debug)]
pub enum AttrVec {
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    U8(Vec<u8>),
}

impl AttrVec {
    fn new(ty: AttrType) -> Self {
        match ty {
            AttrType::F64 => AttrVec::F64(Vec::new()),
            AttrType::I64 => AttrVec::I64(Vec::new()),
            AttrType::I32 => AttrVec::I32(Vec::new()),
            AttrType::U8 => AttrVec::U8(Vec::new()),
        }
    }

    fn append(&mut self, other: &mut AttrVec) {
        match (self, other) {
            (AttrVec::F64(a), AttrVec::F64(b)) => a.append(b),
            (AttrVec::I64(a), AttrVec::I64(b)) => a.append(b),
            (AttrVec::I32(a), AttrVec::I32(b)) => a.append(b),
            (AttrVec::U8(a), AttrVec::U8(b)) => a.append(b),
            _ => {}
        }
    }

    fn len(&self) -> usize {
        match self {
            AttrVec::F64(v) => v.len(),
            AttrVec::I64(v) => v.len(),
            AttrVec::I32(v) => v.len(),
            AttrVec::U8(v) => v.len(),
        }
    }

    fn gather(&self, order: &[u32]) -> AttrColumn {
        match self {
            AttrVec::F64(v) => AttrColumn::F64(gather(v, order).into()),
            AttrVec::I64(v) => AttrColumn::I64(gather(v, order).into()),
            AttrVec::I32(v) => AttrColumn::I32(gather(v, order).into()),
            AttrVec::U8(v) => AttrColumn::U8(gather(v, order).into()),
        }
    }
}

/// The edges of one relation in input order, with their attributes.
#[derive(Debug)]
pub struct EdgeList {
    pub relation: Relation,
    pub src: Vec<NodeId>,
    pub dst: Vec<NodeId>,
    /// In the order of [`edge_attr_specs`].
    pub attrs: Vec<AttrVec>,
}

impl EdgeList {
    pub fn new(relation: Relation) -> Self {
        let attrs = edge_attr_specs(relation).iter().map(|(_, ty)| AttrVec::new(*ty)).collect();
        EdgeList { relation, src: Vec::new(), dst: Vec::new(), attrs }
    }

    pub fn len(&self) -> usize {
        self.src.len()
    }

    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    pub fn f64_attr_mut(&mut self, index: usize) -> &mut Vec<f64> {
        match &mut self.attrs[index] {
            AttrVec::F64(v) => v,
            _ => panic!("attribute {index} of {} is not f64 (a programming error)", self.relation),
        }
    }

    pub fn i64_attr_mut(&mut self, index: usize) -> &mut Vec<i64> {
        match &mut self.attrs[index] {
            AttrVec::I64(v) => v,
            _ => panic!("attribute {index} of {} is not i64 (a programming error)", self.relation),
        }
    }

    pub fn i32_attr_mut(&mut self, index: usize) -> &mut Vec<i32> {
        match &mut self.attrs[index] {
            AttrVec::I32(v) => v,
            _ => panic!("attribute {index} of {} is not i32 (a programming error)", self.relation),
        }
    }

    pub fn u8_attr_mut(&mut self, index: usize) -> &mut Vec<u8> {
        match &mut self.attrs[index] {
            AttrVec::U8(v) => v,
            _ => panic!("attribute {index} of {} is not u8 (a programming error)", self.relation),
        }
    }

    /// Reserves room for `additional` edges.
    pub fn reserve(&mut self, additional: usize) {
        self.src.reserve(additional);
        self.dst.reserve(additional);
        for attr in &mut self.attrs {
            match attr {
                AttrVec::F64(v) => v.reserve(additional),
                AttrVec::I64(v) => v.reserve(additional),
                AttrVec::I32(v) => v.reserve(additional),
                AttrVec::U8(v) => v.reserve(additional),
            }
        }
    }

    /// Moves `other`'s edges to the end of `self` (batches are appended in input order).
    pub fn append(&mut self, other: &mut EdgeList) {
        self.src.append(&mut other.src);
        self.dst.append(&mut other.dst);
        for (a, b) in self.attrs.iter_mut().zip(other.attrs.iter_mut()) {
            a.append(b);
        }
    }

    fn is_consistent(&self) -> bool {
        self.dst.len() == self.src.len() && self.attrs.iter().all(|a| a.len() == self.src.len())
    }
}

/// Builds a graph. Node kinds must be added in `NodeKind` order (firms, persons, accounts, loans).
#[derive(Debug)]
pub struct GraphBuilder {
    ids: IdMapBuilder,
    kind_starts: [u32; 5],
    current_kind: usize,
    pub firms: FirmColumnsBuilder,
    pub person_names: StrPoolBuilder,
    pub account_opened: Vec<i64>,
    pub account_blocked: Vec<u8>,
    pub loan_amount: Vec<f64>,
    pub loan_disbursed: Vec<i64>,
    pub loan_defaulted: Vec<u8>,
    edges: Vec<EdgeList>,
    identifier_values: IdMapBuilder,
    identifier_links: Vec<(NodeId, NodeId)>,
    /// Reused for identifier keys, so interning allocates nothing per row.
    key_buffer: String,
}

impl Default for GraphBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl GraphBuilder {
    pub fn new() -> Self {
        Self::with_capacity(0, 0)
    }

    /// `nodes` and `id_bytes` size the id map up front (row counts are known from file metadata).
    pub fn with_capacity(nodes: usize, id_bytes: usize) -> Self {
        GraphBuilder {
            ids: IdMapBuilder::with_capacity(nodes, id_bytes),
            kind_starts: [0; 5],
            current_kind: 0,
            firms: FirmColumnsBuilder::default(),
            person_names: StrPoolBuilder::default(),
            account_opened: Vec::new(),
            account_blocked: Vec::new(),
            loan_amount: Vec::new(),
            loan_disbursed: Vec::new(),
            loan_defaulted: Vec::new(),
            edges: Relation::ALL.iter().map(|&r| EdgeList::new(r)).collect(),
            identifier_values: IdMapBuilder::default(),
            identifier_links: Vec::new(),
            key_buffer: String::new(),
        }
    }

    /// Interns a node of `kind`: `Ok(id)` for a new node, `Err(existing)` for an id already used
    /// (by any kind). Kinds must arrive in order; an earlier kind after a later one is an error.
    pub fn add_node(&mut self, kind: NodeKind, external: &str) -> Result<std::result::Result<NodeId, NodeId>> {
        let k = kind as usize;
        if k < self.current_kind {
            return Err(Error::Build(format!("{kind} nodes added after later kinds")));
        }
        while self.current_kind < k {
            self.current_kind += 1;
            self.kind_starts[self.current_kind] = self.ids.len() as u32;
        }
        if self.ids.len() >= u32::MAX as usize - 1 {
            return Err(Error::Build("more than 4,294,967,294 nodes: beyond u32 node ids".into()));
        }
        Ok(self.ids.insert(external))
    }

    /// Makes room for `additional` more nodes in the id map.
    pub fn reserve_nodes(&mut self, additional: usize) {
        self.ids.reserve(additional);
    }

    /// Resolves an external id among the nodes added so far.
    pub fn lookup(&self, external: &str) -> Option<NodeId> {
        self.ids.get(external)
    }

    /// The first id of `kind` (valid once that kind has started).
    pub fn kind_start(&self, kind: NodeKind) -> u32 {
        let k = kind as usize;
        if k <= self.current_kind {
            self.kind_starts[k]
        } else {
            self.ids.len() as u32
        }
    }

    /// The kind of an already-added node.
    pub fn kind_of(&self, node: NodeId) -> NodeKind {
        let mut starts = self.kind_starts;
        // Kinds not started yet have no ids.
        starts[self.current_kind + 1..].fill(u32::MAX);
        match node.0 {
            n if n < starts[1] => NodeKind::Firm,
            n if n < starts[2] => NodeKind::Person,
            n if n < starts[3] => NodeKind::Account,
            _ => NodeKind::Loan,
        }
    }

    pub fn node_count(&self) -> usize {
        self.ids.len()
    }

    /// The external id of an already-added node (for error messages).
    pub fn external_id(&self, node: NodeId) -> &str {
        self.ids.external(node)
    }

    pub fn push_firm(&mut self, row: &FirmRow<'_>) {
        let f = &mut self.firms;
        f.name.push(row.name.unwrap_or(""));
        f.industry.push(row.industry);
        f.region.push(row.region);
        f.registered_capital.push(row.registered_capital);
        f.founded.push(row.founded);
        f.status.push(row.status);
        f.defaulted.push(row.defaulted);
        f.exposure.push(row.exposure);
        f.pd.push(row.pd);
    }

    /// The edge list of a relation, to append to.
    pub fn edges_mut(&mut self, relation: Relation) -> &mut EdgeList {
        &mut self.edges[relation as usize]
    }

    pub fn edges(&self, relation: Relation) -> &EdgeList {
        &self.edges[relation as usize]
    }

    /// Links an entity to a shared identifier value.
    pub fn add_identifier(&mut self, entity: NodeId, kind: IdentifierKind, value: &str) {
        let mut key = std::mem::take(&mut self.key_buffer);
        key.clear();
        key.push(kind as u8 as char);
        key.push_str(value);
        let value_id = match self.identifier_values.insert(&key) {
            Ok(id) | Err(id) => id,
        };
        self.key_buffer = key;
        self.identifier_links.push((entity, value_id));
    }

    /// Makes room for `additional` identifier links (and at most as many new values).
    pub fn reserve_identifiers(&mut self, additional: usize) {
        self.identifier_values.reserve(additional);
        self.identifier_links.reserve(additional);
    }

    /// Freezes the graph: builds each relation's CSRs in parallel.
    pub fn finish(mut self) -> Result<Graph> {
        while self.current_kind < 4 {
            self.current_kind += 1;
            self.kind_starts[self.current_kind] = self.ids.len() as u32;
        }
        let counts = [
            self.kind_starts[1] as usize,
            (self.kind_starts[2] - self.kind_starts[1]) as usize,
            (self.kind_starts[3] - self.kind_starts[2]) as usize,
            (self.kind_starts[4] - self.kind_starts[3]) as usize,
        ];
        let f = self.firms;
        if f.registered_capital.len() != counts[0]
            || self.person_names.len() != counts[1] && !self.person_names.is_empty()
            || self.account_opened.len() != counts[2]
            || self.loan_amount.len() != counts[3]
        {
            return Err(Error::Build("node attribute rows do not match node counts".into()));
        }
        let mut person_names = self.person_names;
        while person_names.len() < counts[1] {
            person_names.push("");
        }
        let mut relations = Vec::with_capacity(self.edges.len());
        for list in self.edges.iter_mut() {
            let list = std::mem::replace(list, EdgeList::new(list.relation));
            let (src_kinds, dst_kinds) = list.relation.endpoint_kinds();
            let rows = (id_range(&self.kind_starts, src_kinds), id_range(&self.kind_starts, dst_kinds));
            let started = std::time::Instant::now();
            let relation = list.relation;
            relations.push(build_relation(list, rows)?);
            tracing::info!(relation = relation.as_str(), ms = started.elapsed().as_millis() as u64, "adjacency built");
        }
        let values = self.identifier_values.finish();
        let links = self.identifier_links;
        let entity_rows: Vec<NodeId> = links.iter().map(|l| l.0).collect();
        let value_rows: Vec<NodeId> = links.iter().map(|l| l.1).collect();
        let entities = id_range(&self.kind_starts, KindSet::of(&[NodeKind::Firm, NodeKind::Person, NodeKind::Account]));
        let (offsets, order) = group_by_row(&entity_rows, entities.start, entities.len(), |e| value_rows[e as usize]);
        let by_entity = Csr::from_parts(entities.start, offsets.into(), gather(&value_rows, &order).into());
        let (offsets, order) = group_by_row(&value_rows, 0, values.len(), |e| entity_rows[e as usize]);
        let by_value = Csr::from_parts(0, offsets.into(), gather(&entity_rows, &order).into());
        // Persons sharing one identifier more than once would add a parallel link; keep it: the
        // input said so twice, and rarity weighting downstream counts distinct entities.
        Ok(Graph {
            ids: self.ids.finish(),
            kind_starts: self.kind_starts,
            firms: FirmColumns {
                name: f.name.finish(),
                industry: f.industry.finish(),
                region: f.region.finish(),
                registered_capital: f.registered_capital.into(),
                founded: f.founded.into(),
                status: f.status.finish(),
                defaulted: f.defaulted.into(),
                exposure: f.exposure.into(),
                pd: f.pd.into(),
            },
            persons: PersonColumns { name: person_names.finish() },
            accounts: AccountColumns { opened: self.account_opened.into(), blocked: self.account_blocked.into() },
            loans: LoanColumns {
                amount: self.loan_amount.into(),
                disbursed: self.loan_disbursed.into(),
                defaulted: self.loan_defaulted.into(),
            },
            relations,
            identifiers: IdentifierStore { values, by_entity, by_value },
        })
    }
}

/// The id range spanning the kinds of `set` (kinds are contiguous, in `NodeKind` order).
fn id_range(kind_starts: &[u32; 5], set: KindSet) -> std::ops::Range<u32> {
    let kinds: Vec<usize> = set.iter().map(|k| k as usize).collect();
    match (kinds.first(), kinds.last()) {
        (Some(&first), Some(&last)) => kind_starts[first]..kind_starts[last + 1],
        _ => 0..0,
    }
}

/// Forward lists are ordered by (time, target) for transfers and by target otherwise; reverse
/// lists likewise by (time, source) or source. Ties keep input order. Rows cover only the id
/// ranges of the kinds allowed at each end.
///
/// Sort-based: one sequential pass makes `(row, time, neighbour, edge)` keys, a parallel sort
/// orders them, and targets come out in one sequential pass; the reverse keys are made from the
/// forward order, so the edge ids they carry are already forward positions. Only the attribute
/// gathers read at random (a counting sort with scatter did some eighteen random passes).
fn build_relation(list: EdgeList, (src_rows, dst_rows): (std::ops::Range<u32>, std::ops::Range<u32>)) -> Result<RelationStore> {
    if !list.is_consistent() {
        return Err(Error::Build(format!("{}: edge columns of unequal length", list.relation)));
    }
    if list.len() >= u32::MAX as usize {
        return Err(Error::Build(format!(
            "{}: {} edges; one relation holds at most 4,294,967,294 (u32 edge ids)",
            list.relation,
            list.len()
        )));
    }
    let t0 = std::time::Instant::now();
    let ts: Option<&[i64]> = match (list.relation, list.attrs.get(1)) {
        (Relation::Transfer, Some(AttrVec::I64(ts))) => Some(ts),
        _ => None,
    };
    let (src, dst) = (&list.src, &list.dst);
    let outside = |ids: &[NodeId], rows: &std::ops::Range<u32>| ids.par_iter().any(|v| !rows.contains(&v.0));
    if outside(src, &src_rows) || outside(dst, &dst_rows) {
        return Err(Error::Build(format!("{}: an endpoint of a kind the relation does not allow", list.relation)));
    }
    let time = |e: usize| ts.map_or(0, |t| t[e]);
    let mut keys: Vec<EdgeKey> =
        (0..list.len()).into_par_iter().map(|e| EdgeKey { row: src[e].0, time: time(e), other: dst[e].0, edge: e as u32 }).collect();
    keys.par_sort_unstable();
    let fwd_offsets = offsets_of_sorted(&keys, src_rows.clone());
    let fwd_order: Vec<u32> = keys.par_iter().map(|k| k.edge).collect();
    let forward_targets: Vec<NodeId> = keys.par_iter().map(|k| NodeId(k.other)).collect();
    let t1 = t0.elapsed();
    // Reverse keys from forward positions: `edge` now holds the forward position.
    keys.par_iter_mut().enumerate().for_each(|(pos, k)| {
        *k = EdgeKey { row: k.other, time: k.time, other: k.row, edge: pos as u32 };
    });
    keys.par_sort_unstable();
    let rev_offsets = offsets_of_sorted(&keys, dst_rows.clone());
    let reverse_targets: Vec<NodeId> = keys.par_iter().map(|k| NodeId(k.other)).collect();
    let reverse_edge: Vec<u32> = keys.par_iter().map(|k| k.edge).collect();
    drop(keys);
    let t2 = t0.elapsed();
    let forward = Csr::from_parts(src_rows.start, fwd_offsets.into(), forward_targets.into());
    let reverse = Csr::from_parts(dst_rows.start, rev_offsets.into(), reverse_targets.into());
    let attrs = edge_attr_specs(list.relation)
        .iter()
        .zip(list.attrs.iter())
        .map(|((name, _), values)| (*name, values.gather(&fwd_order)))
        .collect();
    tracing::debug!(
        relation = list.relation.as_str(),
        forward_ms = t1.as_millis() as u64,
        reverse_ms = (t2 - t1).as_millis() as u64,
        gather_ms = (t0.elapsed() - t2).as_millis() as u64,
        "adjacency phases"
    );
    Ok(RelationStore { forward, reverse, reverse_edge: Column::from(reverse_edge), attrs })
}

/// A sort key of one edge: the CSR row, then time (transfers; 0 otherwise), then the other end,
/// then the edge id, which makes the order total and so deterministic.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct EdgeKey {
    row: u32,
    time: i64,
    other: u32,
    edge: u32,
}

/// CSR offsets of keys sorted by row, over rows `range` (a binary search per row, in parallel).
fn offsets_of_sorted(keys: &[EdgeKey], range: std::ops::Range<u32>) -> Vec<u32> {
    (0..=range.len() as u32).into_par_iter().map(|r| keys.partition_point(|k| k.row < range.start + r) as u32).collect()
}
