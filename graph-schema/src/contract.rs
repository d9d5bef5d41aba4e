//! The input contract: which tables a dataset may hold, their columns, types and constraints.
//!
//! This is the user's interface (documented in `graph-schema/README.md`); loaders validate every
//! row against it, and `ekg validate` reports each violation by file, row and column.

use crate::kinds::{IdentifierKind, OfficerRole};

/// The tables of a dataset, in load order: node tables first so that edge endpoints resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableKind {
    Firms,
    Persons,
    Accounts,
    Loans,
    Shareholdings,
    Officers,
    Transfers,
    Guarantees,
    SupplyLinks,
    Identifiers,
}

/// The logical type of a column; loaders accept every common physical encoding of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// An entity id: any string or integer type; trimmed and NFKC-normalised.
    Id,
    /// Free text.
    Text,
    /// A float; integers and decimal text are accepted.
    F64,
    /// A calendar date (Parquet date32/date64/timestamp, or `YYYY-MM-DD` text).
    Date,
    /// An instant in UTC (Parquet timestamp of any unit, date, or ISO-8601 text).
    Timestamp,
    /// true/false (also 1/0, yes/no in text).
    Bool,
    /// One of a fixed list of lowercase names.
    Enum(&'static [&'static str]),
}

impl ColumnType {
    pub fn describe(self) -> String {
        match self {
            ColumnType::Id => "id (utf8 or integer)".into(),
            ColumnType::Text => "utf8".into(),
            ColumnType::F64 => "float64".into(),
            ColumnType::Date => "date".into(),
            ColumnType::Timestamp => "timestamp".into(),
            ColumnType::Bool => "bool".into(),
            ColumnType::Enum(names) => format!("one of {}", names.join("|")),
        }
    }
}

/// The largest magnitude of any number in the input: a quadrillion, above any amount, capital or
/// volume a lender records, and small enough that sums over billions of rows stay finite (a value
/// near `f64::MAX` would turn every sum it enters into infinity).
pub const MAX_MAGNITUDE: f64 = 1e15;

/// A value constraint checked per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    None,
    /// finite and ≥ 0
    NonNegative,
    /// finite and > 0
    Positive,
    /// in [0, 1]
    Probability,
    /// in (0, 1]
    Share,
}

impl Constraint {
    /// Returns the violated rule's description, if `value` breaks it.
    pub fn check(self, value: f64) -> Option<&'static str> {
        if !value.is_finite() {
            return Some("must be a finite number");
        }
        if value.abs() > MAX_MAGNITUDE {
            return Some("must be at most 1e15 in magnitude (so that sums over a billion rows stay finite)");
        }
        match self {
            Constraint::None => None,
            Constraint::NonNegative if value < 0.0 => Some("must be ≥ 0"),
            Constraint::Positive if value <= 0.0 => Some("must be > 0"),
            Constraint::Probability if !(0.0..=1.0).contains(&value) => Some("must be in [0, 1]"),
            Constraint::Share if !(value > 0.0 && value <= 1.0) => Some("must be in (0, 1] (a fraction, not a percentage)"),
            _ => None,
        }
    }
}

/// One column of a table contract.
#[derive(Clone, Copy, Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColumnType,
    /// The column must be present.
    pub required: bool,
    /// Null values are allowed (an optional value).
    pub nullable: bool,
    pub constraint: Constraint,
}

const fn col(name: &'static str, ty: ColumnType, required: bool, nullable: bool, constraint: Constraint) -> ColumnSpec {
    ColumnSpec { name, ty, required, nullable, constraint }
}

use ColumnType as T;
use Constraint as C;

pub const ROLE_NAMES: &[&str] = &OfficerRole::NAMES;
pub const IDENTIFIER_KIND_NAMES: &[&str] = &IdentifierKind::NAMES;

/// A table's contract.
#[derive(Debug)]
pub struct TableSpec {
    pub kind: TableKind,
    /// File stem: `firms` for `firms.parquet` / `firms.csv`.
    pub name: &'static str,
    pub columns: &'static [ColumnSpec],
    /// The column holding the table's unique key, for node tables.
    pub key: Option<&'static str>,
}

impl TableSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

