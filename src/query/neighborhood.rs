//! `ekg neighborhood ID --hops K`: the subgraph around an entity for Gephi (GEXF, GraphML),
//! Cytoscape (GraphML, JSON) or Graphviz (DOT), with node attributes, key scores and flag counts
//! when `--scores` is given, and edge attributes. The file is written atomically.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use arrow_array::cast::AsArray;
use ekg_schema::{Graph, NodeId, NodeKind, Relation, BOOL_TRUE};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use parquet::arrow::ProjectionMask;

use super::{cell, edge_attributes, hops, read_all, resolve};
use crate::cli::{NeighborhoodArgs, SubgraphFormat};
use crate::exit::{coded, IO};
use crate::input::open_graph_shown;
use crate::output::{OutputKind, Target};

/// Feature columns carried onto nodes.
const NODE_FEATURES: [&str; 7] = ["pagerank", "ppr", "community", "group_id", "ring_count", "max_ring_score", "cascade_pd"];

pub struct Subgraph {
    pub nodes: Vec<u32>,
    /// (source, target, relation, edge)
    pub edges: Vec<(u32, u32, Relation, usize)>,
    pub truncated: bool,
}

pub fn run(args: &NeighborhoodArgs) -> Result<()> {
    let target = Target::claim(&args.out, OutputKind::Export, args.force)?;
    // `--format` here is the output format; a dataset folder is read in the contract layout.
    let load = crate::cli::LoadArgs { format: crate::cli::InputFormat::Contract, as_of: None, encoding: crate::cli::EncodingArg::Utf8 };
    let graph = open_graph_shown(&args.graph, &load)?;
    let relations = crate::cli::relations_or_all(&args.relations);
    let centre = resolve(&graph, &args.id)?;
    let sub = collect(&graph, &relations, centre.0, args.hops, args.max_nodes);
    let mut attributes: BTreeMap<u32, Vec<(String, String)>> = sub.nodes.iter().map(|&v| (v, base_attributes(&graph, v))).collect();
    if let Some(dir) = &args.scores {
        add_scores(dir, &graph, &sub.nodes, &mut attributes)?;
    }
    let text = match args.format {
        SubgraphFormat::Json => json(&graph, &sub, &attributes),
        SubgraphFormat::Dot => dot(&graph, &sub, &attributes),
        SubgraphFormat::Graphml => graphml(&graph, &sub, &attributes),
        SubgraphFormat::Gexf => gexf(&graph, &sub, &attributes),
    };
    let tmp = target.temp_file();
    std::fs::write(tmp.path(), text).map_err(|e| coded(IO, format!("cannot write {}: {e}", tmp.path().display())))?;
    tmp.commit(target.path())?;
    println!(
        "{} nodes, {} edges within {} hops of {}{} → {}",
        sub.nodes.len(),
        sub.edges.len(),
        args.hops,
        args.id,
        if sub.truncated { format!(" (stopped at --max-nodes {})", args.max_nodes) } else { String::new() },
        args.out.display()
    );
    Ok(())
}

pub fn collect(graph: &Graph, relations: &[Relation], centre: u32, depth: usize, max_nodes: usize) -> Subgraph {
    let mut seen: HashMap<u32, usize> = HashMap::from([(centre, 0)]);
    let mut order = vec![centre];
    let mut head = 0;
    let mut truncated = false;
    while head < order.len() {
        let v = order[head];
        head += 1;
        let d = seen[&v];
        if d == depth {
            continue;
        }
        let mut next = Vec::new();
        hops(graph, relations, v, |h| next.push(h.neighbor));
        next.sort_unstable();
        next.dedup();
        for u in next {
            if seen.contains_key(&u) {
                continue;
            }
            if order.len() >= max_nodes {
                truncated = true;
                break;
            }
            seen.insert(u, d + 1);
            order.push(u);
        }
    }
    let mut nodes = order;
    nodes.sort_unstable();
    let mut edges = Vec::new();
    for &v in &nodes {
        hops(graph, relations, v, |h| {
            if h.outgoing && seen.contains_key(&h.neighbor) {
                edges.push((v, h.neighbor, h.relation, h.edge));
            }
        });
    }
    Subgraph { nodes, edges, truncated }
}

fn base_attributes(graph: &Graph, v: u32) -> Vec<(String, String)> {
    let node = NodeId(v);
    let kind = graph.kind(node);
    let mut out = vec![("kind".to_string(), kind.as_str().to_string())];
    if kind == NodeKind::Firm {
        let name = graph.firms.name.get(v as usize);
        if !name.is_empty() {
            out.push(("name".into(), name.to_string()));
        }
        out.push(("defaulted".into(), (graph.firms.defaulted.get(v as usize) == Some(&BOOL_TRUE)).to_string()));
    }
    out
}

