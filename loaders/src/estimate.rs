//! Predicting a build's memory from the inputs' row counts, before anything is decoded, so that a
//! run that cannot fit is refused up front instead of dying at 3 a.m.

use ekg_schema::contract::TableKind;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::source::count_rows;

/// Assumed average external id length (unified social credit codes and ID numbers are 18).
pub const AVG_ID_BYTES: u64 = 20;

/// Row counts and the memory they imply.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MemoryEstimate {
    pub nodes: u64,
    pub relations: u64,
    /// The finished graph (what a snapshot holds).
    pub graph_bytes: u64,
    /// The build's high-water mark: graph plus the largest relation's build buffers and decoded
    /// input batches.
    pub peak_bytes: u64,
    pub rows: Vec<(String, u64)>,
}

/// Bytes per node of each node table (id map, attributes, adjacency offsets it takes part in).
fn node_bytes(kind: TableKind) -> u64 {
    let id_map = AVG_ID_BYTES + 4 + 6;
    id_map
        + match kind {
            TableKind::Firms => 40 + 12 + 24 + 5 + 48,
            TableKind::Persons => 14 + 36,
            TableKind::Accounts => 9 + 24,
            _ => 17 + 16,
        }
}

/// Bytes per edge in the finished graph: forward and reverse target, reverse edge id, attributes.
fn edge_bytes(kind: TableKind) -> u64 {
    12 + match kind {
        TableKind::Transfers => 16,
        TableKind::Guarantees => 16,
        TableKind::Shareholdings | TableKind::SupplyLinks => 8,
        TableKind::Officers => 1,
        TableKind::Identifiers => 0,
        _ => 0,
    }
}

/// The estimate for known row counts.
pub fn estimate_from_rows(rows: &[(TableKind, u64)]) -> MemoryEstimate {
    let mut e = MemoryEstimate::default();
    let mut largest_relation = 0u64;
    for &(kind, count) in rows {
        e.rows.push((kind.name().to_string(), count));
        match kind {
            TableKind::Firms | TableKind::Persons | TableKind::Accounts | TableKind::Loans => {
                e.nodes += count;
                e.graph_bytes += count * node_bytes(kind);
                // Accounts and loans also make one or two relation edges each.
                if kind != TableKind::Firms && kind != TableKind::Persons {
                    e.relations += count;
                    e.graph_bytes += count * 12;
                }
            }
            _ => {
                e.relations += count;
                e.graph_bytes += count * edge_bytes(kind);
                largest_relation = largest_relation.max(count * (edge_bytes(kind) + 20));
            }
        }
    }
    // Input batches in flight: a few row groups of string ids per thread.
    let decode_buffers = 256 << 20;
    e.peak_bytes = e.graph_bytes + largest_relation + decode_buffers;
    e
}

/// Counts rows (Parquet metadata, or newlines for CSV) and estimates.
pub fn estimate_dataset(dataset: &Dataset) -> Result<MemoryEstimate> {
    let mut rows = Vec::new();
    for table in &dataset.tables {
        rows.push((table.kind, count_rows(table)?));
    }
    Ok(estimate_from_rows(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_grows_with_rows_and_counts_the_largest_relation() {
        let small = estimate_from_rows(&[(TableKind::Firms, 1_000), (TableKind::Transfers, 10_000)]);
        let large = estimate_from_rows(&[(TableKind::Firms, 1_000_000), (TableKind::Transfers, 10_000_000)]);
        assert_eq!(large.nodes, 1_000_000);
        assert_eq!(large.relations, 10_000_000);
        assert!(large.graph_bytes > 900 * small.graph_bytes);
        assert!(large.peak_bytes > large.graph_bytes + 10_000_000 * 28);
    }
}
