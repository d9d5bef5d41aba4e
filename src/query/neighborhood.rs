//! `ekg neighborhood ID --hops K`: the subgraph around an entity for Gephi (GEXF 1.3, GraphML),
//! Cytoscape (GraphML, cytoscape.js JSON) or Graphviz (DOT), with node attributes, key scores and
//! flag counts when `--scores` is given, and edge attributes, typed (numbers as long or double,
//! booleans) so that tools can size and rank by them. The file is written atomically.

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
        SubgraphFormat::Cytoscape => cytoscape(&graph, &sub, &attributes),
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

/// An attribute's type, inferred from its values, so that Gephi and networkx read numbers as
/// numbers: every value an integer → long; every value a number → double; every value true or
/// false → boolean; else string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AttrType {
    Long,
    Double,
    Boolean,
    Text,
}

impl AttrType {
    fn infer<'a>(values: impl Iterator<Item = &'a str>) -> AttrType {
        let (mut long, mut double, mut boolean, mut any) = (true, true, true, false);
        for v in values {
            any = true;
            long &= v.parse::<i64>().is_ok();
            double &= v.parse::<f64>().is_ok_and(f64::is_finite);
            boolean &= v == "true" || v == "false";
        }
        match (any, long, double, boolean) {
            (false, ..) => AttrType::Text,
            (_, true, ..) => AttrType::Long,
            (_, _, true, _) => AttrType::Double,
            (_, _, _, true) => AttrType::Boolean,
            _ => AttrType::Text,
        }
    }

    /// The name GraphML and GEXF both use.
    fn as_str(self) -> &'static str {
        match self {
            AttrType::Long => "long",
            AttrType::Double => "double",
            AttrType::Boolean => "boolean",
            AttrType::Text => "string",
        }
    }

    fn json(self, text: &str) -> serde_json::Value {
        let parsed = match self {
            AttrType::Long => text.parse::<i64>().ok().map(serde_json::Value::from),
            AttrType::Double => text.parse::<f64>().ok().map(serde_json::Value::from),
            AttrType::Boolean => Some(serde_json::Value::Bool(text == "true")),
            AttrType::Text => None,
        };
        parsed.unwrap_or_else(|| serde_json::Value::from(text))
    }
}