/// Key features and flag counts for the subgraph's nodes, reading only their rows.
fn add_scores(dir: &Path, graph: &Graph, nodes: &[u32], attributes: &mut BTreeMap<u32, Vec<(String, String)>>) -> Result<()> {
    let path = dir.join("features.parquet");
    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
        file,
        ArrowReaderOptions::new().with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Optional),
    )
    .with_context(|| format!("{}: not a Parquet table", path.display()))?;
    let schema = builder.schema().clone();
    let wanted: Vec<usize> = NODE_FEATURES.iter().filter_map(|n| schema.index_of(n).ok()).collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    // Runs of skip/select over the sorted node ids (= feature rows).
    let mut selectors = Vec::new();
    let mut at = 0usize;
    for &v in nodes {
        let row = v as usize;
        if row > at {
            selectors.push(RowSelector::skip(row - at));
        }
        selectors.push(RowSelector::select(1));
        at = row + 1;
    }
    let reader = builder.with_projection(mask).with_row_selection(RowSelection::from(selectors)).build()?;
    let mut k = 0;
    for batch in reader {
        let batch = batch?;
        for row in 0..batch.num_rows() {
            let Some(&v) = nodes.get(k) else { break };
            k += 1;
            let attrs = attributes.entry(v).or_default();
            for (i, field) in batch.schema().fields().iter().enumerate() {
                if let Some(text) = cell(&batch, i, row) {
                    attrs.push((field.name().clone(), text));
                }
            }
        }
    }
    let flags = dir.join("flags.parquet");
    if flags.is_file() {
        let index: HashMap<&str, u32> = nodes.iter().map(|&v| (graph.external_id(NodeId(v)), v)).collect();
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for batch in read_all(&flags)? {
            let Ok(i) = batch.schema().index_of("node_id") else { continue };
            for id in batch.column(i).as_string::<i32>().iter().flatten() {
                if let Some(&v) = index.get(id) {
                    *counts.entry(v).or_default() += 1;
                }
            }
        }
        for (v, c) in counts {
            attributes.entry(v).or_default().push(("flags".into(), c.to_string()));
        }
    }
    Ok(())
}

/// Text as XML 1.0 character data or attribute value: markup escaped; tab, newline and carriage
/// return as character references (attribute normalisation would turn them into spaces); the
/// other control characters, which XML 1.0 forbids in any form, dropped.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn attribute_keys(attributes: &BTreeMap<u32, Vec<(String, String)>>) -> Vec<String> {
    let mut keys: Vec<String> = attributes.values().flatten().map(|(k, _)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    keys
}

fn json(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    let nodes: Vec<serde_json::Value> = sub
        .nodes
        .iter()
        .map(|&v| {
            let mut o = serde_json::Map::new();
            o.insert("id".into(), graph.external_id(NodeId(v)).into());
            for (k, x) in attributes.get(&v).into_iter().flatten() {
                o.insert(k.clone(), x.clone().into());
            }
            serde_json::Value::Object(o)
        })
        .collect();
    let edges: Vec<serde_json::Value> = sub
        .edges
        .iter()
        .map(|&(s, t, r, e)| {
            let mut o = serde_json::Map::new();
            o.insert("source".into(), graph.external_id(NodeId(s)).into());
            o.insert("target".into(), graph.external_id(NodeId(t)).into());
            o.insert("relation".into(), r.as_str().into());
            for (k, x) in edge_attributes(graph, r, e) {
                o.insert(k.into(), x.into());
            }
            serde_json::Value::Object(o)
        })
        .collect();
    let body = serde_json::json!({"directed": true, "truncated": sub.truncated, "nodes": nodes, "edges": edges}).to_string();
    // The generator first, where `--out`'s ownership check reads it.
    format!("{{\"generator\":\"ekg\",{}", &body[1..])
}

