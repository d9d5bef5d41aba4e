//! Firms around core enterprises and where they sit on the core's value chain.
//!
//! A firm is **upstream** of a core when a chain of supply links leads from it to the core, each
//! firm supplying the next (a supplier, or a supplier's supplier); **downstream** when the chain
//! runs the other way (a customer, or a customer's customer); in the core's **cluster** when it
//! is linked within `max_hops` only by a chain that changes direction (a supplier of a customer,
//! a customer of a supplier). Each is searched breadth-first from all cores at once, so a firm
//! gets its nearest core and a shortest chain; a firm both upstream and downstream within reach
//! takes the shorter, upstream on a tie, and cluster only when it is neither. Ties between cores
//! and paths go to the smaller id, so the result does not depend on thread timing or input order
//! beyond the ids.
//!
//! # Complexity
//! Three breadth-first searches over the supply relation, O(firms + links) each.

use std::collections::{HashMap, VecDeque};

use ekg_schema::{Graph, NodeId, Relation};

/// Where a firm sits relative to its core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Position {
    Upstream,
    Downstream,
    Cluster,
}

impl Position {
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Upstream => "upstream",
            Position::Downstream => "downstream",
            Position::Cluster => "cluster",
        }
    }
}

/// A firm within reach of a core.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainMember {
    pub firm: u32,
    pub core: u32,
    pub position: Position,
    pub hops: u32,
    /// The chain from the firm to the core, both included.
    pub path: Vec<u32>,
    /// Volume of each link of `path`, in order (NaN where unknown).
    pub volumes: Vec<f64>,
}

/// (parent towards the core, core, depth, volume of the link to the parent) per reached firm.
type Reached = HashMap<u32, (u32, u32, u32, f64)>;

/// Breadth-first from the cores; `up` follows links to suppliers, `down` to customers.
fn search(graph: &Graph, cores: &[u32], max_hops: u32, up: bool, down: bool) -> Reached {
    let store = graph.relation(Relation::Supply);
    let volume = store.f64_attr("volume").unwrap_or(&[]);
    let mut reached: Reached = HashMap::new();
    let mut queue: VecDeque<(u32, u32, u32)> = cores.iter().map(|&c| (c, c, 0)).collect();
    while let Some((v, core, depth)) = queue.pop_front() {
        if depth == max_hops {
            continue;
        }
        let mut next: Vec<(u32, f64)> = Vec::new();
        if up {
            // v's suppliers: reverse supply links into v.
            let range = store.reverse.range(NodeId(v));
            for (i, s) in range.clone().zip(&store.reverse.targets()[range]) {
                next.push((s.0, volume.get(store.reverse_edge[i] as usize).copied().unwrap_or(f64::NAN)));
            }
        }
        if down {
            let range = store.forward.range(NodeId(v));
            for (e, t) in range.clone().zip(&store.forward.targets()[range]) {
                next.push((t.0, volume.get(e).copied().unwrap_or(f64::NAN)));
            }
        }
        next.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        for (u, vol) in next {
            if cores.binary_search(&u).is_ok() || reached.contains_key(&u) {
                continue;
            }
            reached.insert(u, (v, core, depth + 1, vol));
            queue.push_back((u, core, depth + 1));
        }
    }
    reached
}

/// Every firm within `max_hops` supply links of a core (cores themselves excluded), by id.
pub fn chain_members(graph: &Graph, cores: &[u32], max_hops: u32) -> Vec<ChainMember> {
    let mut cores = cores.to_vec();
    cores.sort_unstable();
    cores.dedup();
    let upstream = search(graph, &cores, max_hops, true, false);
    let downstream = search(graph, &cores, max_hops, false, true);
    let cluster = search(graph, &cores, max_hops, true, true);
    let mut out: Vec<ChainMember> = cluster
        .keys()
        .map(|&firm| {
            let (position, reached) = match (upstream.get(&firm), downstream.get(&firm)) {
                (Some(u), Some(d)) if d.2 < u.2 => (Position::Downstream, &downstream),
                (Some(_), _) => (Position::Upstream, &upstream),
                (None, Some(_)) => (Position::Downstream, &downstream),
                (None, None) => (Position::Cluster, &cluster),
            };
            let (mut path, mut volumes) = (vec![firm], Vec::new());
            let mut at = firm;
            while let Some(&(parent, _, _, vol)) = reached.get(&at) {
                path.push(parent);
                volumes.push(vol);
                at = parent;
            }
            let (_, core, hops, _) = reached[&firm];
            ChainMember { firm, core, position, hops, path, volumes }
        })
        .collect();
    out.sort_by_key(|m| m.firm);
    out
}
