//! `ekg show node ID` and `ekg show ring RING_ID`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use arrow_array::cast::AsArray;
use ekg_algorithms::ownership::{ownership, HoldingNetwork, OwnershipConfig, NONE};
use ekg_schema::{Graph, NodeId, NodeKind, Relation, BOOL_TRUE, DATE_NULL};
use serde_json::{json, Value};

use arrow_array::Array;

use super::{cell, hops, read_all, read_row, resolve};
use crate::cli::{ShowArgs, ShowWhat};
use crate::exit::{coded, DATA, NO_INPUT};
use crate::input::open_graph_shown;

/// Counterparties shown per relation.
const TOP: usize = 5;

pub fn run(args: &ShowArgs) -> Result<()> {
    let graph = open_graph_shown(&args.graph, &args.load)?;
    let value = match &args.what {
        ShowWhat::Node { id } => node(&graph, id, args.scores.as_deref())?,
        ShowWhat::Ring { ring_id } => ring(&graph, ring_id, args.scores.as_deref())?,
    };
    if args.json {
        println!("{value}");
    } else {
        print_value(&value, 0);
    }
    Ok(())
}

/// Aligned, indented text for nested JSON.
fn print_value(value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            let width = map.keys().map(|k| k.len()).max().unwrap_or(0);
            for (k, v) in map {
                match v {
                    Value::Object(_) => {
                        println!("{pad}{k}:");
                        print_value(v, indent + 2);
                    }
                    Value::Array(items) if items.iter().any(|i| i.is_object()) => {
                        println!("{pad}{k}:");
                        for item in items {
                            print_row(item, indent + 2);
                        }
                    }
                    _ => println!("{pad}{k:<width$}  {}", scalar(v)),
                }
            }
        }
        other => println!("{pad}{}", scalar(other)),
    }
}

fn print_row(item: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match item.as_object() {
        Some(map) => {
            let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}={}", scalar(v))).collect();
            println!("{pad}- {}", parts.join("  "));
        }
        None => println!("{pad}- {}", scalar(item)),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn scores_dir(scores: Option<&Path>) -> Result<Option<&Path>> {
    match scores {
        Some(dir) if !dir.join("features.parquet").is_file() => {
            Err(coded(NO_INPUT, format!("{}: not an ekg score output (no features.parquet)", dir.display())))
        }
        other => Ok(other),
    }
}

/// An entity: who it is, its ownership and control (firms), top counterparties and, with
/// `scores`, its features, flags and rings.
pub fn node(graph: &Graph, id: &str, scores: Option<&Path>) -> Result<Value> {
    let v = resolve(graph, id)?;
    let kind = graph.kind(v);
    // The entity asked about is shown as asked (never masked); its outputs' id beside it when
    // the policy shows it as a pseudonym there.
    let shown_as = graph.external_id(v);
    let mut out = json!({"node_id": id.trim(), "kind": kind.as_str()});
    if shown_as != id.trim() {
        out["shown_in_outputs_as"] = json!(shown_as);
    }
    out["attributes"] = attributes(graph, v);
    if kind == NodeKind::Firm {
        out["ownership"] = ownership_of(graph, v.0);
    }
    out["counterparties"] = counterparties(graph, v.0);
    if let Some(dir) = scores_dir(scores)? {
        if let Some(features) = features_of(dir, graph, v)? {
            out["features"] = Value::Object(features);
        }
        out["flags"] = flags_of(dir, graph.external_id(v))?;
        out["rings"] = rings_of(dir, graph, v.0)?;
    }
    Ok(out)
}

/// A node's features (non-null, as text) from a score folder; None when the folder has no row for it.
pub fn features_of(dir: &Path, graph: &Graph, v: NodeId) -> Result<Option<serde_json::Map<String, Value>>> {
    let Some(batch) = read_row(&dir.join("features.parquet"), v.index())? else { return Ok(None) };
    let schema = batch.schema();
    let row_id = schema.index_of("node_id").ok().and_then(|i| cell(&batch, i, 0));
    if row_id.as_deref() != Some(graph.external_id(v)) {
        return Err(coded(DATA, format!("{}: features do not belong to this graph (row {} is {:?})", dir.display(), v.0, row_id)));
    }
    let mut features = serde_json::Map::new();
    for (i, field) in schema.fields().iter().enumerate().skip(4) {
        if let Some(text) = cell(&batch, i, 0) {
            features.insert(field.name().clone(), json!(text));
        }
    }
    Ok(Some(features))
}

fn attributes(graph: &Graph, v: NodeId) -> Value {
    let i = v.index();
    match graph.kind(v) {
        NodeKind::Firm => {
            let f = &graph.firms;
            let num = |c: &[f64]| c.get(i).copied().filter(|x| x.is_finite());
            json!({
                "name": f.name.get(i),
                "industry": f.industry.get(i),
                "region": f.region.get(i),
                "registered_capital": num(&f.registered_capital),
                "founded": f.founded.get(i).filter(|&&d| d != DATE_NULL).and_then(|&d| chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163)).map(|d| d.to_string()),
                "status": f.status.get(i),
                "defaulted": f.defaulted.get(i).map(|&d| d == BOOL_TRUE),
                "exposure": num(&f.exposure),
                "pd": num(&f.pd),
            })
        }
        NodeKind::Person => json!({"name": graph.persons.name.get(i - graph.kind_range(NodeKind::Person).start as usize)}),
        NodeKind::Account => {
            let owner =
                graph.relation(Relation::AccountOwner).reverse.neighbor_ids(v).first().map(|&o| graph.external_id(NodeId(o)).to_string());
            json!({"owner": owner})
        }
        NodeKind::Loan => {
            let k = i - graph.kind_range(NodeKind::Loan).start as usize;
            json!({
                "amount": graph.loans.amount.get(k),
                "defaulted": graph.loans.defaulted.get(k).map(|&d| d == BOOL_TRUE),
                "borrower": graph.relation(Relation::LoanBorrower).reverse.neighbor_ids(v).first().map(|&b| graph.external_id(NodeId(b)).to_string()),
            })
        }
    }
}

