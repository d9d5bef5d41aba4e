//! `ekg-schema`: the data contract and the frozen in-memory graph.
//!
//! - [`contract`]: the tables a dataset may hold, their columns, types and constraints.
//! - [`kinds`]: node ids, node kinds, relations and enumerated attribute values.
//! - [`graph`]: the graph (id map, kind ranges, node attribute columns, a forward and reverse CSR
//!   per relation with edge attribute columns, shared identifiers), built by [`builder`].
//! - [`as_of`]: the graph as it stood at one instant (no later entity, edge or default).
//! - [`memory`]: huge-page-backed vectors for large random-access arrays.
//! - [`blocks`]: per-node result columns that store only what differs from null or zero, in memory or spilled to an unnamed file.
//! - [`column`]: read-only arrays owned or mapped (from a snapshot, or spilled to an unnamed file, as string pools can be).
//! - [`pii`]: the personal-data policy (what is masked, pseudonymised or shown).
//! - [`snapshot`]: the versioned, checksummed, memory-mapped binary form of the graph.
//!
//! This crate does no parsing of input files (that is `ekg-loaders`) and runs no analytics (that
//! is `ekg-algorithms`); both depend on it, never on each other.

pub mod as_of;
pub mod blocks;
pub mod builder;
pub mod column;
pub mod contract;
pub mod csr;
pub mod error;
pub mod graph;
pub mod kinds;
pub mod memory;
pub mod pii;
pub mod snapshot;
pub mod strings;

/// Microseconds in a day: timestamps are µs since the epoch, dates are days.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

pub use builder::{EdgeList, FirmRow, GraphBuilder};
pub use column::Column;
pub use csr::Csr;
pub use error::{Error, Result};
pub use graph::{Graph, RelationStore, BOOL_FALSE, BOOL_NULL, BOOL_TRUE, DATE_NULL, TS_NULL};
pub use kinds::{IdentifierKind, KindSet, NodeId, NodeKind, OfficerRole, Relation};