pub static FIRMS: TableSpec = TableSpec {
    kind: TableKind::Firms,
    name: "firms",
    key: Some("firm_id"),
    columns: &[
        col("firm_id", T::Id, true, false, C::None),
        col("name", T::Text, false, true, C::None),
        col("industry", T::Text, false, true, C::None),
        col("region", T::Text, false, true, C::None),
        col("registered_capital", T::F64, false, true, C::NonNegative),
        col("founded", T::Date, false, true, C::None),
        col("status", T::Text, false, true, C::None),
        col("defaulted", T::Bool, false, true, C::None),
        col("defaulted_on", T::Date, false, true, C::None),
        col("exposure", T::F64, false, true, C::NonNegative),
        col("pd", T::F64, false, true, C::Probability),
        // The 2011 SME classification's size indicators (see ekg_algorithms::lending::sme).
        col("employees", T::F64, false, true, C::NonNegative),
        col("revenue", T::F64, false, true, C::NonNegative),
        col("total_assets", T::F64, false, true, C::NonNegative),
    ],
};

pub static PERSONS: TableSpec = TableSpec {
    kind: TableKind::Persons,
    name: "persons",
    key: Some("person_id"),
    columns: &[col("person_id", T::Id, true, false, C::None), col("name", T::Text, false, true, C::None)],
};

pub static ACCOUNTS: TableSpec = TableSpec {
    kind: TableKind::Accounts,
    name: "accounts",
    key: Some("account_id"),
    columns: &[
        col("account_id", T::Id, true, false, C::None),
        col("owner_id", T::Id, true, true, C::None),
        col("opened", T::Timestamp, false, true, C::None),
        col("blocked", T::Bool, false, true, C::None),
    ],
};

pub static LOANS: TableSpec = TableSpec {
    kind: TableKind::Loans,
    name: "loans",
    key: Some("loan_id"),
    columns: &[
        col("loan_id", T::Id, true, false, C::None),
        col("borrower_id", T::Id, true, false, C::None),
        col("amount", T::F64, true, false, C::Positive),
        col("disbursed", T::Timestamp, true, false, C::None),
        col("deposit_account_id", T::Id, false, true, C::None),
        col("defaulted", T::Bool, false, true, C::None),
        col("defaulted_on", T::Date, false, true, C::None),
    ],
};

pub static SHAREHOLDINGS: TableSpec = TableSpec {
    kind: TableKind::Shareholdings,
    name: "shareholdings",
    key: None,
    columns: &[
        col("holder_id", T::Id, true, false, C::None),
        col("firm_id", T::Id, true, false, C::None),
        col("share", T::F64, true, false, C::Share),
        col("valid_from", T::Date, false, true, C::None),
        col("valid_to", T::Date, false, true, C::None),
    ],
};

pub static OFFICERS: TableSpec = TableSpec {
    kind: TableKind::Officers,
    name: "officers",
    key: None,
    columns: &[
        col("person_id", T::Id, true, false, C::None),
        col("firm_id", T::Id, true, false, C::None),
        col("role", T::Enum(ROLE_NAMES), true, false, C::None),
        col("valid_from", T::Date, false, true, C::None),
        col("valid_to", T::Date, false, true, C::None),
    ],
};

pub static TRANSFERS: TableSpec = TableSpec {
    kind: TableKind::Transfers,
    name: "transfers",
    key: None,
    columns: &[
        col("src_id", T::Id, true, false, C::None),
        col("dst_id", T::Id, true, false, C::None),
        col("amount", T::F64, true, false, C::Positive),
        col("ts", T::Timestamp, true, false, C::None),
    ],
};

pub static GUARANTEES: TableSpec = TableSpec {
    kind: TableKind::Guarantees,
    name: "guarantees",
    key: None,
    columns: &[
        col("guarantor_id", T::Id, true, false, C::None),
        col("borrower_id", T::Id, true, false, C::None),
        col("amount", T::F64, false, true, C::Positive),
        col("start", T::Date, false, true, C::None),
        col("end", T::Date, false, true, C::None),
    ],
};

pub static SUPPLY_LINKS: TableSpec = TableSpec {
    kind: TableKind::SupplyLinks,
    name: "supply_links",
    key: None,
    columns: &[
        col("supplier_id", T::Id, true, false, C::None),
        col("customer_id", T::Id, true, false, C::None),
        col("volume", T::F64, false, true, C::NonNegative),
        col("valid_from", T::Date, false, true, C::None),
        col("valid_to", T::Date, false, true, C::None),
    ],
};

pub static IDENTIFIERS: TableSpec = TableSpec {
    kind: TableKind::Identifiers,
    name: "identifiers",
    key: None,
    columns: &[
        col("entity_id", T::Id, true, false, C::None),
        col("kind", T::Enum(IDENTIFIER_KIND_NAMES), true, false, C::None),
        col("value", T::Id, true, false, C::None),
        col("valid_from", T::Date, false, true, C::None),
        col("valid_to", T::Date, false, true, C::None),
    ],
};

