//! Building a [`Graph`]: nodes are interned kind by kind, then edges are appended per relation,
//! then `finish` builds every CSR with a parallel counting sort.

use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use crate::column::Column;
use crate::csr::{gather, group_by_row, Csr};
use crate::error::{Error, Result};
use crate::graph::{
    edge_attr_specs, AccountColumns, AttrColumn, AttrType, FirmColumns, Graph, IdentifierStore, LoanColumns, PersonColumns, RelationStore,
    DATE_NULL, VALIDITY_ATTRS,
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
    pub defaulted_on: Vec<i32>,
    pub exposure: Vec<f64>,
    pub pd: Vec<f64>,
    pub employees: Vec<f64>,
    pub revenue: Vec<f64>,
    pub total_assets: Vec<f64>,
}

/// One row of firm attributes.
#[derive(Clone, Debug)]
pub struct FirmRow<'a> {
    pub name: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub region: Option<&'a str>,
    pub registered_capital: f64,
    pub founded: i32,
    pub status: Option<&'a str>,
    pub defaulted: u8,
    /// The day the default happened; `DATE_NULL` when unknown (then defaulted at every as-of).
    pub defaulted_on: i32,
    pub exposure: f64,
    pub pd: f64,
    /// Size by the SME classification's indicators; NaN when unknown.
    pub employees: f64,
    pub revenue: f64,
    pub total_assets: f64,
}

