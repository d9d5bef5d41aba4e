//! `ekg export GRAPH --format neo4j|kuzu --out DIR`: the whole graph for a graph database, from
//! a snapshot or dataset, ids under the personal-data policy (as every output: `--reveal-pii`
//! shows them).
//!
//! - `neo4j`: neo4j-admin import CSVs: one node file per kind (`id:ID`, typed properties,
//!   `:LABEL`), one relationship file per relation (`:START_ID`, `:END_ID`, `:TYPE`, typed
//!   properties), and `import.sh` with the `neo4j-admin database import full` command.
//! - `kuzu`: one Parquet file per node kind and per (relation, source kind, target kind), with
//!   `schema.cypher` (the node and relationship tables) and `copy.cypher` (the COPY statements).
//!
//! Tables are built one at a time, so memory beyond the graph is that of the largest table.
//! Shared identifiers (phones, addresses, devices) are not exported: they are personal data.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use ekg_schema::graph::AttrColumn;
use ekg_schema::{Graph, NodeId, NodeKind, Relation, BOOL_TRUE, DATE_NULL, TS_NULL};

use crate::cli::{ExportArgs, ExportFormat};
use crate::exit::{coded, IO};
use crate::output::{OutputKind, Target, EXPORT_MARKER};
use crate::progress::Phase;
use crate::table::Table;

/// A property's values, one per row; `None` or NaN is null.
enum Values {
    Text(Vec<Option<String>>),
    Double(Vec<f64>),
    Bool(Vec<Option<bool>>),
    /// Days since the epoch.
    Date(Vec<Option<i32>>),
    /// Microseconds since the epoch, UTC.
    Timestamp(Vec<Option<i64>>),
}

impl Values {
    fn neo4j_type(&self) -> &'static str {
        match self {
            Values::Text(_) => "",
            Values::Double(_) => ":double",
            Values::Bool(_) => ":boolean",
            Values::Date(_) => ":date",
            Values::Timestamp(_) => ":datetime",
        }
    }

    fn kuzu_type(&self) -> &'static str {
        match self {
            Values::Text(_) => "STRING",
            Values::Double(_) => "DOUBLE",
            Values::Bool(_) => "BOOLEAN",
            Values::Date(_) => "DATE",
            Values::Timestamp(_) => "TIMESTAMP",
        }
    }

    /// Row `i` as neo4j-admin reads it (empty: null).
    fn csv(&self, i: usize) -> String {
        match self {
            Values::Text(v) => v[i].clone().unwrap_or_default(),
            Values::Double(v) if v[i].is_finite() => v[i].to_string(),
            Values::Double(_) => String::new(),
            Values::Bool(v) => v[i].map(|b| b.to_string()).unwrap_or_default(),
            Values::Date(v) => v[i].and_then(date).unwrap_or_default(),
            Values::Timestamp(v) => v[i]
                .and_then(chrono::DateTime::from_timestamp_micros)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                .unwrap_or_default(),
        }
    }

    fn add_to(&self, table: Table, name: &str) -> Table {
        match self {
            Values::Text(v) => table.utf8_opt(name, v.iter().map(|x| x.as_deref())),
            Values::Double(v) => table.f64_nan_null(name, v.iter().copied()),
            Values::Bool(v) => table.bool_opt(name, v.iter().copied()),
            Values::Date(v) => table.date_opt(name, v.iter().copied()),
            Values::Timestamp(v) => table.timestamp_opt(name, v.iter().copied()),
        }
    }
}

fn date(days: i32) -> Option<String> {
    chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163).map(|d| d.to_string())
}

/// Rows of one node kind or one (relation, source kind, target kind).
struct Rows {
    /// Node tables: the node; relationship tables: (source, target).
    ends: Vec<(u32, Option<u32>)>,
    properties: Vec<(&'static str, Values)>,
}

fn label(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Firm => "Firm",
        NodeKind::Person => "Person",
        NodeKind::Account => "Account",
        NodeKind::Loan => "Loan",
    }
}

fn flag(code: u8) -> Option<bool> {
    (code <= BOOL_TRUE).then_some(code == BOOL_TRUE)
}

