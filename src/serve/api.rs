//! The JSON API under `/api/`: every page of the workbench is drawn from these answers.
//! Unknown ids answer 404 and malformed queries 400, each with `{"error": "..."}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ekg_schema::{NodeId, Relation};
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{severity_rank, Workbench};
use crate::query::edge_attributes;

/// Most rows one list answer carries.
pub const MAX_LIMIT: usize = 1000;
/// Neighbourhoods are drawn on a canvas: beyond this many hops or nodes it stops being readable.
pub const MAX_HOPS: usize = 3;
pub const DEFAULT_MAX_NODES: usize = 300;
pub const MAX_NODES: usize = 5000;
/// Counterparties listed per relation and direction on an entity page.
const TOP_COUNTERPARTIES: usize = 8;

pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::NOT_FOUND, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    fn internal(error: anyhow::Error) -> ApiError {
        ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, message: format!("{error:#}") }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

type Answer = Result<Json<Value>, ApiError>;
type Bench = State<Arc<Workbench>>;

fn limit(requested: Option<usize>, default: usize) -> Result<usize, ApiError> {
    match requested.unwrap_or(default) {
        0 => Err(ApiError::bad_request("limit must be at least 1")),
        n if n > MAX_LIMIT => Err(ApiError::bad_request(format!("limit must be at most {MAX_LIMIT}"))),
        n => Ok(n),
    }
}

fn resolve(bench: &Workbench, id: &str) -> Result<u32, ApiError> {
    crate::pii::lookup(&bench.graph, id).map(|v| v.0).ok_or_else(|| ApiError::not_found(format!("no entity '{}' in this graph", id.trim())))
}

fn relations(text: Option<&str>) -> Result<Vec<Relation>, ApiError> {
    let mut out = Vec::new();
    for name in text.unwrap_or_default().split(',').map(str::trim).filter(|n| !n.is_empty()) {
        out.push(crate::cli::parse_relation(name).map_err(ApiError::bad_request)?);
    }
    Ok(crate::cli::relations_or_all(&out))
}

#[derive(Deserialize)]
pub struct AlertQuery {
    kind: Option<String>,
    severity: Option<String>,
    region: Option<String>,
    industry: Option<String>,
    /// new, changed or unchanged since the previous night.
    change: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Flags, most severe first, filtered; with counts by kind, severity, region and industry of the
/// filtered set.
pub async fn alerts(State(bench): Bench, Query(q): Query<AlertQuery>) -> Answer {
    let limit = limit(q.limit, 100)?;
    if let Some(s) = q.severity.as_deref().filter(|s| !s.is_empty()) {
        if severity_rank(s) > 2 {
            return Err(ApiError::bad_request(format!("severity '{s}' is not high, medium or low")));
        }
    }
    let wanted = |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| w.is_empty() || have == Some(w));
    let mut counts: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut items = Vec::new();
    let mut total = 0;
    for a in &bench.alerts {
        let owner = a.node.map(|v| bench.owner(v));
        let (region, industry) = (owner.and_then(|v| bench.region(v)), owner.and_then(|v| bench.industry(v)));
        if !(wanted(&q.kind, Some(&a.flag))
            && wanted(&q.severity, Some(&a.severity))
            && wanted(&q.region, region)
            && wanted(&q.industry, industry)
            && wanted(&q.change, a.change.as_deref()))
        {
            continue;
        }
        for (facet, value) in [
            ("kind", Some(a.flag.as_str())),
            ("severity", Some(a.severity.as_str())),
            ("region", region),
            ("industry", industry),
            ("change", a.change.as_deref()),
        ] {
            if let Some(value) = value {
                *counts.entry(facet).or_default().entry(value.to_string()).or_default() += 1;
            }
        }
        total += 1;
        if total > q.offset.unwrap_or(0) && items.len() < limit {
            items.push(json!({
                "node_id": a.node_id,
                "name": a.node.map(|v| bench.label(v)),
                "entity_kind": a.node.map(|v| bench.graph.kind(NodeId(v)).as_str()),
                "flag": a.flag,
                "severity": a.severity,
                "reason": a.reason,
                "ring_id": a.ring_id,
                "change": a.change,
                "region": region,
                "industry": industry,
            }));
        }
    }
    Ok(Json(json!({"total": total, "counts": counts, "items": items, "scores": bench.scores.is_some()})))
}