impl Default for FirmRow<'_> {
    fn default() -> Self {
        FirmRow {
            name: None,
            industry: None,
            region: None,
            registered_capital: 0.0,
            founded: 0,
            status: None,
            defaulted: 0,
            defaulted_on: DATE_NULL,
            exposure: 0.0,
            pd: 0.0,
            employees: f64::NAN,
            revenue: f64::NAN,
            total_assets: f64::NAN,
        }
    }
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

    /// Frees the values, keeping the type.
    fn release(&mut self) {
        match self {
            AttrVec::F64(v) => *v = Vec::new(),
            AttrVec::I64(v) => *v = Vec::new(),
            AttrVec::I32(v) => *v = Vec::new(),
            AttrVec::U8(v) => *v = Vec::new(),
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

    /// Appends `parts` in order, copying them in parallel (one relation's batches can be
    /// gigabytes: a sequential append is a single core's memcpy into freshly faulted pages).
    /// Column by column, each part's column freed once copied: the parts and the joined list are
    /// never held whole together (a relation's edges twice over was the load's peak).
    pub fn append_all(&mut self, mut parts: Vec<EdgeList>) {
        concat_into(&mut self.src, &parts.iter().map(|p| &p.src[..]).collect::<Vec<_>>());
        parts.iter_mut().for_each(|p| p.src = Vec::new());
        concat_into(&mut self.dst, &parts.iter().map(|p| &p.dst[..]).collect::<Vec<_>>());
        parts.iter_mut().for_each(|p| p.dst = Vec::new());
        for (k, attr) in self.attrs.iter_mut().enumerate() {
            macro_rules! concat_attr {
                ($variant:ident, $into:expr) => {{
                    let slices: Vec<_> = parts
                        .iter()
                        .filter_map(|p| match p.attrs.get(k) {
                            Some(AttrVec::$variant(v)) => Some(&v[..]),
                            _ => None,
                        })
                        .collect();
                    concat_into($into, &slices)
                }};
            }
            match attr {
                AttrVec::F64(v) => concat_attr!(F64, v),
                AttrVec::I64(v) => concat_attr!(I64, v),
                AttrVec::I32(v) => concat_attr!(I32, v),
                AttrVec::U8(v) => concat_attr!(U8, v),
            }
            for part in &mut parts {
                if let Some(a) = part.attrs.get_mut(k) {
                    a.release();
                }
            }
        }
    }

    /// Validity columns (`valid_from`, `valid_to`) left empty by a caller that has no dates:
    /// every edge valid throughout.
    fn fill_missing_validity(&mut self) {
        let n = self.src.len();
        for ((name, _), attr) in edge_attr_specs(self.relation).iter().zip(self.attrs.iter_mut()) {
            if let (true, AttrVec::I32(v)) = (VALIDITY_ATTRS.contains(name), attr) {
                if v.is_empty() {
                    v.resize(n, DATE_NULL);
                }
            }
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
    /// Days; may be left empty (every loan's default date unknown).
    pub loan_defaulted_on: Vec<i32>,
    edges: Vec<EdgeList>,
    identifier_values: IdMapBuilder,
    identifier_links: Vec<(NodeId, NodeId)>,
    /// (valid_from, valid_to) days of each link; may be left empty (every link always valid).
    identifier_validity: Vec<(i32, i32)>,
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
            loan_defaulted_on: Vec::new(),
            edges: Relation::ALL.iter().map(|&r| EdgeList::new(r)).collect(),
            identifier_values: IdMapBuilder::default(),
            identifier_links: Vec::new(),
            identifier_validity: Vec::new(),
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

    /// Renumbers the nodes of each kind in the order of their ids, once every node is added and
    /// before any edge: node numbers, and every result that breaks a tie or draws by them, are
    /// then the same for any order of the input's rows. Returns `new_of[old]` for the caller's
    /// own per-node data, or `None` when the nodes already were in that order.
    pub fn number_nodes_by_id(&mut self) -> Result<Option<Vec<u32>>> {
        let n = self.ids.len();
        let range = |kind: NodeKind| {
            let start = self.kind_start(kind) as usize;
            let end = NodeKind::ALL.get(kind as usize + 1).map_or(n, |&next| self.kind_start(next) as usize);
            start..end
        };
        let order: Vec<u32> =
            NodeKind::ALL.iter().flat_map(|&kind| self.ids.ids_by_key(range(kind).start as u32..range(kind).end as u32)).collect();
        if is_identity(&order) {
            return Ok(None);
        }
        // Each kind's order in its own numbering (0 for its first node).
        let within = |kind: NodeKind| -> Vec<u32> {
            let r = range(kind);
            order[r.clone()].iter().map(|&old| old - r.start as u32).collect()
        };
        let (firms, persons, accounts, loans) =
            (within(NodeKind::Firm), within(NodeKind::Person), within(NodeKind::Account), within(NodeKind::Loan));
        let f = &mut self.firms;
        if has_rows(f.name.len(), &firms)? {
            f.name = f.name.permuted(&firms);
        }
        for dict in [&mut f.industry, &mut f.region, &mut f.status] {
            if has_rows(dict.len(), &firms)? {
                *dict = dict.permuted(&firms);
            }
        }
        for column in [&mut f.registered_capital, &mut f.exposure, &mut f.pd, &mut f.employees, &mut f.revenue, &mut f.total_assets] {
            permute(column, &firms)?;
        }
        permute(&mut f.founded, &firms)?;
        permute(&mut f.defaulted_on, &firms)?;
        permute(&mut f.defaulted, &firms)?;
        if has_rows(self.person_names.len(), &persons)? {
            self.person_names = self.person_names.permuted(&persons);
        }
        permute(&mut self.account_opened, &accounts)?;
        permute(&mut self.account_blocked, &accounts)?;
        permute(&mut self.loan_amount, &loans)?;
        permute(&mut self.loan_disbursed, &loans)?;
        permute(&mut self.loan_defaulted, &loans)?;
        permute(&mut self.loan_defaulted_on, &loans)?;
        Ok(Some(self.ids.renumber(&order)))
    }

    /// Makes room for `additional` more nodes in the id map.
    pub fn reserve_nodes(&mut self, additional: usize) {
        self.ids.reserve(additional);
    }

    /// Resolves an external id among the nodes added so far.
    pub fn lookup(&self, external: &str) -> Option<NodeId> {
        self.ids.get(external)
    }

    /// A hint that `external` will be looked up soon (see [`IdMapBuilder::prefetch`]).
    #[inline]
    pub fn prefetch_lookup(&self, external: &str) {
        self.ids.prefetch(external)
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
        f.defaulted_on.push(row.defaulted_on);
        f.exposure.push(row.exposure);
        f.pd.push(row.pd);
        f.employees.push(row.employees);
        f.revenue.push(row.revenue);
        f.total_assets.push(row.total_assets);
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
        self.add_identifier_key(entity, &identifier_key(kind, value));
    }

    /// Links `entity` to the value whose key is `key` (see [`identifier_key`]).
    pub fn add_identifier_key(&mut self, entity: NodeId, key: &str) {
        let value_id = match self.identifier_values.insert(key) {
            Ok(id) | Err(id) => id,
        };
        self.identifier_links.push((entity, value_id));
    }

    /// Links `entity` to the value `key` for the days `valid_from..=valid_to` (`DATE_NULL` for an
    /// open end).
    pub fn add_identifier_key_valid(&mut self, entity: NodeId, key: &str, valid_from: i32, valid_to: i32) {
        // Links added without dates before this one were valid throughout.
        self.identifier_validity.resize(self.identifier_links.len(), (DATE_NULL, DATE_NULL));
        self.add_identifier_key(entity, key);
        self.identifier_validity.push((valid_from, valid_to));
    }

    /// A hint that the identifier value `key` will be added soon.
    #[inline]
    pub fn prefetch_identifier(&self, key: &str) {
        self.identifier_values.prefetch(key)
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
        // Optional dates left empty by callers that have none: unknown throughout.
        let mut firm_defaulted_on = f.defaulted_on;
        firm_defaulted_on.resize(counts[0], DATE_NULL);
        let mut loan_defaulted_on = self.loan_defaulted_on;
        loan_defaulted_on.resize(counts[3], DATE_NULL);
        for list in self.edges.iter_mut() {
            list.fill_missing_validity();
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
        // Identifier values numbered in the order of their keys, as nodes are by id: the same
        // numbers for any order of the identifiers table's rows.
        let started = std::time::Instant::now();
        let mut identifier_values = self.identifier_values;
        let value_order = identifier_values.ids_by_key(0..identifier_values.len() as u32);
        let value_of = if is_identity(&value_order) { value_order } else { identifier_values.renumber(&value_order) };
        tracing::info!(ms = started.elapsed().as_millis() as u64, "numbered the identifier values by key");
        let values = identifier_values.finish();
        let links = self.identifier_links;
        let mut validity = self.identifier_validity;
        validity.resize(links.len(), (DATE_NULL, DATE_NULL));
        let entity_rows: Vec<NodeId> = links.iter().map(|l| l.0).collect();
        let value_rows: Vec<NodeId> = links.iter().map(|l| NodeId(value_of[l.1.index()])).collect();
        let entities = id_range(&self.kind_starts, KindSet::of(&[NodeKind::Firm, NodeKind::Person, NodeKind::Account]));
        let (offsets, order) = group_by_row(&entity_rows, entities.start, entities.len(), |e| value_rows[e as usize]);
        let by_entity = Csr::from_parts(entities.start, offsets.into(), gather(&value_rows, &order).into());
        let valid_from: Vec<i32> = order.iter().map(|&e| validity[e as usize].0).collect();
        let valid_to: Vec<i32> = order.iter().map(|&e| validity[e as usize].1).collect();
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
                defaulted_on: firm_defaulted_on.into(),
                exposure: f.exposure.into(),
                pd: f.pd.into(),
                employees: f.employees.into(),
                revenue: f.revenue.into(),
                total_assets: f.total_assets.into(),
            },
            persons: PersonColumns { name: person_names.finish() },
            accounts: AccountColumns { opened: self.account_opened.into(), blocked: self.account_blocked.into() },
            loans: LoanColumns {
                amount: self.loan_amount.into(),
                disbursed: self.loan_disbursed.into(),
                defaulted: self.loan_defaulted.into(),
                defaulted_on: loan_defaulted_on.into(),
            },
            relations,
            identifiers: IdentifierStore { values, by_entity, by_value, valid_from: valid_from.into(), valid_to: valid_to.into() },
        })
    }
}

/// `into` followed by `parts`, in order, the parts copied in parallel into a zeroed (not yet
/// touched) vector.
fn concat_into<T: bytemuck::Pod + Send + Sync>(into: &mut Vec<T>, parts: &[&[T]]) {
    let total = into.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out: Vec<T> = bytemuck::allocation::zeroed_vec(total);
    let (head, mut rest) = out.split_at_mut(into.len());
    head.copy_from_slice(into);
    let mut jobs = Vec::with_capacity(parts.len());
    for part in parts {
        let (dst, tail) = rest.split_at_mut(part.len());
        jobs.push((dst, *part));
        rest = tail;
    }
    jobs.into_par_iter().for_each(|(dst, src)| dst.copy_from_slice(src));
    *into = out;
}

/// The interned key of an identifier value: its kind's code, then the value, so that one phone
/// number and one e-mail address spelled alike stay two values.
pub fn identifier_key(kind: IdentifierKind, value: &str) -> String {
    let mut key = String::with_capacity(1 + value.len());
    key.push(kind as u8 as char);
    key.push_str(value);
    key
}

/// The id range spanning the kinds of `set` (kinds are contiguous, in `NodeKind` order).
pub(crate) fn id_range(kind_starts: &[u32; 5], set: KindSet) -> std::ops::Range<u32> {
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
    let EdgeList { relation, src, dst, attrs } = list;
    let ts: Option<&[i64]> = match (relation, attrs.get(1)) {
        (Relation::Transfer, Some(AttrVec::I64(ts))) => Some(ts),
        _ => None,
    };
    let outside = |ids: &[NodeId], rows: &std::ops::Range<u32>| ids.par_iter().any(|v| !rows.contains(&v.0));
    if outside(&src, &src_rows) || outside(&dst, &dst_rows) {
        return Err(Error::Build(format!("{relation}: an endpoint of a kind the relation does not allow")));
    }
    let sorted = match KeyPacking::new(&src_rows, &dst_rows, ts, src.len()) {
        Some(packing) => sort_packed(&packing, src, dst, ts, &src_rows, &dst_rows),
        None => sort_structs(src, dst, ts, &src_rows, &dst_rows),
    };
    // Each attribute is freed once gathered into CSR order.
    let SortedEdges { fwd_offsets, fwd_order, forward_targets, rev_offsets, reverse_targets, reverse_edge } = sorted;
    let t1 = t0.elapsed();
    let forward = Csr::from_parts(src_rows.start, fwd_offsets.into(), forward_targets.into());
    let reverse = Csr::from_parts(dst_rows.start, rev_offsets.into(), reverse_targets.into());
    let attrs = edge_attr_specs(relation).iter().zip(attrs).map(|((name, _), values)| (*name, values.gather(&fwd_order))).collect();
    tracing::debug!(
        relation = relation.as_str(),
        sort_ms = t1.as_millis() as u64,
        gather_ms = (t0.elapsed() - t1).as_millis() as u64,
        "adjacency phases"
    );
    Ok(RelationStore { forward, reverse, reverse_edge: Column::from(reverse_edge), attrs })
}

/// Both directions of a relation in CSR order.
struct SortedEdges {
    fwd_offsets: Vec<u32>,
    /// Input edge id at each forward position.
    fwd_order: Vec<u32>,
    forward_targets: Vec<NodeId>,
    rev_offsets: Vec<u32>,
    reverse_targets: Vec<NodeId>,
    /// Forward position at each reverse position.
    reverse_edge: Vec<u32>,
}

/// Sort keys as structs: the general path, for id and time ranges too wide to pack.
fn sort_structs(src: Vec<NodeId>, dst: Vec<NodeId>, ts: Option<&[i64]>, src_rows: &Range<u32>, dst_rows: &Range<u32>) -> SortedEdges {
    let time = |e: usize| ts.map_or(0, |t| t[e]);
    let mut keys: Vec<EdgeKey> =
        (0..src.len()).into_par_iter().map(|e| EdgeKey { row: src[e].0, time: time(e), other: dst[e].0, edge: e as u32 }).collect();
    // The keys hold the endpoints now.
    drop((src, dst));
    keys.par_sort_unstable();
    let fwd_offsets = offsets_of_sorted(&keys, src_rows.clone());
    let fwd_order: Vec<u32> = keys.par_iter().map(|k| k.edge).collect();
    let forward_targets: Vec<NodeId> = keys.par_iter().map(|k| NodeId(k.other)).collect();
    // Reverse keys from forward positions: `edge` now holds the forward position.
    keys.par_iter_mut().enumerate().for_each(|(pos, k)| {
        *k = EdgeKey { row: k.other, time: k.time, other: k.row, edge: pos as u32 };
    });
    keys.par_sort_unstable();
    let rev_offsets = offsets_of_sorted(&keys, dst_rows.clone());
    let reverse_targets: Vec<NodeId> = keys.par_iter().map(|k| NodeId(k.other)).collect();
    let reverse_edge: Vec<u32> = keys.par_iter().map(|k| k.edge).collect();
    SortedEdges { fwd_offsets, fwd_order, forward_targets, rev_offsets, reverse_targets, reverse_edge }
}

/// The fields of an [`EdgeKey`] as offsets from their minimum, packed high to low into one
/// u128 (row, time, other, edge): integer order is key order, a comparison is two word compares
/// instead of four field compares, and a key takes 16 bytes instead of 24. Used whenever the
/// widths fit in 128 bits (10^7 nodes, 10^8 edges and a century of microseconds take 125).
struct KeyPacking {
    time_base: i64,
    time_bits: u32,
    /// Bits for a row or other end: the wider of the two id ranges, so the reverse keys (ends
    /// swapped) pack the same way.
    node_bits: u32,
    edge_bits: u32,
}

impl KeyPacking {
    fn new(src_rows: &Range<u32>, dst_rows: &Range<u32>, ts: Option<&[i64]>, edges: usize) -> Option<KeyPacking> {
        let bits = |max: u128| 128 - max.leading_zeros();
        let (time_base, time_bits) = match ts {
            Some(t) if !t.is_empty() => {
                let (lo, hi) = t
                    .par_iter()
                    .fold(|| (i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
                    .reduce(|| (i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)));
                (lo, bits((hi as i128 - lo as i128) as u128))
            }
            _ => (0, 0),
        };
        let node_bits = bits(src_rows.len().max(dst_rows.len()) as u128);
        let edge_bits = bits(edges as u128);
        (2 * node_bits + time_bits + edge_bits <= 128).then_some(KeyPacking { time_base, time_bits, node_bits, edge_bits })
    }

    fn pack(&self, row: u32, time: i64, other: u32, edge: u32) -> u128 {
        let time = (time as i128 - self.time_base as i128) as u128;
        (((((row as u128) << self.time_bits) | time) << self.node_bits | other as u128) << self.edge_bits) | edge as u128
    }

    /// (row, time offset, other, edge) of a packed key.
    fn unpack(&self, key: u128) -> (u32, u128, u32, u32) {
        let mask = |bits: u32| if bits == 0 { 0 } else { u128::MAX >> (128 - bits) };
        let edge = (key & mask(self.edge_bits)) as u32;
        let other = ((key >> self.edge_bits) & mask(self.node_bits)) as u32;
        let time = (key >> (self.edge_bits + self.node_bits)) & mask(self.time_bits);
        let row = (key >> (self.edge_bits + self.node_bits + self.time_bits)) as u32;
        (row, time, other, edge)
    }
}

fn sort_packed(
    packing: &KeyPacking,
    src: Vec<NodeId>,
    dst: Vec<NodeId>,
    ts: Option<&[i64]>,
    src_rows: &Range<u32>,
    dst_rows: &Range<u32>,
) -> SortedEdges {
    let time = |e: usize| ts.map_or(0, |t| t[e]);
    let (s0, d0) = (src_rows.start, dst_rows.start);
    let mut keys: Vec<u128> =
        (0..src.len()).into_par_iter().map(|e| packing.pack(src[e].0 - s0, time(e), dst[e].0 - d0, e as u32)).collect();
    // The keys hold the endpoints now: freed before the sort's outputs are allocated.
    drop((src, dst));
    sort_keys(&mut keys);
    let offsets = |keys: &[u128], rows: usize| offsets_of_rows(keys.len(), rows, |i| packing.unpack(keys[i]).0);
    let fwd_offsets = offsets(&keys, src_rows.len());
    let fwd_order: Vec<u32> = keys.par_iter().map(|&k| packing.unpack(k).3).collect();
    let forward_targets: Vec<NodeId> = keys.par_iter().map(|&k| NodeId(packing.unpack(k).2 + d0)).collect();
    // Reverse keys from forward positions: the edge field now holds the forward position.
    keys.par_iter_mut().enumerate().for_each(|(pos, k)| {
        let (row, time, other, _) = packing.unpack(*k);
        let time = (time as i128 + packing.time_base as i128) as i64;
        *k = packing.pack(other, time, row, pos as u32);
    });
    sort_keys(&mut keys);
    let rev_offsets = offsets(&keys, dst_rows.len());
    let reverse_targets: Vec<NodeId> = keys.par_iter().map(|&k| NodeId(packing.unpack(k).2 + s0)).collect();
    let reverse_edge: Vec<u32> = keys.par_iter().map(|&k| packing.unpack(k).3).collect();
    SortedEdges { fwd_offsets, fwd_order, forward_targets, rev_offsets, reverse_targets, reverse_edge }
}

/// Sorts packed keys: a parallel radix sort (voracious' peeka sort) where it pays, about 2x
/// faster than a comparison sort on 10^8 keys; rayon's sort below, where a radix sort's pool
/// and passes cost more than they save.
fn sort_keys(keys: &mut [u128]) {
    use voracious_radix_sort::RadixSort;
    if keys.len() < RADIX_SORT_MIN_KEYS {
        keys.par_sort_unstable();
    } else {
        keys.voracious_mt_sort(rayon::current_num_threads());
    }
}

const RADIX_SORT_MIN_KEYS: usize = 2_000_000;

/// A sort key of one edge: the CSR row, then time (transfers; 0 otherwise), then the other end,
/// then the edge id, which makes the order total and so deterministic.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct EdgeKey {
    row: u32,
    time: i64,
    other: u32,
    edge: u32,
}

/// CSR offsets of keys sorted by row, over rows `range`.
fn offsets_of_sorted(keys: &[EdgeKey], range: std::ops::Range<u32>) -> Vec<u32> {
    offsets_of_rows(keys.len(), range.len(), |i| keys[i].row - range.start)
}

/// CSR offsets over `rows` rows of `len` items whose rows `row_of(i)` (< rows) never decrease:
/// one parallel linear pass, where each row's offset is written by the item that starts it
/// (a binary search per row reads some 20 random cache lines per row instead).
fn offsets_of_rows(len: usize, rows: usize, row_of: impl Fn(usize) -> u32 + Sync) -> Vec<u32> {
    let offsets: Vec<AtomicU32> = (0..=rows).map(|_| AtomicU32::new(len as u32)).collect();
    (0..len).into_par_iter().with_min_len(1 << 16).for_each(|i| {
        let first_row = if i == 0 { 0 } else { row_of(i - 1) as usize + 1 };
        // Rows first_row..=row_of(i) begin at item i (empty rows included); disjoint per item.
        for offset in &offsets[first_row..=row_of(i) as usize] {
            offset.store(i as u32, Ordering::Relaxed);
        }
    });
    offsets.into_iter().map(AtomicU32::into_inner).collect()
}

/// `column` with row `order[i]` at row `i`; a column left empty (every value unknown) stays so.
fn permute<T: Copy + Send + Sync>(column: &mut Vec<T>, order: &[u32]) -> Result<()> {
    if has_rows(column.len(), order)? {
        *column = gather(column, order);
    }
    Ok(())
}

/// Whether a column of `len` rows is to be permuted by `order`: not when left empty, an error
/// when it holds another number of rows than there are nodes.
fn has_rows(len: usize, order: &[u32]) -> Result<bool> {
    match len {
        0 => Ok(false),
        len if len == order.len() => Ok(true),
        len => Err(Error::Build(format!("a column of {len} rows for {} nodes", order.len()))),
    }
}

/// Whether `order` leaves every place as it is.
fn is_identity(order: &[u32]) -> bool {
    order.iter().enumerate().all(|(new, &old)| new as u32 == old)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &SortedEdges, b: &SortedEdges) -> bool {
        a.fwd_offsets == b.fwd_offsets
            && a.fwd_order == b.fwd_order
            && a.forward_targets == b.forward_targets
            && a.rev_offsets == b.rev_offsets
            && a.reverse_targets == b.reverse_targets
            && a.reverse_edge == b.reverse_edge
    }

    #[test]
    fn packed_keys_sort_exactly_like_the_structs() {
        let mut state = 3u64;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 17
        };
        // Offset id ranges (another kind first), repeated (time, end) pairs, extreme and
        // negative times, and no times at all.
        let (src_rows, dst_rows) = (100..160u32, 130..137u32);
        for times in [None, Some((-5i64, 5i64)), Some((i64::MIN / 2, i64::MAX / 2)), Some((0, 3))] {
            let m = 2000;
            let src: Vec<NodeId> = (0..m).map(|_| NodeId(src_rows.start + (next() % 60) as u32)).collect();
            let dst: Vec<NodeId> = (0..m).map(|_| NodeId(dst_rows.start + (next() % 7) as u32)).collect();
            let ts: Option<Vec<i64>> = times.map(|(lo, hi)| {
                (0..m).map(|_| lo + (next() as i64).rem_euclid((hi as i128 - lo as i128 + 1).min(i64::MAX as i128) as i64)).collect()
            });
            let packing = KeyPacking::new(&src_rows, &dst_rows, ts.as_deref(), m);
            let Some(packing) = packing else {
                assert!(times.is_some_and(|(lo, hi)| hi as i128 - lo as i128 > 1 << 100), "{times:?} should pack");
                continue;
            };
            let packed = sort_packed(&packing, src.clone(), dst.clone(), ts.as_deref(), &src_rows, &dst_rows);
            let structs = sort_structs(src, dst, ts.as_deref(), &src_rows, &dst_rows);
            assert!(same(&packed, &structs), "{times:?}");
        }
        // Too wide to pack: 2^32 rows and a full-range clock.
        assert!(KeyPacking::new(&(0..u32::MAX), &(0..u32::MAX), Some(&[i64::MIN, i64::MAX]), 1 << 31).is_none());
    }

    #[test]
    fn radix_sorted_keys_equal_a_comparison_sort() {
        let mut state = 11u64;
        let keys: Vec<u128> = (0..RADIX_SORT_MIN_KEYS + 12_345)
            .map(|e| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                // Few distinct high parts, as packed keys have (rows), and some full-width keys.
                let high = if e % 97 == 0 { u128::from(state) << 64 } else { u128::from(state >> 50) << 80 };
                high | u128::from(state.rotate_left(17)) | e as u128
            })
            .collect();
        let (mut radix, mut reference) = (keys.clone(), keys);
        sort_keys(&mut radix);
        reference.sort_unstable();
        assert!(radix == reference);
    }

    #[test]
    fn offsets_cover_empty_rows_at_both_ends_and_between() {
        let rows_of_items = [1u32, 1, 3, 3, 3, 4];
        assert_eq!(offsets_of_rows(6, 7, |i| rows_of_items[i]), vec![0, 0, 2, 2, 5, 6, 6, 6]);
        assert_eq!(offsets_of_rows(0, 3, |_| 0), vec![0, 0, 0, 0]);
        let many: Vec<u32> = (0..300_000u32).map(|i| i / 3 * 2).collect();
        let offsets = offsets_of_rows(many.len(), 200_001, |i| many[i]);
        let expected: Vec<u32> = (0..=200_001u32).map(|r| many.partition_point(|&x| x < r) as u32).collect();
        assert_eq!(offsets, expected);
    }
}