/// UBOs and controller of one firm, from its ancestors only (a local holding network).
fn ownership_of(graph: &Graph, firm: u32) -> Value {
    let store = graph.relation(Relation::Shareholding);
    let share = store.f64_attr("share").unwrap_or(&[]);
    // Ancestors by breadth-first search up the holdings; local ids: firms first, then others.
    let mut index: std::collections::HashMap<u32, u32> = std::collections::HashMap::from([(firm, 0)]);
    let mut seen = vec![firm];
    let mut head = 0;
    let mut edges = Vec::new();
    while head < seen.len() && seen.len() < 100_000 {
        let f = seen[head];
        head += 1;
        let range = store.reverse.range(NodeId(f));
        for (i, h) in range.clone().zip(&store.reverse.targets()[range]) {
            edges.push((h.0, f, share.get(store.reverse_edge[i] as usize).copied().unwrap_or(f64::NAN)));
            if graph.kind(*h) == NodeKind::Firm && !index.contains_key(&h.0) {
                index.insert(h.0, seen.len() as u32);
                seen.push(h.0);
            }
        }
    }
    let firms = seen.len() as u32;
    let mut others: Vec<u32> = edges.iter().map(|e| e.0).filter(|h| !index.contains_key(h)).collect();
    others.sort_unstable();
    others.dedup();
    let local = |v: u32| -> u32 { index.get(&v).copied().unwrap_or_else(|| firms + others.binary_search(&v).map_or(0, |p| p as u32)) };
    let global = |l: u32| -> u32 {
        if l < firms {
            seen[l as usize]
        } else {
            others[(l - firms) as usize]
        }
    };
    let local_edges: Vec<(u32, u32, f64)> = edges.iter().map(|&(h, f, s)| (local(h), local(f), s)).collect();
    let r = ownership(&HoldingNetwork::from_edges(firms, &local_edges), &OwnershipConfig::default());
    let ubos: Vec<Value> = (0..r.ubos.firm.len())
        .filter(|&i| r.ubos.firm[i] == 0)
        .map(|i| {
            let path: Vec<&str> = r.ubos.paths.get(i).iter().map(|&l| graph.external_id(NodeId(global(l)))).collect();
            json!({"person": graph.external_id(NodeId(global(r.ubos.person[i]))), "share": format!("{:.4}", r.ubos.share[i]), "path": path.join(">")})
        })
        .collect();
    let controller = r.controller.first().copied().filter(|&c| c != NONE).map(|c| graph.external_id(NodeId(global(c))).to_string());
    let path: Vec<&str> =
        r.control_paths.get(0).iter().map(|&l| if l == NONE { "…" } else { graph.external_id(NodeId(global(l))) }).collect();
    json!({"controller": controller, "basis": r.basis.first().map(|b| b.as_str()), "control_path": (!path.is_empty()).then(|| path.join(">")), "ubos": ubos})
}