#[derive(Deserialize)]
pub struct RingQuery {
    kind: Option<String>,
    limit: Option<usize>,
}

/// Rings, highest score first (within the chosen kind), with counts by kind.
pub async fn rings(State(bench): Bench, Query(q): Query<RingQuery>) -> Answer {
    let limit = limit(q.limit, 50)?;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &bench.rings {
        *counts.entry(r.kind.as_str()).or_default() += 1;
    }
    let mut chosen: Vec<_> = bench.rings.iter().filter(|r| q.kind.as_deref().is_none_or(|k| k.is_empty() || r.kind == k)).collect();
    chosen.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ring_id.cmp(&b.ring_id)));
    let items: Vec<Value> = chosen
        .iter()
        .take(limit)
        .map(|r| {
            json!({"ring_id": r.ring_id, "case_id": r.case_id, "kind": r.kind, "score": r.score, "size": r.members.len(), "explanation": r.explanation})
        })
        .collect();
    Ok(Json(json!({"total": chosen.len(), "counts": counts, "items": items})))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
}

/// Entities by id (exact), or firms by name (prefix, substring, then similar names).
pub async fn search(State(bench): Bench, Query(q): Query<SearchQuery>) -> Answer {
    let query = q.q.unwrap_or_default();
    if query.trim().is_empty() {
        return Err(ApiError::bad_request("search needs q, an id or a name"));
    }
    let limit = limit(q.limit, 20)?;
    let results: Vec<Value> = bench
        .search(&query, limit)
        .into_iter()
        .map(|(v, how)| {
            json!({
                "id": bench.graph.external_id(NodeId(v)),
                "name": bench.name(v),
                "kind": bench.graph.kind(NodeId(v)).as_str(),
                "match": how,
                "flags": bench.alerts_of(v).count(),
            })
        })
        .collect();
    Ok(Json(json!({"query": query.trim(), "results": results})))
}

/// Which theme a feature belongs to on the entity page.
fn theme(feature: &str) -> &'static str {
    const THEMES: [(&str, &[&str]); 9] = [
        ("Rings", &["ring_", "max_ring"]),
        ("Contagion", &["debtrank", "systemic_", "cascade_", "stress_"]),
        ("Guarantees", &["in_guarantee", "guarantee_chain", "contingent_", "guarantees_defaulted"]),
        ("Group", &["group_"]),
        ("Ownership and control", &["ubo_", "top_ubo", "controller_", "control_", "officer_", "firms_", "owned_", "run_firms", "network_"]),
        ("Position in the network", &["pagerank", "ppr", "component", "community", "core", "triangles", "clustering", "defaulted_share"]),
        ("Size", &["size_"]),
        ("Segments", &["behaviour_", "segment_", "industry_region"]),
        ("Relations and money", &[""]),
    ];
    THEMES.iter().find(|(_, prefixes)| prefixes.iter().any(|p| feature.starts_with(p))).map_or("Other", |(t, _)| t)
}

/// An entity: identity first, then flags, rings, ownership, group, guarantees, counterparties with
/// names and the features by theme with their meanings.
pub async fn node(State(bench): Bench, Path(id): Path<String>) -> Answer {
    let v = resolve(&bench, &id)?;
    let graph = &bench.graph;
    let mut out = crate::query::show::node(graph, &id, None).map_err(ApiError::internal)?;
    out["name"] = json!(bench.name(v));
    out["defaulted"] = json!(bench.defaulted(v));
    let mut ids = vec![graph.external_id(NodeId(v)).to_string()];
    ids.extend(
        graph.relation(Relation::AccountOwner).forward.neighbor_ids(NodeId(v)).iter().map(|&a| graph.external_id(NodeId(a)).to_string()),
    );
    let flags: Vec<Value> =
        bench.alerts_of(v).map(|a| json!({"flag": a.flag, "severity": a.severity, "reason": a.reason, "ring_id": a.ring_id})).collect();
    out["flags"] = Value::Array(flags);
    let mut rings: Vec<usize> = ids.iter().filter_map(|i| bench.rings_of.get(i)).flatten().copied().collect();
    rings.sort_unstable();
    rings.dedup();
    out["rings"] = rings
        .iter()
        .map(|&i| {
            let r = &bench.rings[i];
            json!({"ring_id": r.ring_id, "kind": r.kind, "score": r.score, "size": r.members.len(), "explanation": r.explanation})
        })
        .collect();
    out["counterparties"] = crate::query::show::counterparty_lists(graph, v, TOP_COUNTERPARTIES)
        .iter()
        .map(|c| {
            let top: Vec<Value> = c
                .top
                .iter()
                .map(|&(p, edges, amount)| {
                    json!({"id": graph.external_id(NodeId(p)), "name": bench.label(p), "kind": graph.kind(NodeId(p)).as_str(), "edges": edges, "amount": amount})
                })
                .collect();
            json!({"relation": c.relation.as_str(), "direction": if c.outgoing { "out" } else { "in" }, "total": c.total, "top": top})
        })
        .collect();
    if let Some(dir) = &bench.scores {
        let features = crate::query::show::features_of(dir, graph, NodeId(v)).map_err(ApiError::internal)?.unwrap_or_default();
        let mut themes: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for (name, value) in &features {
            themes.entry(theme(name)).or_default().push(json!({
                "name": name,
                "value": value,
                "description": bench.feature_docs.get(name),
            }));
        }
        out["group"] = json!({"group_id": features.get("group_id"), "group_size": features.get("group_size"), "group_exposure": features.get("group_exposure")});
        out["features"] = themes.into_iter().map(|(theme, items)| json!({"theme": theme, "items": items})).collect();
    }
    Ok(Json(out))
}