fn node_rows(graph: &Graph, kind: NodeKind) -> Rows {
    let range = graph.kind_range(kind);
    let local = |v: u32| (v - range.start) as usize;
    let ids: Vec<u32> = range.clone().collect();
    let f64s = |c: &[f64]| ids.iter().map(|&v| c.get(local(v)).copied().unwrap_or(f64::NAN)).collect::<Vec<_>>();
    let dates = |c: &[i32]| ids.iter().map(|&v| c.get(local(v)).copied().filter(|&d| d != DATE_NULL)).collect::<Vec<_>>();
    let times = |c: &[i64]| ids.iter().map(|&v| c.get(local(v)).copied().filter(|&t| t != TS_NULL)).collect::<Vec<_>>();
    let flags = |c: &[u8]| ids.iter().map(|&v| c.get(local(v)).copied().and_then(flag)).collect::<Vec<_>>();
    let properties = match kind {
        NodeKind::Firm => {
            let f = &graph.firms;
            let text = |get: &dyn Fn(usize) -> Option<String>| ids.iter().map(|&v| get(local(v))).collect::<Vec<_>>();
            vec![
                ("name", Values::Text(text(&|i| Some(f.name.get(i).to_string()).filter(|s| !s.is_empty())))),
                ("industry", Values::Text(text(&|i| f.industry.get(i).map(str::to_string)))),
                ("region", Values::Text(text(&|i| f.region.get(i).map(str::to_string)))),
                ("status", Values::Text(text(&|i| f.status.get(i).map(str::to_string)))),
                ("registered_capital", Values::Double(f64s(&f.registered_capital))),
                ("founded", Values::Date(dates(&f.founded))),
                ("defaulted", Values::Bool(flags(&f.defaulted))),
                ("defaulted_on", Values::Date(dates(&f.defaulted_on))),
                ("exposure", Values::Double(f64s(&f.exposure))),
                ("pd", Values::Double(f64s(&f.pd))),
                ("employees", Values::Double(f64s(&f.employees))),
                ("revenue", Values::Double(f64s(&f.revenue))),
                ("total_assets", Values::Double(f64s(&f.total_assets))),
            ]
        }
        NodeKind::Person => {
            let p = &graph.persons;
            vec![("name", Values::Text(ids.iter().map(|&v| Some(p.name.get(local(v)).to_string()).filter(|s| !s.is_empty())).collect()))]
        }
        NodeKind::Account => {
            vec![("opened", Values::Timestamp(times(&graph.accounts.opened))), ("blocked", Values::Bool(flags(&graph.accounts.blocked)))]
        }
        NodeKind::Loan => {
            let l = &graph.loans;
            vec![
                ("amount", Values::Double(f64s(&l.amount))),
                ("disbursed", Values::Timestamp(times(&l.disbursed))),
                ("defaulted", Values::Bool(flags(&l.defaulted))),
                ("defaulted_on", Values::Date(dates(&l.defaulted_on))),
            ]
        }
    };
    Rows { ends: ids.iter().map(|&v| (v, None)).collect(), properties }
}