/// The counterparties of one relation in one direction: how many in all, the top ones.
pub struct Counterparties {
    pub relation: Relation,
    pub outgoing: bool,
    pub total: usize,
    /// (counterparty, edges, amount), largest amount first (then most edges, then id).
    pub top: Vec<(u32, u64, f64)>,
}

/// Top `limit` counterparties per relation and direction, by amount (or count without amounts);
/// accounts an entity owns count as the entity.
pub fn counterparty_lists(graph: &Graph, v: u32, limit: usize) -> Vec<Counterparties> {
    let mut sources = vec![v];
    if matches!(graph.kind(NodeId(v)), NodeKind::Firm | NodeKind::Person) {
        sources.extend_from_slice(graph.relation(Relation::AccountOwner).forward.neighbor_ids(NodeId(v)));
    }
    let relations = [Relation::Shareholding, Relation::Officer, Relation::Transfer, Relation::Guarantee, Relation::Supply];
    let mut out = Vec::new();
    for relation in relations {
        // (direction, counterparty) → (edges, amount)
        let mut totals: BTreeMap<(bool, u32), (u64, f64)> = BTreeMap::new();
        let weight = relation.weight_attr().and_then(|a| graph.relation(relation).f64_attr(a));
        for &s in &sources {
            hops(graph, &[relation], s, |h| {
                let t = totals.entry((h.outgoing, h.neighbor)).or_insert((0, 0.0));
                t.0 += 1;
                t.1 += weight.and_then(|w| w.get(h.edge)).copied().filter(|x| x.is_finite()).unwrap_or(0.0);
            });
        }
        for outgoing in [true, false] {
            let mut list: Vec<(u32, u64, f64)> =
                totals.iter().filter(|((o, _), _)| *o == outgoing).map(|((_, c), (n, a))| (*c, *n, *a)).collect();
            if list.is_empty() {
                continue;
            }
            list.sort_by(|a, b| b.2.total_cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
            let total = list.len();
            list.truncate(limit);
            out.push(Counterparties { relation, outgoing, total, top: list });
        }
    }
    out
}

fn counterparties(graph: &Graph, v: u32) -> Value {
    let mut out = serde_json::Map::new();
    for c in counterparty_lists(graph, v, TOP) {
        let shown: Vec<Value> =
            c.top.iter().map(|&(p, n, a)| json!({"id": graph.external_id(NodeId(p)), "edges": n, "amount": format!("{a:.2}")})).collect();
        let direction = if c.outgoing { "out" } else { "in" };
        out.insert(format!("{}_{direction} ({} in all)", c.relation.as_str(), c.total), Value::Array(shown));
    }
    Value::Object(out)
}

fn flags_of(dir: &Path, id: &str) -> Result<Value> {
    let mut out = Vec::new();
    let path = dir.join("flags.parquet");
    if !path.is_file() {
        return Ok(Value::Array(out));
    }
    for batch in read_all(&path)? {
        let schema = batch.schema();
        let col = |name: &str| schema.index_of(name).ok();
        let (Some(node), Some(flag), Some(severity), Some(reason)) = (col("node_id"), col("flag"), col("severity"), col("reason")) else {
            continue;
        };
        let ids = batch.column(node).as_string::<i32>();
        for row in 0..batch.num_rows() {
            if ids.value(row) == id {
                out.push(json!({
                    "flag": cell(&batch, flag, row),
                    "severity": cell(&batch, severity, row),
                    "reason": cell(&batch, reason, row),
                    "ring_id": col("ring_id").and_then(|c| cell(&batch, c, row)),
                }));
            }
        }
    }
    Ok(Value::Array(out))
}

fn rings_of(dir: &Path, graph: &Graph, v: u32) -> Result<Value> {
    let path = dir.join("rings.parquet");
    let mut out = Vec::new();
    if !path.is_file() {
        return Ok(Value::Array(out));
    }
    // The node itself or an account it owns.
    let mut ids = vec![graph.external_id(NodeId(v)).to_string()];
    for &a in graph.relation(Relation::AccountOwner).forward.neighbor_ids(NodeId(v)) {
        ids.push(graph.external_id(NodeId(a)).to_string());
    }
    for batch in read_all(&path)? {
        let schema = batch.schema();
        let (Ok(members), Ok(ring), Ok(kind), Ok(score)) =
            (schema.index_of("members"), schema.index_of("ring_id"), schema.index_of("kind"), schema.index_of("score"))
        else {
            continue;
        };
        let lists = batch.column(members).as_list::<i32>();
        for row in 0..batch.num_rows() {
            let list = lists.value(row);
            let names = list.as_string::<i32>();
            if names.iter().flatten().any(|m| ids.iter().any(|i| i == m)) {
                out.push(json!({"ring_id": cell(&batch, ring, row), "kind": cell(&batch, kind, row), "score": cell(&batch, score, row), "size": names.len()}));
            }
        }
    }
    Ok(Value::Array(out))
}

/// What a ring kind's score means.
pub fn score_meaning(kind: &str) -> &'static str {
    match kind {
        "shared_identifier" => "strong-pair evidence per member beyond the first; each shared value weighs 1/ln(1 + holders)",
        "fund_cycle" => "amount consistency × speed (1 − span/window) × length weight, best instance",
        "fan_in" | "fan_out" => {
            "−log10 of the bursts like this one chance would give over the observed period at the centre's own rate of similar payments (5: one in 100,000)"
        }
        "scatter_gather" | "gather_scatter" => "counterparties × amount consistency (smallest / largest piece)",
        "dense_block" => "FRAUDAR weighted density of the block (camouflage-resistant)",
        "loan_diversion" => {
            "share of the loan traced to related parties or other loans, times how fast it got there (1 − days taken / window)"
        }
        "guarantee_circle" => "members × (1 + defaulted members)",
        _ => "",
    }
}