/// A ring: members with roles, evidence in time order, the score in words, and its drawing.
pub async fn ring(State(bench): Bench, Path(ring_id): Path<String>) -> Answer {
    let ring_id = ring_id.trim();
    if !crate::findings::is_ring_id(ring_id) {
        return Err(ApiError::bad_request(format!("'{ring_id}' is not a ring id (13 base32 characters, as rings.parquet prints them)")));
    }
    let Some(dir) = &bench.scores else {
        return Err(ApiError::not_found("no rings: ekg serve was started without --scores"));
    };
    if bench.rings.binary_search_by(|r| r.ring_id.as_str().cmp(ring_id)).is_err() {
        return Err(ApiError::not_found(format!("no ring {ring_id} in {}", dir.display())));
    }
    let graph = &bench.graph;
    let mut out = crate::query::show::ring(graph, ring_id, Some(dir)).map_err(ApiError::internal)?;
    let mut nodes = Vec::new();
    for m in out["members"].as_array().into_iter().flatten() {
        let id = m["id"].as_str().unwrap_or_default();
        let v = crate::pii::lookup(graph, id).map(|v| v.0);
        nodes.push(json!({"data": {
            "id": id,
            "label": v.map_or_else(|| id.to_string(), |v| bench.label(v)),
            "kind": m["kind"],
            "role": m["role"],
            "defaulted": v.is_some_and(|v| bench.defaulted(v)),
        }}));
    }
    let edges: Vec<Value> = out["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, e)| {
            json!({"data": {
                "id": format!("e{i}"),
                "source": e["src"],
                "target": e["dst"],
                "relation": e["relation"],
                "amount": e["amount"],
                "ts": e["ts"],
                "identifier": e["identifier"],
                "step": i,
            }})
        })
        .collect();
    out["elements"] = json!({"nodes": nodes, "edges": edges});
    Ok(Json(out))
}

/// Nodes of a subgraph as cytoscape.js elements.
fn node_elements(bench: &Workbench, nodes: &[u32], centre: &[u32]) -> Vec<Value> {
    nodes
        .iter()
        .map(|&v| {
            let id = bench.graph.external_id(NodeId(v));
            json!({"data": {
                "id": id,
                "label": bench.label(v),
                "kind": bench.graph.kind(NodeId(v)).as_str(),
                "defaulted": bench.defaulted(v),
                "flags": bench.alerts_of(v).count(),
                "centre": centre.contains(&v),
            }})
        })
        .collect()
}

fn edge_element(bench: &Workbench, s: u32, t: u32, relation: Relation, edge: usize) -> Value {
    let mut data = serde_json::Map::new();
    data.insert("id".into(), json!(format!("{}:{edge}", relation.as_str())));
    data.insert("source".into(), json!(bench.graph.external_id(NodeId(s))));
    data.insert("target".into(), json!(bench.graph.external_id(NodeId(t))));
    data.insert("relation".into(), json!(relation.as_str()));
    for (k, x) in edge_attributes(&bench.graph, relation, edge) {
        data.insert(k.into(), json!(x));
    }
    json!({ "data": data })
}

