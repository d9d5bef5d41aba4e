//! `ekg path A B`: the shortest paths between two entities over the chosen relations (either
//! direction), each hop with its relation, direction and attributes.
//!
//! Bidirectional breadth-first search (the smaller frontier expands first), so a query touches
//! about the square root of what a one-sided search would on a large graph; every shortest path
//! up to `--max-paths` is listed, in id order.

use std::collections::{HashMap, VecDeque};

use anyhow::Result;
use ekg_schema::{Graph, NodeId, Relation};
use serde_json::{json, Value};

use super::{edge_attributes, hops, resolve, Hop};
use crate::cli::PathArgs;
use crate::input::open_graph_shown;

/// Nodes a search may visit before it gives up (a 10M-node snapshot still answers in < 1 s).
const MAX_VISITED: usize = 2_000_000;

pub fn run(args: &PathArgs) -> Result<()> {
    let graph = open_graph_shown(&args.graph, &args.load)?;
    let relations = crate::cli::relations_or_all(&args.relations);
    let (a, b) = (resolve(&graph, &args.from)?, resolve(&graph, &args.to)?);
    let paths = shortest_paths(&graph, &relations, a.0, b.0, args.max_hops, args.max_paths);
    let described: Vec<Value> = paths.iter().map(|p| describe(&graph, a.0, p)).collect();
    if args.json {
        println!("{}", json!({"from": args.from, "to": args.to, "hops": paths.first().map(|p| p.len()), "paths": described}));
        return Ok(());
    }
    if paths.is_empty() {
        println!("no path from {} to {} within {} hops", args.from, args.to, args.max_hops);
        return Ok(());
    }
    println!("{} shortest path(s) of {} hop(s) from {} to {}", paths.len(), paths[0].len(), args.from, args.to);
    for (k, p) in described.iter().enumerate() {
        println!("path {}:", k + 1);
        for hop in p.as_array().into_iter().flatten() {
            let attrs = hop["attributes"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            println!(
                "  {:<22} {:<3} {:<14} {:<22} {attrs}",
                hop["from"].as_str().unwrap_or(""),
                hop["arrow"].as_str().unwrap_or(""),
                hop["relation"].as_str().unwrap_or(""),
                hop["to"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

pub fn describe(graph: &Graph, start: u32, path: &[Hop]) -> Value {
    let mut at = start;
    let hops: Vec<Value> = path
        .iter()
        .map(|h| {
            let attrs: serde_json::Map<String, Value> =
                edge_attributes(graph, h.relation, h.edge).into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            let hop = json!({
                "from": graph.external_id(NodeId(at)),
                "to": graph.external_id(NodeId(h.neighbor)),
                "relation": h.relation.as_str(),
                "arrow": if h.outgoing { "->" } else { "<-" },
                "attributes": attrs,
            });
            at = h.neighbor;
            hop
        })
        .collect();
    Value::Array(hops)
}

/// Every shortest path (as hops from `a`) up to `limit`, or none within `max_hops`.
pub fn shortest_paths(graph: &Graph, relations: &[Relation], a: u32, b: u32, max_hops: usize, limit: usize) -> Vec<Vec<Hop>> {
    if a == b {
        return vec![Vec::new()];
    }
    // Distances from each side; parents keep every shortest predecessor hop.
    let mut dist = [HashMap::from([(a, 0usize)]), HashMap::from([(b, 0usize)])];
    let mut frontier = [vec![a], vec![b]];
    let mut meet: Vec<u32> = Vec::new();
    let mut depth = [0usize, 0usize];
    while meet.is_empty() && depth[0] + depth[1] < max_hops && !frontier[0].is_empty() && !frontier[1].is_empty() {
        let side = if frontier[0].len() <= frontier[1].len() { 0 } else { 1 };
        let mut next = Vec::new();
        for &v in &frontier[side] {
            hops(graph, relations, v, |h| {
                if !dist[side].contains_key(&h.neighbor) {
                    dist[side].insert(h.neighbor, depth[side] + 1);
                    next.push(h.neighbor);
                }
            });
        }
        depth[side] += 1;
        next.sort_unstable();
        next.dedup();
        meet = next.iter().copied().filter(|v| dist[1 - side].contains_key(v)).collect();
        frontier[side] = next;
        if dist[0].len() + dist[1].len() > MAX_VISITED {
            break;
        }
    }
    if meet.is_empty() {
        return Vec::new();
    }
    // The best meeting distance, then all paths through meeting nodes at that distance.
    let best = meet.iter().map(|m| dist[0][m] + dist[1][m]).min().unwrap_or(usize::MAX);
    let mut paths = Vec::new();
    for &m in meet.iter().filter(|m| dist[0][*m] + dist[1][*m] == best) {
        for left in walk(graph, relations, &dist[0], m, true, limit) {
            for right in walk(graph, relations, &dist[1], m, false, limit) {
                let mut p = left.clone();
                p.extend(right.iter().copied());
                paths.push(p);
                if paths.len() >= limit {
                    return paths;
                }
            }
        }
    }
    paths
}

/// Paths between the search origin of `dist` and `m`, as hops in travel order from `a` (when
/// `towards_m`) or from `m` onwards to `b`.
fn walk(graph: &Graph, relations: &[Relation], dist: &HashMap<u32, usize>, m: u32, towards_m: bool, limit: usize) -> Vec<Vec<Hop>> {
    let mut out = Vec::new();
    let mut queue: VecDeque<(u32, Vec<Hop>)> = VecDeque::from([(m, Vec::new())]);
    while let Some((v, suffix)) = queue.pop_front() {
        let d = dist[&v];
        if d == 0 {
            let mut p = suffix;
            if towards_m {
                p.reverse();
            }
            out.push(p);
            if out.len() >= limit {
                break;
            }
            continue;
        }
        let mut steps: Vec<Hop> = Vec::new();
        hops(graph, relations, v, |h| {
            if dist.get(&h.neighbor) == Some(&(d - 1)) {
                steps.push(h);
            }
        });
        steps.sort_by_key(|h| (h.neighbor, h.relation, h.edge));
        for h in steps {
            let mut next = suffix.clone();
            // Travel direction: towards m the hop goes neighbour → v; away from m, v → neighbour.
            let hop = if towards_m {
                Hop { neighbor: v, relation: h.relation, outgoing: !h.outgoing, edge: h.edge }
            } else {
                Hop { neighbor: h.neighbor, relation: h.relation, outgoing: h.outgoing, edge: h.edge }
            };
            next.push(hop);
            queue.push_back((h.neighbor, next));
        }
    }
    out
}
