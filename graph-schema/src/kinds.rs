//! The vocabulary: node ids, node kinds, relations and their enumerated attribute values.

use std::fmt;

/// Dense internal node id. Nodes are numbered kind by kind (all firms, then persons, accounts,
/// loans), so a kind is a contiguous id range and needs no per-node column.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, bytemuck::Pod, bytemuck::Zeroable)]
pub struct NodeId(pub u32);

impl NodeId {
    /// Marks "no node" in optional node-valued columns.
    pub const NONE: NodeId = NodeId(u32::MAX);

    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The kinds of entity that share the one external id namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum NodeKind {
    Firm = 0,
    Person = 1,
    Account = 2,
    Loan = 3,
}

impl NodeKind {
    pub const ALL: [NodeKind; 4] = [NodeKind::Firm, NodeKind::Person, NodeKind::Account, NodeKind::Loan];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Firm => "firm",
            NodeKind::Person => "person",
            NodeKind::Account => "account",
            NodeKind::Loan => "loan",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bit set of node kinds, used for endpoint constraints and algorithm node sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct KindSet(u8);

impl KindSet {
    pub const EMPTY: KindSet = KindSet(0);
    pub const ALL: KindSet = KindSet(0b1111);

    pub const fn of(kinds: &[NodeKind]) -> KindSet {
        let mut bits = 0u8;
        let mut i = 0;
        while i < kinds.len() {
            bits |= 1 << kinds[i] as u8;
            i += 1;
        }
        KindSet(bits)
    }

    pub fn contains(self, kind: NodeKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    pub fn union(self, other: KindSet) -> KindSet {
        KindSet(self.0 | other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = NodeKind> {
        NodeKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }

    /// "firm or person", for error messages.
    pub fn describe(self) -> String {
        let names: Vec<&str> = self.iter().map(NodeKind::as_str).collect();
        names.join(" or ")
    }
}

/// The relations between nodes. Each is stored as its own forward and reverse CSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Relation {
    /// holder → firm, attribute `share`.
    Shareholding = 0,
    /// person → firm, attribute `role`.
    Officer = 1,
    /// src → dst, attributes `amount`, `ts`; adjacency lists sorted by time.
    Transfer = 2,
    /// guarantor → borrower, attributes `amount` (NaN when unknown), `start`, `end`.
    Guarantee = 3,
    /// supplier → customer, attribute `volume`.
    Supply = 4,
    /// owner → account (from the `accounts` table).
    AccountOwner = 5,
    /// borrower → loan (from the `loans` table).
    LoanBorrower = 6,
    /// loan → deposit account (from the `loans` table).
    LoanDeposit = 7,
}

impl Relation {
    pub const ALL: [Relation; 8] = [
        Relation::Shareholding,
        Relation::Officer,
        Relation::Transfer,
        Relation::Guarantee,
        Relation::Supply,
        Relation::AccountOwner,
        Relation::LoanBorrower,
        Relation::LoanDeposit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Shareholding => "shareholdings",
            Relation::Officer => "officers",
            Relation::Transfer => "transfers",
            Relation::Guarantee => "guarantees",
            Relation::Supply => "supply_links",
            Relation::AccountOwner => "account_owner",
            Relation::LoanBorrower => "loan_borrower",
            Relation::LoanDeposit => "loan_deposit",
        }
    }

    /// Accepts the table name or a short alias (`transfer`, `supply`, `guarantee`...).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        Self::ALL.into_iter().find(|r| {
            let name = r.as_str();
            name == t || name.strip_suffix('s') == Some(t) || name.split('_').next() == Some(t)
        })
    }

    /// The kinds allowed at the source and target of an edge.
    pub fn endpoint_kinds(self) -> (KindSet, KindSet) {
        use NodeKind::*;
        let fp = KindSet::of(&[Firm, Person]);
        let firm = KindSet::of(&[Firm]);
        match self {
            Relation::Shareholding => (fp, firm),
            Relation::Officer => (KindSet::of(&[Person]), firm),
            // Loans appear as endpoints for disbursements (loan → account) and repayments.
            Relation::Transfer => (KindSet::ALL, KindSet::ALL),
            Relation::Guarantee => (fp, fp),
            Relation::Supply => (firm, firm),
            Relation::AccountOwner => (fp, KindSet::of(&[Account])),
            Relation::LoanBorrower => (fp, KindSet::of(&[Loan])),
            Relation::LoanDeposit => (KindSet::of(&[Loan]), KindSet::of(&[Account])),
        }
    }

    /// The attribute that weights this relation in weighted algorithms, if any.
    pub fn weight_attr(self) -> Option<&'static str> {
        match self {
            Relation::Shareholding => Some("share"),
            Relation::Transfer | Relation::Guarantee => Some("amount"),
            Relation::Supply => Some("volume"),
            _ => None,
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An officer's role in a firm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum OfficerRole {
    LegalRep = 0,
    Director = 1,
    Supervisor = 2,
    Executive = 3,
}

impl OfficerRole {
    pub const ALL: [OfficerRole; 4] = [OfficerRole::LegalRep, OfficerRole::Director, OfficerRole::Supervisor, OfficerRole::Executive];
    pub const NAMES: [&'static str; 4] = ["legal_rep", "director", "supervisor", "executive"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::NAMES.iter().position(|n| *n == text).map(|i| Self::ALL[i])
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }
}

/// The kind of a shared identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum IdentifierKind {
    Phone = 0,
    Email = 1,
    Address = 2,
    Device = 3,
    Ip = 4,
    BankAccount = 5,
    Other = 6,
}

impl IdentifierKind {
    pub const ALL: [IdentifierKind; 7] = [
        IdentifierKind::Phone,
        IdentifierKind::Email,
        IdentifierKind::Address,
        IdentifierKind::Device,
        IdentifierKind::Ip,
        IdentifierKind::BankAccount,
        IdentifierKind::Other,
    ];
    pub const NAMES: [&'static str; 7] = ["phone", "email", "address", "device", "ip", "bank_account", "other"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::NAMES.iter().position(|n| *n == text).map(|i| Self::ALL[i])
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_aliases_parse() {
        assert_eq!(Relation::parse("transfers"), Some(Relation::Transfer));
        assert_eq!(Relation::parse("transfer"), Some(Relation::Transfer));
        assert_eq!(Relation::parse("supply"), Some(Relation::Supply));
        assert_eq!(Relation::parse("supply_links"), Some(Relation::Supply));
        assert_eq!(Relation::parse("guarantee"), Some(Relation::Guarantee));
        assert_eq!(Relation::parse("nonsense"), None);
    }

    #[test]
    fn kind_sets_describe_themselves() {
        let set = KindSet::of(&[NodeKind::Firm, NodeKind::Person]);
        assert!(set.contains(NodeKind::Firm));
        assert!(!set.contains(NodeKind::Loan));
        assert_eq!(set.describe(), "firm or person");
    }
}
