//! The output contract holds: every table `ekg score`, `ekg run rings` and `ekg prospects` write
//! has exactly the documented columns, in order, each with its meaning in the Parquet field
//! metadata, and `tables.md` documents every table of the score folder.

use std::path::Path;

use super::{ekg, sample, text};

/// (column, description) of a Parquet file's schema.
fn schema(path: &Path) -> Vec<(String, Option<String>)> {
    let file = std::fs::File::open(path).unwrap_or_else(|_| panic!("{} missing", path.display()));
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
    builder.schema().fields().iter().map(|f| (f.name().clone(), f.metadata().get("description").cloned())).collect()
}

#[test]
fn every_table_has_its_documented_columns_with_their_meanings() {
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("scores");
    let graph = sample();
    let result = ekg(&["score", &graph, "--out", out.to_str().unwrap_or_default()]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let prospects = dir.path().join("prospects.parquet");
    let result = ekg(&["prospects", "--graph", &graph, "--core-top", "3", "--out", prospects.to_str().unwrap_or_default()]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let dictionary = std::fs::read_to_string(out.join("tables.md")).expect("tables.md");
    let documented = [
        ("flags.parquet", vec!["node_id", "flag", "severity", "reason", "ring_id", "path"]),
        (
            "rings.parquet",
            vec!["ring_id", "case_id", "kind", "score", "size", "members", "first_ts", "last_ts", "total_amount", "explanation"],
        ),
        ("ring_edges.parquet", vec!["ring_id", "src_id", "dst_id", "relation", "amount", "ts", "identifier"]),
        ("ring_nodes.parquet", vec!["node_id", "kind", "ring_count", "max_ring_score", "ring_kinds"]),
        (
            "cases.parquet",
            vec![
                "case_id",
                "lead_kind",
                "rank",
                "in_capacity",
                "lead_ring_id",
                "lead_score",
                "ring_kinds",
                "ring_ids",
                "size",
                "entities",
                "explanation",
            ],
        ),
        ("communities.parquet", vec!["node_id", "kind", "community"]),
        ("groups.parquet", vec!["node_id", "group_id", "group_size", "group_exposure", "anchor_id", "reason"]),
        (
            "prospects.parquet",
            vec![
                "rank",
                "node_id",
                "core_id",
                "position",
                "hops",
                "chain",
                "supply_volume",
                "size_class",
                "size_basis",
                "tenure_days",
                "ppr",
                "ppr_percentile",
                "flags",
                "score",
                "reason",
            ],
        ),
    ];
    for (file, columns) in documented {
        let found = schema(&out.join(file));
        assert_eq!(found.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), columns, "{file}");
        for (column, meaning) in &found {
            assert!(meaning.as_deref().is_some_and(|m| m.len() > 3), "{file}.{column} has no description");
            assert!(dictionary.contains(&format!("| `{column}` |")), "tables.md lacks {file}.{column}");
        }
        assert!(dictionary.contains(&format!("## {file}")), "tables.md lacks {file}");
    }
    let found = schema(&prospects);
    assert_eq!(found.first().map(|c| c.0.as_str()), Some("rank"));
    assert!(found.iter().all(|c| c.1.is_some()), "{found:?}");
}