/// A ring: members with roles, evidence in time order, score and why, and its case.
pub fn ring(graph: &Graph, ring_id: &str, scores: Option<&Path>) -> Result<Value> {
    let Some(dir) = scores_dir(scores)? else {
        return Err(coded(crate::exit::USAGE, "show ring needs --scores DIR (an ekg score or ekg run rings output)"));
    };
    let rings = dir.join("rings.parquet");
    let Some(batch) = super::find_row(&rings, "ring_id", ring_id)? else {
        return Err(coded(DATA, format!("{}: no ring {ring_id}", rings.display())));
    };
    let schema = batch.schema();
    let get = |name: &str| schema.index_of(name).ok().and_then(|i| cell(&batch, i, 0));
    let kind = get("kind").unwrap_or_default();
    let mut out = json!({
        "ring_id": ring_id,
        "kind": kind,
        "score": get("score"),
        "why": score_meaning(&kind),
        "explanation": get("explanation"),
        "size": get("size"),
        "first_ts": get("first_ts"),
        "last_ts": get("last_ts"),
        "total_amount": get("total_amount"),
    });
    // Evidence in time order, and each member's role from it.
    let mut evidence = Vec::new();
    let mut sent: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    // Members of identifier evidence: what they share (phone, address, legal_rep, ...).
    let mut shares: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in read_all(&dir.join("ring_edges.parquet"))? {
        let s = b.schema();
        let Ok(ring_col) = s.index_of("ring_id") else { continue };
        let Some(ids) = b.column(ring_col).as_string_opt::<i32>() else { continue };
        for row in 0..b.num_rows() {
            if ids.value(row) != ring_id {
                continue;
            }
            let c = |name: &str| s.index_of(name).ok().and_then(|i| cell(&b, i, row));
            let (src, dst) = (c("src_id").unwrap_or_default(), c("dst_id").unwrap_or_default());
            let shared = c("relation").is_some_and(|r| r.starts_with("shared_"));
            if let (true, Some(identifier)) = (shared, c("identifier")) {
                let what = identifier.split(':').next().unwrap_or_default().to_string();
                for end in [&src, &dst] {
                    let list = shares.entry(end.clone()).or_default();
                    if !list.contains(&what) {
                        list.push(what.clone());
                    }
                }
            } else {
                sent.entry(src.clone()).or_default().0 += 1;
                sent.entry(dst.clone()).or_default().1 += 1;
            }
            evidence.push(json!({"ts": c("ts"), "src": src, "dst": dst, "relation": c("relation"), "amount": c("amount"), "identifier": c("identifier")}));
        }
    }
    let members: Vec<Value> = get_members(&batch)
        .into_iter()
        .map(|m| {
            let (out_n, in_n) = sent.get(&m).copied().unwrap_or((0, 0));
            let role = match (out_n, in_n, shares.get(&m)) {
                (0, 0, Some(what)) => format!("shares {}", what.join(", ")),
                (0, 0, None) => "member".to_string(),
                (_, 0, _) => "source".to_string(),
                (0, _, _) => "sink".to_string(),
                _ => "passes on".to_string(),
            };
            let kind = graph.lookup(&m).map(|v| graph.kind(v).as_str()).unwrap_or("?");
            json!({"id": m, "kind": kind, "role": role})
        })
        .collect();
    out["members"] = Value::Array(members);
    out["evidence"] = Value::Array(evidence);
    if let Some(case_id) = get("case_id").and_then(|c| c.parse::<u64>().ok()) {
        out["case"] = case(&dir.join("cases.parquet"), case_id)?;
    }
    Ok(out)
}