fn dot(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    // Graphviz reads a newline as \n; other control characters are dropped.
    let quote = |s: &str| {
        let clean: String = s.chars().filter(|c| !c.is_control() || *c == '\n').collect();
        format!("\"{}\"", clean.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
    };
    let mut out = String::from("// written by ekg\ndigraph neighborhood {\n");
    for &v in &sub.nodes {
        let attrs: Vec<String> = attributes.get(&v).into_iter().flatten().map(|(k, x)| format!("{k}={}", quote(x))).collect();
        let _ = writeln!(out, "  {} [{}];", quote(graph.external_id(NodeId(v))), attrs.join(", "));
    }
    for &(s, t, r, e) in &sub.edges {
        let mut attrs = vec![format!("label={}", quote(r.as_str()))];
        attrs.extend(edge_attributes(graph, r, e).into_iter().map(|(k, x)| format!("{k}={}", quote(&x))));
        let _ =
            writeln!(out, "  {} -> {} [{}];", quote(graph.external_id(NodeId(s))), quote(graph.external_id(NodeId(t))), attrs.join(", "));
    }
    out.push_str("}\n");
    out
}

fn edge_keys(graph: &Graph, sub: &Subgraph) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> =
        sub.edges.iter().flat_map(|&(_, _, r, e)| edge_attributes(graph, r, e).into_iter().map(|(k, _)| k)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn graphml(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- written by ekg -->\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n",
    );
    for k in attribute_keys(attributes) {
        let _ = writeln!(out, "  <key id=\"n_{0}\" for=\"node\" attr.name=\"{0}\" attr.type=\"string\"/>", xml(&k));
    }
    let _ = writeln!(out, "  <key id=\"e_relation\" for=\"edge\" attr.name=\"relation\" attr.type=\"string\"/>");
    for k in edge_keys(graph, sub) {
        let _ = writeln!(out, "  <key id=\"e_{0}\" for=\"edge\" attr.name=\"{0}\" attr.type=\"string\"/>", k);
    }
    out.push_str("  <graph id=\"neighborhood\" edgedefault=\"directed\">\n");
    for &v in &sub.nodes {
        let _ = writeln!(out, "    <node id=\"{}\">", xml(graph.external_id(NodeId(v))));
        for (k, x) in attributes.get(&v).into_iter().flatten() {
            let _ = writeln!(out, "      <data key=\"n_{}\">{}</data>", xml(k), xml(x));
        }
        out.push_str("    </node>\n");
    }
    for (i, &(s, t, r, e)) in sub.edges.iter().enumerate() {
        let _ = writeln!(
            out,
            "    <edge id=\"e{i}\" source=\"{}\" target=\"{}\">",
            xml(graph.external_id(NodeId(s))),
            xml(graph.external_id(NodeId(t)))
        );
        let _ = writeln!(out, "      <data key=\"e_relation\">{}</data>", r.as_str());
        for (k, x) in edge_attributes(graph, r, e) {
            let _ = writeln!(out, "      <data key=\"e_{k}\">{}</data>", xml(&x));
        }
        out.push_str("    </edge>\n");
    }
    out.push_str("  </graph>\n</graphml>\n");
    out
}

fn gexf(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    let keys = attribute_keys(attributes);
    let edge_keys = edge_keys(graph, sub);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gexf xmlns=\"http://www.gexf.net/1.2draft\" version=\"1.2\">\n  <meta>\n    <creator>ekg</creator>\n  </meta>\n  <graph defaultedgetype=\"directed\">\n    <attributes class=\"node\">\n",
    );
    for (i, k) in keys.iter().enumerate() {
        let _ = writeln!(out, "      <attribute id=\"{i}\" title=\"{}\" type=\"string\"/>", xml(k));
    }
    out.push_str("    </attributes>\n    <attributes class=\"edge\">\n      <attribute id=\"0\" title=\"relation\" type=\"string\"/>\n");
    for (i, k) in edge_keys.iter().enumerate() {
        let _ = writeln!(out, "      <attribute id=\"{}\" title=\"{k}\" type=\"string\"/>", i + 1);
    }
    out.push_str("    </attributes>\n    <nodes>\n");
    for &v in &sub.nodes {
        let id = xml(graph.external_id(NodeId(v)));
        let _ = writeln!(out, "      <node id=\"{id}\" label=\"{id}\">\n        <attvalues>");
        for (k, x) in attributes.get(&v).into_iter().flatten() {
            if let Some(i) = keys.iter().position(|key| key == k) {
                let _ = writeln!(out, "          <attvalue for=\"{i}\" value=\"{}\"/>", xml(x));
            }
        }
        out.push_str("        </attvalues>\n      </node>\n");
    }
    out.push_str("    </nodes>\n    <edges>\n");
    for (i, &(s, t, r, e)) in sub.edges.iter().enumerate() {
        let _ = writeln!(
            out,
            "      <edge id=\"{i}\" source=\"{}\" target=\"{}\">\n        <attvalues>",
            xml(graph.external_id(NodeId(s))),
            xml(graph.external_id(NodeId(t)))
        );
        let _ = writeln!(out, "          <attvalue for=\"0\" value=\"{}\"/>", r.as_str());
        for (k, x) in edge_attributes(graph, r, e) {
            if let Some(j) = edge_keys.iter().position(|key| *key == k) {
                let _ = writeln!(out, "          <attvalue for=\"{}\" value=\"{}\"/>", j + 1, xml(&x));
            }
        }
        out.push_str("        </attvalues>\n      </edge>\n");
    }
    out.push_str("    </edges>\n  </graph>\n</gexf>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn xml_text_drops_what_xml_forbids_and_keeps_line_breaks() {
        assert_eq!(xml("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
        assert_eq!(xml("line\u{1}\u{0}one\nline\ttwo\r\u{1f}"), "lineone&#10;line&#9;two&#13;");
        assert_eq!(xml("中文\u{FFFE}"), "中文");
    }
}