/// A relation's edges split by the kinds at their ends (Kùzu tables join two node tables).
fn relation_rows(graph: &Graph, relation: Relation) -> Vec<((NodeKind, NodeKind), Rows)> {
    let store = graph.relation(relation);
    let row_start = store.forward.row_start();
    let mut edges: Vec<(u32, u32, usize)> = Vec::with_capacity(store.edge_count());
    for (row, w) in store.forward.offsets().windows(2).enumerate() {
        for e in w[0] as usize..w[1] as usize {
            edges.push((row_start + row as u32, store.forward.targets()[e].0, e));
        }
    }
    let mut pairs: Vec<(NodeKind, NodeKind)> = edges.iter().map(|&(s, t, _)| (graph.kind(NodeId(s)), graph.kind(NodeId(t)))).collect();
    pairs.sort_by_key(|&(a, b)| (a as u8, b as u8));
    pairs.dedup();
    pairs
        .into_iter()
        .map(|pair| {
            let chosen: Vec<&(u32, u32, usize)> =
                edges.iter().filter(|&&(s, t, _)| (graph.kind(NodeId(s)), graph.kind(NodeId(t))) == pair).collect();
            let properties = store
                .attrs
                .iter()
                .map(|(name, column)| {
                    let values = match column {
                        AttrColumn::F64(c) => Values::Double(chosen.iter().map(|e| c.get(e.2).copied().unwrap_or(f64::NAN)).collect()),
                        AttrColumn::I64(c) => {
                            Values::Timestamp(chosen.iter().map(|e| c.get(e.2).copied().filter(|&t| t != TS_NULL)).collect())
                        }
                        AttrColumn::I32(c) => {
                            Values::Date(chosen.iter().map(|e| c.get(e.2).copied().filter(|&d| d != DATE_NULL)).collect())
                        }
                        AttrColumn::U8(c) => Values::Text(
                            chosen
                                .iter()
                                .map(|e| {
                                    c.get(e.2).map(|&x| {
                                        if *name == "role" {
                                            ekg_schema::OfficerRole::from_code(x).map_or(x.to_string(), |r| r.as_str().to_string())
                                        } else {
                                            x.to_string()
                                        }
                                    })
                                })
                                .collect(),
                        ),
                    };
                    (*name, values)
                })
                .collect();
            (pair, Rows { ends: chosen.iter().map(|&&(s, t, _)| (s, Some(t))).collect(), properties })
        })
        .collect()
}

pub fn run(args: &ExportArgs, quiet: bool) -> Result<()> {
    let target = Target::claim(&args.out, OutputKind::GraphDbDir, args.force)?;
    let phase = Phase::start(quiet, "opening graph");
    // `--format` here is the output format; a dataset folder is read in the contract layout.
    let load = crate::cli::LoadArgs { format: crate::cli::InputFormat::Contract, as_of: None, encoding: crate::cli::EncodingArg::Utf8 };
    let graph = crate::input::open_graph_shown(&args.graph, &load)?;
    phase.finish();
    let phase = Phase::start(quiet, "writing");
    let staged = target.stage_dir()?;
    let dir = staged.path();
    let (mut nodes, mut edges) = (0usize, 0usize);
    let mut script = Script::new(args.format);
    for kind in NodeKind::ALL {
        if graph.kind_count(kind) == 0 {
            continue;
        }
        let rows = node_rows(&graph, kind);
        nodes += rows.ends.len();
        let name = label(kind);
        write_table(&graph, args.format, dir, name, &rows, Holds::Nodes(name))?;
        script.node_table(name, &rows);
    }
    for relation in Relation::ALL {
        for ((from, to), rows) in relation_rows(&graph, relation) {
            edges += rows.ends.len();
            let name = format!("{}_{}_{}", relation.as_str(), label(from), label(to));
            write_table(&graph, args.format, dir, &name, &rows, Holds::Edges(relation))?;
            script.rel_table(&name, label(from), label(to), &rows);
        }
    }
    script.write(dir)?;
    std::fs::write(dir.join(EXPORT_MARKER), "written by ekg export; ekg replaces this folder only while this file is here\n")?;
    let out = staged.commit()?;
    phase.finish();
    println!("wrote {} ({} nodes, {} relationships, {})", out.display(), nodes, edges, args.format.as_str());
    Ok(())
}

/// What a table holds: the nodes of one label, or the edges of one relation.
#[derive(Clone, Copy)]
enum Holds<'a> {
    Nodes(&'a str),
    Edges(Relation),
}

