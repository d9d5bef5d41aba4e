//! The frozen in-memory graph: id map, node attribute columns, one forward and reverse CSR per
//! relation with edge attribute columns, and the entity–identifier bipartite relation.
//!
//! Nodes are numbered kind by kind (firms, persons, accounts, loans), so the kind of a node is a
//! range test and firm attributes are indexed directly by firm node id.

use std::ops::Range;

use crate::column::Column;
use crate::csr::Csr;
use crate::kinds::{IdentifierKind, NodeId, NodeKind, Relation};
use crate::strings::{Dict, IdMap, StrPool};

/// Tri-state booleans in `u8` columns.
pub const BOOL_FALSE: u8 = 0;
pub const BOOL_TRUE: u8 = 1;
pub const BOOL_NULL: u8 = 2;
/// Missing date (days since 1970-01-01).
pub const DATE_NULL: i32 = i32::MIN;
/// Missing timestamp (microseconds since 1970-01-01 UTC).
pub const TS_NULL: i64 = i64::MIN;

/// Attributes of firms, indexed by firm node id (firms are ids `0..firm_count`).
#[derive(Debug, Default)]
pub struct FirmColumns {
    pub name: StrPool,
    pub industry: Dict,
    pub region: Dict,
    /// NaN when unknown.
    pub registered_capital: Column<f64>,
    /// Days since epoch; `DATE_NULL` when unknown.
    pub founded: Column<i32>,
    pub status: Dict,
    /// `BOOL_*`.
    pub defaulted: Column<u8>,
    /// Days since epoch of the default; `DATE_NULL` when unknown.
    pub defaulted_on: Column<i32>,
    /// NaN when unknown.
    pub exposure: Column<f64>,
    /// NaN when unknown.
    pub pd: Column<f64>,
    /// The SME classification's size indicators (employees, operating revenue, total assets in
    /// yuan); NaN when unknown.
    pub employees: Column<f64>,
    pub revenue: Column<f64>,
    pub total_assets: Column<f64>,
}

/// Attributes of persons, indexed by `node - person_start`.
#[derive(Debug, Default)]
pub struct PersonColumns {
    /// Empty string when unknown.
    pub name: StrPool,
}

/// Attributes of accounts, indexed by `node - account_start`.
#[derive(Debug, Default)]
pub struct AccountColumns {
    pub opened: Column<i64>,
    pub blocked: Column<u8>,
}

/// Attributes of loans, indexed by `node - loan_start`.
#[derive(Debug, Default)]
pub struct LoanColumns {
    pub amount: Column<f64>,
    pub disbursed: Column<i64>,
    pub defaulted: Column<u8>,
    /// Days since epoch of the default; `DATE_NULL` when unknown.
    pub defaulted_on: Column<i32>,
}

/// The physical type of an edge attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    F64,
    I64,
    I32,
    U8,
}

/// One edge attribute column, in forward-CSR edge order.
#[derive(Debug)]
pub enum AttrColumn {
    F64(Column<f64>),
    I64(Column<i64>),
    I32(Column<i32>),
    U8(Column<u8>),
}