/// Every table, in load order.
pub static TABLES: [&TableSpec; 10] =
    [&FIRMS, &PERSONS, &ACCOUNTS, &LOANS, &SHAREHOLDINGS, &OFFICERS, &TRANSFERS, &GUARANTEES, &SUPPLY_LINKS, &IDENTIFIERS];

/// What a table's rows become in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableRows {
    Nodes(crate::NodeKind),
    Edges(crate::Relation),
    /// Links from entities to identifier values.
    Identifiers,
}

impl TableKind {
    /// Every table says what its rows become, with no default arm: a new table kind must say it.
    pub fn rows(self) -> TableRows {
        use crate::{NodeKind, Relation};
        match self {
            TableKind::Firms => TableRows::Nodes(NodeKind::Firm),
            TableKind::Persons => TableRows::Nodes(NodeKind::Person),
            TableKind::Accounts => TableRows::Nodes(NodeKind::Account),
            TableKind::Loans => TableRows::Nodes(NodeKind::Loan),
            TableKind::Shareholdings => TableRows::Edges(Relation::Shareholding),
            TableKind::Officers => TableRows::Edges(Relation::Officer),
            TableKind::Transfers => TableRows::Edges(Relation::Transfer),
            TableKind::Guarantees => TableRows::Edges(Relation::Guarantee),
            TableKind::SupplyLinks => TableRows::Edges(Relation::Supply),
            TableKind::Identifiers => TableRows::Identifiers,
        }
    }

    pub fn spec(self) -> &'static TableSpec {
        TABLES.iter().find(|t| t.kind == self).copied().unwrap_or(&FIRMS)
    }

    /// Tables whose rows are nodes (the others are relations).
    pub fn is_node_table(self) -> bool {
        matches!(self.rows(), TableRows::Nodes(_))
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn from_name(name: &str) -> Option<TableKind> {
        TABLES.iter().find(|t| t.name == name).map(|t| t.kind)
    }
}

/// Feature columns of the transfer amounts, in the order `[out total, out 30 d, out 90 d,
/// out 365 d, in total, in 30 d, in 90 d, in 365 d]`, with their descriptions: written alike by
/// the single-process job and the distributed stages.
pub const TRANSFER_AMOUNT_FEATURES: [(&str, &str); 8] = [
    ("transfer_out_amount", "Σ amounts paid (own and owned accounts' transfers)."),
    ("transfer_out_30d", "Σ amounts paid in the 30 days up to as_of."),
    ("transfer_out_90d", "Σ amounts paid in the 90 days up to as_of."),
    ("transfer_out_365d", "Σ amounts paid in the 365 days up to as_of."),
    ("transfer_in_amount", "Σ amounts received (own and owned accounts' transfers)."),
    ("transfer_in_30d", "Σ amounts received in the 30 days up to as_of."),
    ("transfer_in_90d", "Σ amounts received in the 90 days up to as_of."),
    ("transfer_in_365d", "Σ amounts received in the 365 days up to as_of."),
];

/// The window lengths of [`TRANSFER_AMOUNT_FEATURES`] in days (0: every transfer).
pub const TRANSFER_WINDOW_DAYS: [i64; 4] = [0, 30, 90, 365];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_kind_has_its_spec() {
        for spec in TABLES {
            assert_eq!(spec.kind.spec().name, spec.name);
            assert_eq!(TableKind::from_name(spec.name), Some(spec.kind));
        }
    }

    #[test]
    fn constraints_reject_what_the_contract_forbids() {
        assert!(Constraint::Share.check(0.0).is_some());
        assert!(Constraint::Share.check(1.0).is_none());
        assert!(Constraint::Share.check(30.0).is_some());
        assert!(Constraint::Positive.check(0.0).is_some());
        assert!(Constraint::Positive.check(f64::NAN).is_some());
        assert!(Constraint::NonNegative.check(f64::INFINITY).is_some());
        assert!(Constraint::NonNegative.check(0.0).is_none());
        assert!(Constraint::Probability.check(1.01).is_some());
        assert!(Constraint::None.check(1e15).is_none());
        assert!(Constraint::NonNegative.check(f64::MAX / 2.0).is_some());
        assert!(Constraint::None.check(-2e15).is_some());
    }
}