/// The review-queue case a ring belongs to: its lead, rank, whether it is within the day's
/// capacity, and all its rings (the other parts of the structure).
fn case(path: &Path, case_id: u64) -> Result<Value> {
    if !path.exists() {
        return Ok(Value::Null);
    }
    let Some(batch) = read_row(path, case_id as usize)? else {
        return Err(coded(DATA, format!("{}: no case {case_id}", path.display())));
    };
    let schema = batch.schema();
    let get = |name: &str| schema.index_of(name).ok().and_then(|i| cell(&batch, i, 0));
    let rings: Vec<String> = schema
        .index_of("ring_ids")
        .ok()
        .and_then(|i| {
            batch.column(i).as_list::<i32>().value(0).as_string_opt::<i32>().map(|l| l.iter().flatten().map(str::to_string).collect())
        })
        .unwrap_or_default();
    Ok(json!({
        "case_id": case_id,
        "lead_kind": get("lead_kind"),
        "rank": get("rank"),
        "in_capacity": get("in_capacity"),
        "lead_ring_id": get("lead_ring_id"),
        "rings": rings,
        "explanation": get("explanation"),
    }))
}

fn get_members(batch: &arrow_array::RecordBatch) -> Vec<String> {
    let Ok(i) = batch.schema().index_of("members") else { return Vec::new() };
    let lists = batch.column(i).as_list::<i32>();
    let list = lists.value(0);
    list.as_string::<i32>().iter().flatten().map(str::to_string).collect()
}