#[derive(Deserialize)]
pub struct NeighborhoodQuery {
    id: Option<String>,
    hops: Option<usize>,
    relations: Option<String>,
    max_nodes: Option<usize>,
}

/// The entities within `hops` of `id` over the chosen relations, as cytoscape.js elements.
pub async fn neighborhood(State(bench): Bench, Query(q): Query<NeighborhoodQuery>) -> Answer {
    let id = q.id.ok_or_else(|| ApiError::bad_request("neighborhood needs id"))?;
    let depth = q.hops.unwrap_or(1);
    if !(1..=MAX_HOPS).contains(&depth) {
        return Err(ApiError::bad_request(format!("hops must be 1 to {MAX_HOPS}")));
    }
    let max_nodes = q.max_nodes.unwrap_or(DEFAULT_MAX_NODES);
    if !(1..=MAX_NODES).contains(&max_nodes) {
        return Err(ApiError::bad_request(format!("max_nodes must be 1 to {MAX_NODES}")));
    }
    let relations = relations(q.relations.as_deref())?;
    let v = resolve(&bench, &id)?;
    let sub = crate::query::neighborhood::collect(&bench.graph, &relations, v, depth, max_nodes);
    let edges: Vec<Value> = sub.edges.iter().map(|&(s, t, r, e)| edge_element(&bench, s, t, r, e)).collect();
    Ok(Json(json!({
        "centre": bench.graph.external_id(NodeId(v)),
        "hops": depth,
        "truncated": sub.truncated,
        "elements": {"nodes": node_elements(&bench, &sub.nodes, &[v]), "edges": edges},
    })))
}

#[derive(Deserialize)]
pub struct PathQuery {
    from: Option<String>,
    to: Option<String>,
    relations: Option<String>,
    max_hops: Option<usize>,
}

/// Every shortest path between two entities (up to 5), hop by hop, and their drawing.
pub async fn path(State(bench): Bench, Query(q): Query<PathQuery>) -> Answer {
    let (Some(from), Some(to)) = (q.from, q.to) else {
        return Err(ApiError::bad_request("path needs from and to"));
    };
    let max_hops = q.max_hops.unwrap_or(crate::cli::DEFAULT_MAX_HOPS);
    if !(1..=crate::cli::DEFAULT_MAX_HOPS * 2).contains(&max_hops) {
        return Err(ApiError::bad_request(format!("max_hops must be 1 to {}", crate::cli::DEFAULT_MAX_HOPS * 2)));
    }
    let relations = relations(q.relations.as_deref())?;
    let (a, b) = (resolve(&bench, &from)?, resolve(&bench, &to)?);
    let graph = &bench.graph;
    let paths = crate::query::path::shortest_paths(graph, &relations, a, b, max_hops, crate::cli::DEFAULT_MAX_PATHS);
    let mut nodes = vec![a];
    let mut edges = Vec::new();
    for p in &paths {
        let mut at = a;
        for h in p {
            nodes.push(h.neighbor);
            let (s, t) = if h.outgoing { (at, h.neighbor) } else { (h.neighbor, at) };
            edges.push(edge_element(&bench, s, t, h.relation, h.edge));
            at = h.neighbor;
        }
    }
    nodes.sort_unstable();
    nodes.dedup();
    edges.sort_by(|x, y| x["data"]["id"].as_str().cmp(&y["data"]["id"].as_str()));
    edges.dedup_by(|x, y| x["data"]["id"] == y["data"]["id"]);
    let described: Vec<Value> = paths.iter().map(|p| crate::query::path::describe(graph, a, p)).collect();
    Ok(Json(json!({
        "from": graph.external_id(NodeId(a)),
        "to": graph.external_id(NodeId(b)),
        "hops": paths.first().map(|p| p.len()),
        "paths": described,
        "elements": {"nodes": node_elements(&bench, &nodes, &[a, b]), "edges": edges},
    })))
}

/// Every relation name, for the explore view's filter.
pub async fn meta(State(bench): Bench) -> Json<Value> {
    let relations: Vec<&str> = Relation::ALL.iter().map(|r| r.as_str()).collect();
    Json(json!({
        "relations": relations,
        "scores": bench.scores.as_ref().map(|d| d.display().to_string()),
        "alerts": bench.alerts.len(),
        "rings": bench.rings.len(),
        "max_hops": MAX_HOPS,
    }))
}
