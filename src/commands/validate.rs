//! `ekg validate`: every problem of a dataset, by file, row and column.

use anyhow::Result;
use ekg_loaders::OnError;

use crate::cli::ValidateArgs;
use crate::exit::{coded, DATA};
use crate::input::{load_dataset, load_options};

pub fn run(args: &ValidateArgs) -> Result<()> {
    // Skip mode collects every problem without stopping at the first table.
    let options = load_options(&args.load, OnError::Skip)?;
    let (graph, report) = load_dataset(&args.dataset, args.load.format, &options)?;
    let problems = &report.problems;
    if args.json {
        let per_rule: Vec<_> = problems
            .counts()
            .iter()
            .map(|((table, rule), n)| serde_json::json!({"table": table, "rule": rule.as_str(), "count": n}))
            .collect();
        let shown: Vec<_> = problems.problems().iter().take(args.show).map(|p| {
            serde_json::json!({"table": p.table, "path": p.path.as_ref(), "row": p.row, "column": p.column, "rule": p.rule.as_str(), "message": p.message})
        }).collect();
        println!(
            "{}",
            serde_json::json!({
                "valid": problems.is_empty(),
                "problems": problems.total(),
                "by_rule": per_rule,
                "first_problems": shown,
                "tables": report.tables,
                "notices": problems.notices,
                "warnings": problems.warnings.len(),
                "first_warnings": problems.warnings.iter().take(args.show).map(|p| p.to_string()).collect::<Vec<_>>(),
                "ignored_files": report.ignored_files,
                "normalized_values": report.normalized_values,
                "deduplicated_rows": report.deduplicated_rows,
                "nodes": graph.node_count(),
                "relations": graph.total_edge_count(),
            })
        );
    } else {
        println!("{:<16} {:>12} {:>12} {:>10}  file", "table", "rows", "accepted", "rejected");
        for t in &report.tables {
            println!("{:<16} {:>12} {:>12} {:>10}  {}", t.table, t.rows, t.accepted, t.rejected, t.path.display());
        }
        for notice in &problems.notices {
            println!("notice: {notice}");
        }
        for file in &report.ignored_files {
            println!("notice: {} is not a table of the contract; ignored", file.display());
        }
        if !problems.warnings.is_empty() {
            println!("warning: {} link rows dropped, their entities kept:", problems.warnings.len());
            for w in problems.warnings.iter().take(args.show) {
                println!("  {w}");
            }
        }
        if report.normalized_values > 0 {
            println!("notice: {} ids or identifier values trimmed or NFKC-normalised", report.normalized_values);
        }
        if report.deduplicated_rows > 0 {
            println!("warning: {} node rows repeated an earlier row exactly and were dropped", report.deduplicated_rows);
        }
        for ((table, rule), n) in problems.counts() {
            println!("{table}: {n} × {}", rule.as_str());
        }
        for p in problems.problems().iter().take(args.show) {
            println!("{p}");
        }
        if problems.total() as usize > args.show {
            println!("… {} more (raise --show or use --json)", problems.total() as usize - args.show);
        }
    }
    if problems.is_empty() {
        if !args.json {
            println!("valid: {} nodes, {} relations", graph.node_count(), graph.total_edge_count());
        }
        Ok(())
    } else {
        Err(coded(DATA, format!("{}: {} data problem(s)", args.dataset.display(), problems.total())))
    }
}
