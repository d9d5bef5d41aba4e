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

/// The float columns of a Parquet file holding a NaN: a missing number must be null, since NaN
/// passes unnoticed through most readers' aggregates and comparisons.
fn columns_with_nan(path: &Path) -> Vec<String> {
    use arrow_array::{cast::AsArray, types::Float64Type};
    let file = std::fs::File::open(path).unwrap_or_else(|_| panic!("{} missing", path.display()));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()).expect("parquet");
    let mut found = Vec::new();
    for batch in reader {
        let batch = batch.expect("batch");
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let nan = column.as_primitive_opt::<Float64Type>().is_some_and(|x| x.iter().flatten().any(f64::is_nan));
            if nan && !found.contains(field.name()) {
                found.push(field.name().clone());
            }
        }
    }
    found
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
        ("flags.parquet", vec!["node_id", "flag", "severity", "reason", "ring_id", "path", "first_seen", "nights_seen"]),
        (
            "rings.parquet",
            vec![
                "ring_id",
                "case_id",
                "kind",
                "score",
                "size",
                "members",
                "first_ts",
                "last_ts",
                "total_amount",
                "explanation",
                "first_seen",
                "nights_seen",
                "previous_ring_id",
            ],
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
                "cluster_id",
            ],
        ),
        (
            "clusters.parquet",
            vec![
                "cluster_id",
                "region",
                "core_id",
                "core_name",
                "size",
                "links",
                "industries",
                "defaulted",
                "default_rate",
                "borrowers",
                "penetration",
                "members",
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
        assert_eq!(columns_with_nan(&out.join(file)), Vec::<String>::new(), "{file}: NaN where null is meant");
    }
    assert_eq!(columns_with_nan(&out.join("features.parquet")), Vec::<String>::new(), "features.parquet");
    let found = schema(&prospects);
    assert_eq!(found.first().map(|c| c.0.as_str()), Some("rank"));
    assert!(found.iter().all(|c| c.1.is_some()), "{found:?}");
}

/// A table file and its columns in order.
type Documented = (&'static str, Vec<&'static str>);

/// `ekg run` writes its tables under the same contract: the columns the README lists for each
/// algorithm, each described in the Parquet field metadata.
#[test]
fn run_tables_carry_their_documented_columns() {
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("run");
    let graph = sample();
    let node = |value: &[&'static str]| [&["node_id", "kind"][..], value].concat();
    let expected: Vec<(&str, Vec<Documented>)> = vec![
        ("pagerank", vec![("pagerank.parquet", node(&["pagerank"]))]),
        ("ppr", vec![("ppr.parquet", node(&["ppr"]))]),
        ("wcc", vec![("wcc.parquet", node(&["component"]))]),
        ("scc", vec![("scc.parquet", node(&["component"]))]),
        ("lpa", vec![("lpa.parquet", node(&["community"]))]),
        ("louvain", vec![("louvain.parquet", node(&["community"]))]),
        ("leiden", vec![("leiden.parquet", node(&["community"]))]),
        ("triangles", vec![("triangles.parquet", node(&["triangles", "clustering"]))]),
        ("kcore", vec![("kcore.parquet", node(&["core"]))]),
        (
            "ownership",
            vec![
                (
                    "ownership.parquet",
                    vec![
                        "node_id",
                        "ubo_count",
                        "top_ubo_id",
                        "top_ubo_share",
                        "controller_id",
                        "controller_kind",
                        "control_basis",
                        "control_path",
                    ],
                ),
                ("ownership_ubo.parquet", vec!["firm_id", "person_id", "share", "path"]),
            ],
        ),
        ("groups", vec![("groups.parquet", vec!["node_id", "group_id", "group_size", "group_exposure", "anchor_id", "reason"])]),
        (
            "guarantees",
            vec![
                (
                    "guarantees.parquet",
                    vec![
                        "node_id",
                        "kind",
                        "circle_id",
                        "mutual_pairs",
                        "chain_depth",
                        "direct_liability",
                        "transitive_liability",
                        "exposed_to_default",
                        "defaulted",
                    ],
                ),
                ("guarantee_circles.parquet", vec!["circle_id", "size", "members", "total_amount", "defaulted_count", "defaulted_members"]),
            ],
        ),
        ("debtrank", vec![("debtrank.parquet", vec!["node_id", "distress", "systemic_debtrank"])]),
        ("cascade", vec![("cascade.parquet", vec!["node_id", "pd", "cascade_pd", "ci_low", "ci_high", "lift", "contagion_runs"])]),
    ];
    let out_arg = out.to_str().unwrap_or_default();
    for (algorithm, tables) in expected {
        let result = ekg(&["run", algorithm, "--graph", &graph, "--out", out_arg, "--runs", "200"]);
        assert!(result.status.success(), "{algorithm}: {}", text(&result.stderr));
        for (file, columns) in tables {
            let found = schema(&out.join(file));
            assert_eq!(found.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), columns, "{file}");
            for (column, meaning) in &found {
                assert!(meaning.as_deref().is_some_and(|m| m.len() > 3), "{file}.{column} has no description");
            }
            assert_eq!(columns_with_nan(&out.join(file)), Vec::<String>::new(), "{file}: NaN where null is meant");
        }
    }
}