/// Every node and edge attribute of a subgraph with its type; edges carry `relation` first.
struct Schema {
    nodes: Vec<(String, AttrType)>,
    edges: Vec<(&'static str, AttrType)>,
    /// Per edge of the subgraph: its attributes as text.
    edge_values: Vec<Vec<(&'static str, String)>>,
}

impl Schema {
    fn of(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> Schema {
        let mut node_keys: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in attributes.values().flatten() {
            node_keys.entry(k.as_str()).or_default().push(v.as_str());
        }
        let nodes = node_keys.into_iter().map(|(k, values)| (k.to_string(), AttrType::infer(values.into_iter()))).collect();
        let edge_values: Vec<Vec<(&'static str, String)>> = sub
            .edges
            .iter()
            .map(|&(_, _, r, e)| {
                let mut attrs = vec![("relation", r.as_str().to_string())];
                attrs.extend(edge_attributes(graph, r, e));
                attrs
            })
            .collect();
        let mut edge_keys: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
        for (k, v) in edge_values.iter().flatten() {
            edge_keys.entry(k).or_default().push(v.as_str());
        }
        let mut edges: Vec<(&'static str, AttrType)> =
            edge_keys.into_iter().map(|(k, values)| (k, AttrType::infer(values.into_iter()))).collect();
        edges.sort_by_key(|(k, _)| *k != "relation");
        Schema { nodes, edges, edge_values }
    }

    fn node_type(&self, key: &str) -> AttrType {
        self.nodes.iter().find(|(k, _)| k == key).map_or(AttrType::Text, |(_, t)| *t)
    }

    fn edge_type(&self, key: &str) -> AttrType {
        self.edges.iter().find(|(k, _)| *k == key).map_or(AttrType::Text, |(_, t)| *t)
    }
}

/// A node's label: its name where it has one, else its id.
fn label<'a>(graph: &'a Graph, v: u32, attributes: &'a BTreeMap<u32, Vec<(String, String)>>) -> &'a str {
    attributes.get(&v).into_iter().flatten().find(|(k, _)| k == "name").map_or_else(|| graph.external_id(NodeId(v)), |(_, x)| x.as_str())
}

fn json(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    let schema = Schema::of(graph, sub, attributes);
    let nodes: Vec<serde_json::Value> = sub
        .nodes
        .iter()
        .map(|&v| {
            let mut o = serde_json::Map::new();
            o.insert("id".into(), graph.external_id(NodeId(v)).into());
            for (k, x) in attributes.get(&v).into_iter().flatten() {
                o.insert(k.clone(), schema.node_type(k).json(x));
            }
            serde_json::Value::Object(o)
        })
        .collect();
    let edges: Vec<serde_json::Value> = sub
        .edges
        .iter()
        .zip(&schema.edge_values)
        .map(|(&(s, t, _, _), values)| {
            let mut o = serde_json::Map::new();
            o.insert("source".into(), graph.external_id(NodeId(s)).into());
            o.insert("target".into(), graph.external_id(NodeId(t)).into());
            for (k, x) in values {
                o.insert((*k).into(), schema.edge_type(k).json(x));
            }
            serde_json::Value::Object(o)
        })
        .collect();
    let body = serde_json::json!({"directed": true, "truncated": sub.truncated, "nodes": nodes, "edges": edges}).to_string();
    // The generator first, where `--out`'s ownership check reads it.
    format!("{{\"generator\":\"ekg\",{}", &body[1..])
}

/// The cytoscape.js elements format (`cy.json()`), which networkx's `cytoscape_graph` also reads:
/// nodes carry `id`, `value` (the same) and `name` (the label); edges `source`, `target`, `key`.
fn cytoscape(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    let schema = Schema::of(graph, sub, attributes);
    let nodes: Vec<serde_json::Value> = sub
        .nodes
        .iter()
        .map(|&v| {
            let id = graph.external_id(NodeId(v));
            let mut data = serde_json::Map::new();
            for (k, x) in attributes.get(&v).into_iter().flatten() {
                data.insert(k.clone(), schema.node_type(k).json(x));
            }
            data.insert("id".into(), id.into());
            data.insert("value".into(), id.into());
            data.insert("name".into(), label(graph, v, attributes).into());
            serde_json::json!({ "data": data })
        })
        .collect();
    let edges: Vec<serde_json::Value> = sub
        .edges
        .iter()
        .zip(&schema.edge_values)
        .enumerate()
        .map(|(i, (&(s, t, _, _), values))| {
            let mut data = serde_json::Map::new();
            for (k, x) in values {
                data.insert((*k).into(), schema.edge_type(k).json(x));
            }
            data.insert("id".into(), format!("e{i}").into());
            data.insert("source".into(), graph.external_id(NodeId(s)).into());
            data.insert("target".into(), graph.external_id(NodeId(t)).into());
            data.insert("key".into(), i.into());
            serde_json::json!({ "data": data })
        })
        .collect();
    let body = serde_json::json!({
        "data": {"name": "ekg neighborhood", "truncated": sub.truncated},
        "directed": true,
        "multigraph": true,
        "elements": {"nodes": nodes, "edges": edges},
    })
    .to_string();
    format!("{{\"generator\":\"ekg\",{}", &body[1..])
}

/// Graphviz shape and colour of each kind, as the workbench draws them.
fn kind_style(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "firm" => ("box", "#1f5fbf"),
        "person" => ("ellipse", "#2e7d32"),
        "account" => ("note", "#ef6c00"),
        "loan" => ("diamond", "#6a1b9a"),
        _ => ("ellipse", "#777777"),
    }
}

fn dot(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    // Graphviz reads a newline as \n; other control characters are dropped.
    let quote = |s: &str| {
        let clean: String = s.chars().filter(|c| !c.is_control() || *c == '\n').collect();
        format!("\"{}\"", clean.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
    };
    let mut out = String::from("// written by ekg\ndigraph neighborhood {\n  node [style=filled, fontcolor=white, fontsize=10];\n");
    for &v in &sub.nodes {
        let (shape, colour) = kind_style(graph.kind(NodeId(v)).as_str());
        let mut attrs =
            vec![format!("label={}", quote(label(graph, v, attributes))), format!("shape={shape}"), format!("fillcolor=\"{colour}\"")];
        let defaulted = attributes.get(&v).into_iter().flatten().any(|(k, x)| k == "defaulted" && x == "true");
        if defaulted {
            attrs.push("color=\"#c62828\", penwidth=3".into());
        }
        attrs.extend(attributes.get(&v).into_iter().flatten().filter(|(k, _)| k != "name").map(|(k, x)| format!("{k}={}", quote(x))));
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

fn graphml(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    let schema = Schema::of(graph, sub, attributes);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- written by ekg -->\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n",
    );
    for (k, t) in &schema.nodes {
        let _ = writeln!(out, "  <key id=\"n_{0}\" for=\"node\" attr.name=\"{0}\" attr.type=\"{1}\"/>", xml(k), t.as_str());
    }
    for (k, t) in &schema.edges {
        let _ = writeln!(out, "  <key id=\"e_{k}\" for=\"edge\" attr.name=\"{k}\" attr.type=\"{}\"/>", t.as_str());
    }
    out.push_str("  <graph id=\"neighborhood\" edgedefault=\"directed\">\n");
    for &v in &sub.nodes {
        let _ = writeln!(out, "    <node id=\"{}\">", xml(graph.external_id(NodeId(v))));
        for (k, x) in attributes.get(&v).into_iter().flatten() {
            let _ = writeln!(out, "      <data key=\"n_{}\">{}</data>", xml(k), xml(x));
        }
        out.push_str("    </node>\n");
    }
    for (i, (&(s, t, _, _), values)) in sub.edges.iter().zip(&schema.edge_values).enumerate() {
        let _ = writeln!(
            out,
            "    <edge id=\"e{i}\" source=\"{}\" target=\"{}\">",
            xml(graph.external_id(NodeId(s))),
            xml(graph.external_id(NodeId(t)))
        );
        for (k, x) in values {
            let _ = writeln!(out, "      <data key=\"e_{k}\">{}</data>", xml(x));
        }
        out.push_str("    </edge>\n");
    }
    out.push_str("  </graph>\n</graphml>\n");
    out
}

/// GEXF 1.3 (gexf.net/1.3), typed attributes, the name as label.
fn gexf(graph: &Graph, sub: &Subgraph, attributes: &BTreeMap<u32, Vec<(String, String)>>) -> String {
    let schema = Schema::of(graph, sub, attributes);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gexf xmlns=\"http://gexf.net/1.3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd\" version=\"1.3\">\n  <meta>\n    <creator>ekg</creator>\n  </meta>\n  <graph mode=\"static\" defaultedgetype=\"directed\">\n    <attributes class=\"node\">\n",
    );
    for (i, (k, t)) in schema.nodes.iter().enumerate() {
        let _ = writeln!(out, "      <attribute id=\"{i}\" title=\"{}\" type=\"{}\"/>", xml(k), t.as_str());
    }
    out.push_str("    </attributes>\n    <attributes class=\"edge\">\n");
    for (i, (k, t)) in schema.edges.iter().enumerate() {
        let _ = writeln!(out, "      <attribute id=\"{i}\" title=\"{k}\" type=\"{}\"/>", t.as_str());
    }
    out.push_str("    </attributes>\n    <nodes>\n");
    for &v in &sub.nodes {
        let id = xml(graph.external_id(NodeId(v)));
        let _ = writeln!(out, "      <node id=\"{id}\" label=\"{}\">\n        <attvalues>", xml(label(graph, v, attributes)));
        for (k, x) in attributes.get(&v).into_iter().flatten() {
            if let Some(i) = schema.nodes.iter().position(|(key, _)| key == k) {
                let _ = writeln!(out, "          <attvalue for=\"{i}\" value=\"{}\"/>", xml(x));
            }
        }
        out.push_str("        </attvalues>\n      </node>\n");
    }
    out.push_str("    </nodes>\n    <edges>\n");
    for (i, (&(s, t, _, _), values)) in sub.edges.iter().zip(&schema.edge_values).enumerate() {
        let _ = writeln!(
            out,
            "      <edge id=\"{i}\" source=\"{}\" target=\"{}\">\n        <attvalues>",
            xml(graph.external_id(NodeId(s))),
            xml(graph.external_id(NodeId(t)))
        );
        for (k, x) in values {
            if let Some(j) = schema.edges.iter().position(|(key, _)| key == k) {
                let _ = writeln!(out, "          <attvalue for=\"{j}\" value=\"{}\"/>", xml(x));
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