impl AttrColumn {
    pub fn len(&self) -> usize {
        match self {
            AttrColumn::F64(c) => c.len(),
            AttrColumn::I64(c) => c.len(),
            AttrColumn::I32(c) => c.len(),
            AttrColumn::U8(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn byte_len(&self) -> usize {
        match self {
            AttrColumn::F64(c) => c.byte_len(),
            AttrColumn::I64(c) => c.byte_len(),
            AttrColumn::I32(c) => c.byte_len(),
            AttrColumn::U8(c) => c.byte_len(),
        }
    }

    pub fn as_f64(&self) -> Option<&[f64]> {
        match self {
            AttrColumn::F64(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<&[i64]> {
        match self {
            AttrColumn::I64(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_i32(&self) -> Option<&[i32]> {
        match self {
            AttrColumn::I32(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_u8(&self) -> Option<&[u8]> {
        match self {
            AttrColumn::U8(c) => Some(c),
            _ => None,
        }
    }
}

/// The edge attributes (days, `DATE_NULL` for an open end) that bound when a long-lived relation
/// holds; an as-of view keeps only the edges valid on its day.
pub const VALIDITY_ATTRS: [&str; 2] = ["valid_from", "valid_to"];

/// The edge attributes each relation carries, in storage order.
pub fn edge_attr_specs(relation: Relation) -> &'static [(&'static str, AttrType)] {
    match relation {
        Relation::Shareholding => &[("share", AttrType::F64), ("valid_from", AttrType::I32), ("valid_to", AttrType::I32)],
        Relation::Officer => &[("role", AttrType::U8), ("valid_from", AttrType::I32), ("valid_to", AttrType::I32)],
        Relation::Transfer => &[("amount", AttrType::F64), ("ts", AttrType::I64)],
        Relation::Guarantee => &[("amount", AttrType::F64), ("start", AttrType::I32), ("end", AttrType::I32)],
        Relation::Supply => &[("volume", AttrType::F64), ("valid_from", AttrType::I32), ("valid_to", AttrType::I32)],
        Relation::AccountOwner | Relation::LoanBorrower | Relation::LoanDeposit => &[],
    }
}

/// One relation: forward CSR (by source), reverse CSR (by target) whose `reverse_edge[i]` is the
/// forward position of reverse entry `i`, and attribute columns in forward order.
#[derive(Debug, Default)]
pub struct RelationStore {
    pub forward: Csr,
    pub reverse: Csr,
    pub reverse_edge: Column<u32>,
    pub attrs: Vec<(&'static str, AttrColumn)>,
}

impl RelationStore {
    pub fn edge_count(&self) -> usize {
        self.forward.edge_count()
    }

    pub fn attr(&self, name: &str) -> Option<&AttrColumn> {
        self.attrs.iter().find(|(n, _)| *n == name).map(|(_, c)| c)
    }

    pub fn f64_attr(&self, name: &str) -> Option<&[f64]> {
        self.attr(name).and_then(AttrColumn::as_f64)
    }

    pub fn byte_len(&self) -> usize {
        self.forward.byte_len()
            + self.reverse.byte_len()
            + self.reverse_edge.byte_len()
            + self.attrs.iter().map(|(_, c)| c.byte_len()).sum::<usize>()
    }
}

/// Shared identifiers as a bipartite relation between entities and identifier values. A value's
/// key in `values` is its kind code byte followed by the text, so equal text of different kinds
/// (a phone and an account number) stays apart.
#[derive(Debug, Default)]
pub struct IdentifierStore {
    pub values: IdMap,
    /// entity node → identifier value indices.
    pub by_entity: Csr,
    /// identifier value → entity nodes.
    pub by_value: Csr,
    /// First and last day of each `by_entity` link (`DATE_NULL` for an open end).
    pub valid_from: Column<i32>,
    pub valid_to: Column<i32>,
}

impl IdentifierStore {
    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    pub fn kind(&self, value: NodeId) -> IdentifierKind {
        let bytes = self.values.pool().get_bytes(value.index());
        bytes.first().and_then(|&b| IdentifierKind::from_code(b)).unwrap_or(IdentifierKind::Other)
    }

    pub fn text(&self, value: NodeId) -> &str {
        let full = self.values.external(value);
        full.get(1..).unwrap_or("")
    }

    pub fn byte_len(&self) -> usize {
        self.values.byte_len()
            + self.by_entity.byte_len()
            + self.by_value.byte_len()
            + self.valid_from.byte_len()
            + self.valid_to.byte_len()
    }
}

/// The graph. Immutable once built; shared across threads by reference.
#[derive(Debug, Default)]
pub struct Graph {
    pub ids: IdMap,
    /// `kind_starts[k]..kind_starts[k + 1]` are the ids of kind `k` (in `NodeKind` order).
    pub(crate) kind_starts: [u32; 5],
    pub firms: FirmColumns,
    pub persons: PersonColumns,
    pub accounts: AccountColumns,
    pub loans: LoanColumns,
    pub(crate) relations: Vec<RelationStore>,
    pub identifiers: IdentifierStore,
}

impl Graph {
    pub fn node_count(&self) -> usize {
        self.kind_starts[4] as usize
    }

    pub fn kind_range(&self, kind: NodeKind) -> Range<u32> {
        self.kind_starts[kind as usize]..self.kind_starts[kind as usize + 1]
    }

    pub fn kind_count(&self, kind: NodeKind) -> usize {
        self.kind_range(kind).len()
    }

    #[inline]
    pub fn kind(&self, node: NodeId) -> NodeKind {
        let s = &self.kind_starts;
        if node.0 < s[1] {
            NodeKind::Firm
        } else if node.0 < s[2] {
            NodeKind::Person
        } else if node.0 < s[3] {
            NodeKind::Account
        } else {
            NodeKind::Loan
        }
    }

    pub fn lookup(&self, external: &str) -> Option<NodeId> {
        self.ids.get(external)
    }

    #[inline]
    pub fn external_id(&self, node: NodeId) -> &str {
        self.ids.external(node)
    }

    pub fn relation(&self, relation: Relation) -> &RelationStore {
        &self.relations[relation as usize]
    }

    pub fn edge_count(&self, relation: Relation) -> usize {
        self.relation(relation).edge_count()
    }

    pub fn total_edge_count(&self) -> usize {
        self.relations.iter().map(RelationStore::edge_count).sum()
    }

    /// Whether a firm is labelled defaulted.
    /// The latest transfer time, if any transfer has one: the default as-of of a scoring run, so
    /// that reruns on the same input are identical.
    pub fn latest_transfer_ts(&self) -> Option<i64> {
        let ts = self.relation(Relation::Transfer).attr("ts").and_then(|c| c.as_i64())?;
        ts.iter().copied().filter(|&t| t != TS_NULL).max()
    }

    pub fn is_defaulted(&self, node: NodeId) -> bool {
        match self.kind(node) {
            NodeKind::Firm => self.firms.defaulted.get(node.index()) == Some(&BOOL_TRUE),
            NodeKind::Loan => {
                let i = (node.0 - self.kind_starts[3]) as usize;
                self.loans.defaulted.get(i) == Some(&BOOL_TRUE)
            }
            _ => false,
        }
    }

    /// Rewrites the external ids (pseudonymisation): `rename(node, id, out)` appends the node's
    /// new id to `out`, or its current `id` to keep it. Node ids, relations and attributes are
    /// unchanged. Two nodes ending with one id is an error. When any person's id changes, person
    /// names are dropped: a pseudonym next to a name hides nothing.
    ///
    /// # Complexity
    /// O(n) renames in parallel, then a sort of the n key hashes.
    pub fn rename_nodes(&mut self, rename: impl Fn(NodeId, &str, &mut String) + Sync) -> crate::error::Result<()> {
        let persons = self.kind_range(crate::kinds::NodeKind::Person);
        let person_renamed = std::sync::atomic::AtomicBool::new(false);
        let pool = self.ids.pool().rewritten(|v, external, out| {
            let start = out.len();
            rename(NodeId(v as u32), external, out);
            if persons.contains(&(v as u32)) && out[start..] != *external {
                person_renamed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
        self.ids = IdMap::from_pool(pool)
            .map_err(|(a, b)| crate::error::Error::Build(format!("renamed id of node {} collides with node {}'s", b.0, a.0)))?;
        if person_renamed.into_inner() {
            let mut names = crate::strings::StrPoolBuilder::with_capacity(persons.len(), 0);
            for _ in persons {
                names.push("");
            }
            self.persons.name = names.finish();
        }
        Ok(())
    }

    /// Replaces the name of each firm (by ordinal) for which `rename(firm, name)` gives one.
    pub fn rename_firm_names(&mut self, rename: impl Fn(u32, &str) -> Option<String>) {
        let firms = self.firms.name.len();
        let mut names = crate::strings::StrPoolBuilder::with_capacity(firms, self.firms.name.byte_len());
        for f in 0..firms {
            let name = self.firms.name.get(f);
            match rename(f as u32, name) {
                Some(renamed) => names.push(&renamed),
                None => names.push(name),
            };
        }
        self.firms.name = names.finish();
    }

    /// Rewrites every identifier value's text: `rename(kind, text, out)` appends the new text to
    /// `out` (the same text to keep it). Equal values stay equal, so shared identifiers are still
    /// shared; two values ending equal is an error. Runs in parallel.
    pub fn rename_identifier_values(&mut self, rename: impl Fn(IdentifierKind, &str, &mut String) + Sync) -> crate::error::Result<()> {
        let pool = self.identifiers.values.pool().rewritten(|_, key, out| {
            // A key is its kind's code byte, then the text.
            let (code, text) = key.split_at(key.chars().next().map_or(0, char::len_utf8));
            let kind = code.bytes().next().and_then(IdentifierKind::from_code).unwrap_or(IdentifierKind::Other);
            out.push_str(code);
            rename(kind, text, out);
        });
        self.identifiers.values = IdMap::from_pool(pool)
            .map_err(|(a, b)| crate::error::Error::Build(format!("renamed identifier value {} collides with value {}", b.0, a.0)))?;
        Ok(())
    }

    /// Moves the id strings, the identifier values and the firm names, when held in memory, to
    /// unnamed files in `dir` read through maps of them: after personal values are replaced by
    /// pseudonyms they are new heap strings (about 0.3 GB per million firms) that the job reads
    /// mostly when it writes its tables.
    pub fn spill_strings(&mut self, dir: &std::path::Path) -> std::io::Result<()> {
        self.ids.spill(dir)?;
        self.identifiers.values.spill(dir)?;
        self.firms.name.spill(dir)
    }

    /// Bytes held by each part of the graph, for `ekg info`.
    pub fn footprint(&self) -> Vec<(String, usize)> {
        let mut parts = vec![
            ("id map".to_string(), self.ids.byte_len()),
            (
                "firm attributes".to_string(),
                self.firms.name.byte_len()
                    + self.firms.industry.byte_len()
                    + self.firms.region.byte_len()
                    + self.firms.registered_capital.byte_len()
                    + self.firms.founded.byte_len()
                    + self.firms.status.byte_len()
                    + self.firms.defaulted.byte_len()
                    + self.firms.defaulted_on.byte_len()
                    + self.firms.exposure.byte_len()
                    + self.firms.pd.byte_len()
                    + self.firms.employees.byte_len()
                    + self.firms.revenue.byte_len()
                    + self.firms.total_assets.byte_len(),
            ),
            ("person attributes".to_string(), self.persons.name.byte_len()),
            ("account attributes".to_string(), self.accounts.opened.byte_len() + self.accounts.blocked.byte_len()),
            (
                "loan attributes".to_string(),
                self.loans.amount.byte_len()
                    + self.loans.disbursed.byte_len()
                    + self.loans.defaulted.byte_len()
                    + self.loans.defaulted_on.byte_len(),
            ),
        ];
        for relation in Relation::ALL {
            parts.push((format!("relation {relation}"), self.relation(relation).byte_len()));
        }
        parts.push(("identifiers".to_string(), self.identifiers.byte_len()));
        parts
    }
}

#[cfg(test)]
mod tests {
    use crate::builder::{FirmRow, GraphBuilder};
    use crate::{IdentifierKind, NodeId, NodeKind};

    fn two_firms_two_persons() -> crate::Graph {
        let mut b = GraphBuilder::new();
        for (kind, id) in [(NodeKind::Firm, "F1"), (NodeKind::Firm, "F2"), (NodeKind::Person, "P1"), (NodeKind::Person, "P2")] {
            assert!(matches!(b.add_node(kind, id), Ok(Ok(_))));
            if kind == NodeKind::Firm {
                b.push_firm(&FirmRow::default());
            } else {
                b.person_names.push(&format!("name of {id}"));
            }
        }
        for (entity, phone) in [(0, "138"), (2, "138"), (3, "139")] {
            b.add_identifier(NodeId(entity), IdentifierKind::Phone, phone);
        }
        b.add_identifier(NodeId(1), IdentifierKind::Address, "1 Main St");
        b.finish().expect("graph")
    }

    #[test]
    fn renamed_nodes_keep_their_numbers_and_drop_person_names() {
        let mut graph = two_firms_two_persons();
        let persons = graph.kind_range(NodeKind::Person);
        let renamed = graph.rename_nodes(|node, id, out| {
            if persons.contains(&node.0) {
                out.push_str("p:");
            }
            out.push_str(id);
        });
        assert!(renamed.is_ok());
        let ids: Vec<Option<NodeId>> = ["F1", "F2", "p:P1", "p:P2", "P1"].iter().map(|id| graph.lookup(id)).collect();
        assert_eq!(ids, vec![Some(NodeId(0)), Some(NodeId(1)), Some(NodeId(2)), Some(NodeId(3)), None]);
        assert_eq!((graph.persons.name.len(), graph.persons.name.get(0)), (2, ""));

        // Firms alone renamed: person names stay.
        let mut graph = two_firms_two_persons();
        let renamed = graph.rename_nodes(|node, id, out| {
            if node.0 < 2 {
                out.push('f');
            }
            out.push_str(id);
        });
        assert!(renamed.is_ok());
        assert_eq!((graph.lookup("fF2"), graph.persons.name.get(1)), (Some(NodeId(1)), "name of P2"));

        // Two nodes under one id.
        let mut graph = two_firms_two_persons();
        let collided = graph.rename_nodes(|node, id, out| out.push_str(if node.0 == 3 { "F1" } else { id }));
        assert!(collided.is_err_and(|e| e.to_string().contains("node 3 collides with node 0")));
    }

    #[test]
    fn renamed_identifier_values_stay_shared_and_keep_their_kind() {
        let mut graph = two_firms_two_persons();
        let renamed = graph.rename_identifier_values(|kind, text, out| {
            if kind == IdentifierKind::Phone {
                out.push_str("tel-");
            }
            out.push_str(text);
        });
        assert!(renamed.is_ok());
        let values = |node: u32| -> Vec<(IdentifierKind, String)> {
            let store = &graph.identifiers;
            store.by_entity.neighbors(NodeId(node)).iter().map(|&v| (store.kind(v), store.text(v).to_string())).collect()
        };
        assert_eq!(values(0), values(2));
        assert_eq!(values(0), vec![(IdentifierKind::Phone, "tel-138".to_string())]);
        assert_eq!(values(1), vec![(IdentifierKind::Address, "1 Main St".to_string())]);
        let key = crate::builder::identifier_key(IdentifierKind::Phone, "tel-139");
        assert_eq!(graph.identifiers.values.get(&key).map(|v| graph.identifiers.by_value.neighbors(v).to_vec()), Some(vec![NodeId(3)]));

        let mut graph = two_firms_two_persons();
        let collided = graph.rename_identifier_values(|_, _, out| out.push('x'));
        assert!(collided.is_err());
    }
}