fn write_table(graph: &Graph, format: ExportFormat, dir: &Path, name: &str, rows: &Rows, holds: Holds) -> Result<()> {
    let node_label = match holds {
        Holds::Nodes(l) => Some(l),
        Holds::Edges(_) => None,
    };
    let id = |v: u32| graph.external_id(NodeId(v));
    match format {
        ExportFormat::Kuzu => {
            let mut table = match node_label {
                Some(_) => Table::new().utf8("id", rows.ends.iter().map(|&(v, _)| id(v))),
                None => Table::new()
                    .utf8("from", rows.ends.iter().map(|&(s, _)| id(s)))
                    .utf8("to", rows.ends.iter().map(|&(_, t)| t.map_or("", id))),
            };
            for (name, values) in &rows.properties {
                table = values.add_to(table, name);
            }
            table.write(&dir.join(format!("{name}.parquet")))?;
        }
        ExportFormat::Neo4j => {
            let path = dir.join(format!("{name}.csv"));
            let mut w = csv::Writer::from_path(&path).map_err(|e| coded(IO, format!("cannot write {}: {e}", path.display())))?;
            let mut header: Vec<String> = match node_label {
                // One id space: ids are unique across kinds in the input contract.
                Some(_) => vec!["id:ID".to_string()],
                None => vec![":START_ID".into(), ":END_ID".into(), ":TYPE".into()],
            };
            header.extend(rows.properties.iter().map(|(n, v)| format!("{n}{}", v.neo4j_type())));
            if node_label.is_some() {
                header.push(":LABEL".into());
            }
            w.write_record(&header)?;
            let relation_type = match holds {
                Holds::Edges(r) => r.as_str().to_uppercase(),
                Holds::Nodes(_) => String::new(),
            };
            for (i, &(s, t)) in rows.ends.iter().enumerate() {
                let mut record: Vec<String> = match (node_label, t) {
                    (Some(_), _) => vec![id(s).to_string()],
                    (None, t) => vec![id(s).to_string(), t.map_or(String::new(), |t| id(t).to_string()), relation_type.clone()],
                };
                record.extend(rows.properties.iter().map(|(_, v)| v.csv(i)));
                if let Some(l) = node_label {
                    record.push(l.to_string());
                }
                w.write_record(&record)?;
            }
            w.flush().with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// The loading script of the export: `import.sh` for Neo4j, `schema.cypher` and `copy.cypher`
/// for Kùzu.
struct Script {
    format: ExportFormat,
    schema: String,
    copy: String,
}

impl Script {
    fn new(format: ExportFormat) -> Script {
        Script { format, schema: String::new(), copy: String::new() }
    }

    fn node_table(&mut self, name: &str, rows: &Rows) {
        match self.format {
            ExportFormat::Kuzu => {
                // Quoted: some property names (`end`) are Cypher keywords.
                let columns: Vec<String> = rows.properties.iter().map(|(n, v)| format!("`{n}` {}", v.kuzu_type())).collect();
                let _ = writeln!(self.schema, "CREATE NODE TABLE {name}(id STRING PRIMARY KEY, {});", columns.join(", "));
                let _ = writeln!(self.copy, "COPY {name} FROM '{name}.parquet';");
            }
            ExportFormat::Neo4j => {
                let _ = write!(self.copy, " \\\n  --nodes={name}={name}.csv");
            }
        }
    }

    fn rel_table(&mut self, name: &str, from: &str, to: &str, rows: &Rows) {
        match self.format {
            ExportFormat::Kuzu => {
                let columns: String = rows.properties.iter().map(|(n, v)| format!(", `{n}` {}", v.kuzu_type())).collect();
                let _ = writeln!(self.schema, "CREATE REL TABLE {name}(FROM {from} TO {to}{columns});");
                let _ = writeln!(self.copy, "COPY {name} FROM '{name}.parquet';");
            }
            ExportFormat::Neo4j => {
                let _ = write!(self.copy, " \\\n  --relationships={name}.csv");
            }
        }
    }

    fn write(&self, dir: &Path) -> Result<()> {
        match self.format {
            ExportFormat::Kuzu => {
                std::fs::write(
                    dir.join("schema.cypher"),
                    format!("// written by ekg export: the node and relationship tables\n{}", self.schema),
                )?;
                std::fs::write(
                    dir.join("copy.cypher"),
                    format!("// written by ekg export: run in this folder after schema.cypher\n{}", self.copy),
                )?;
            }
            ExportFormat::Neo4j => {
                let script = format!(
                    "#!/bin/sh\n# written by ekg export: loads this folder into a new Neo4j database (run in this folder,\n# the database stopped; DATABASE defaults to neo4j).\nset -eu\nneo4j-admin database import full \"${{DATABASE:-neo4j}}\" --overwrite-destination{}\n",
                    self.copy
                );
                std::fs::write(dir.join("import.sh"), script)?;
            }
        }
        Ok(())
    }
}
