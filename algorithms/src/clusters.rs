//! Industrial clusters: firms of one region that trade with each other along supply chains.
//!
//! The supply layer is cut to the links whose two firms are in the same (known) region; Louvain
//! communities of that layer with at least `min_size` firms are the clusters. Each has a core (the
//! member with the most supply links inside the cluster, ties to the larger supply volume inside,
//! then the smaller id), its size, the share of members that defaulted and its penetration (the
//! share of members already borrowing: with at least one loan). A bank uses them to lend around a
//! core enterprise where it already knows the chain, and to see which clusters are sick.
//!
//! # Complexity
//! One pass over the supply links, a sort of the kept links, Louvain on them.

use ekg_schema::{Graph, NodeId, NodeKind, Relation};

use crate::community::louvain::{louvain, LouvainConfig};
use crate::ownership::NONE;
use crate::Projection;

#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Fewest firms a cluster has.
    pub min_size: u32,
    pub louvain: LouvainConfig,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig { min_size: 3, louvain: LouvainConfig::default() }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// The region's code in the firms' region dictionary.
    pub region: u32,
    pub core: u32,
    /// Firm ids, ascending.
    pub members: Vec<u32>,
    pub defaulted: u32,
    pub borrowers: u32,
    /// Supply links inside the cluster.
    pub links: u32,
}

impl Cluster {
    pub fn default_rate(&self) -> f64 {
        self.defaulted as f64 / self.members.len().max(1) as f64
    }

    pub fn penetration(&self) -> f64 {
        self.borrowers as f64 / self.members.len().max(1) as f64
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct IndustrialClusters {
    /// Per firm: its cluster (index into `clusters`), `NONE` outside every cluster.
    pub cluster_of: Vec<u32>,
    /// Largest first (ties: smallest first member).
    pub clusters: Vec<Cluster>,
}

pub fn industrial_clusters(graph: &Graph, config: &ClusterConfig) -> IndustrialClusters {
    let firms = graph.kind_range(NodeKind::Firm);
    let firm_count = firms.len();
    let region = graph.firms.region.codes();
    let region_of = |f: u32| graph.firms.region.get(f as usize).filter(|r| !r.is_empty()).map(|_| region[f as usize]);
    let supply = graph.relation(Relation::Supply);
    let volume = supply.f64_attr("volume").unwrap_or(&[]);
    // Same-region firm-to-firm links, as (a, b, volume) with a < b, in firm ids.
    let mut links: Vec<(u32, u32, f64)> = Vec::new();
    for s in firms.clone() {
        let Some(r) = region_of(s) else { continue };
        for e in supply.forward.range(NodeId(s)) {
            let t = supply.forward.targets()[e].0;
            if t != s && firms.contains(&t) && region_of(t) == Some(r) {
                let v = volume.get(e).copied().filter(|v| v.is_finite() && *v > 0.0).unwrap_or(0.0);
                links.push((s.min(t), s.max(t), v));
            }
        }
    }
    links.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    // Firms on a kept link, renumbered 0..n in id order.
    let mut local_of = vec![NONE; firm_count];
    let mut nodes: Vec<u32> = links.iter().flat_map(|&(a, b, _)| [a, b]).collect();
    nodes.sort_unstable();
    nodes.dedup();
    for (l, &f) in nodes.iter().enumerate() {
        local_of[f as usize] = l as u32;
    }
    let edges: Vec<(u32, u32, f64)> = links.iter().map(|&(a, b, _)| (local_of[a as usize], local_of[b as usize], 1.0)).collect();
    let layer = Projection::from_edges(nodes.len(), &edges, true, false);
    let community = louvain(&layer, &config.louvain).community;
    let count = community.iter().max().map_or(0, |&m| m as usize + 1);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); count];
    for (l, &c) in community.iter().enumerate() {
        members[c as usize].push(nodes[l]);
    }
    // Links and volume inside each community, per member.
    let mut inside = vec![(0u32, 0.0f64); firm_count];
    let mut links_of = vec![0u32; count];
    for &(a, b, v) in &links {
        let (ca, cb) = (community[local_of[a as usize] as usize], community[local_of[b as usize] as usize]);
        if ca == cb {
            links_of[ca as usize] += 1;
            for f in [a, b] {
                inside[f as usize].0 += 1;
                inside[f as usize].1 += v;
            }
        }
    }
    let borrows = |f: u32| graph.relation(Relation::LoanBorrower).forward.range(NodeId(f)).next().is_some();
    let mut clusters: Vec<Cluster> = members
        .into_iter()
        .zip(links_of)
        .filter(|(m, _)| m.len() >= config.min_size.max(2) as usize)
        .map(|(mut m, links)| {
            m.sort_unstable();
            let core = m
                .iter()
                .copied()
                .max_by(|&a, &b| {
                    let (x, y) = (inside[a as usize], inside[b as usize]);
                    x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)).then(b.cmp(&a))
                })
                .unwrap_or(NONE);
            Cluster {
                region: region[m[0] as usize],
                core,
                defaulted: m.iter().filter(|&&f| graph.is_defaulted(NodeId(f))).count() as u32,
                borrowers: m.iter().filter(|&&f| borrows(f)).count() as u32,
                members: m,
                links,
            }
        })
        .collect();
    clusters.sort_by(|a, b| b.members.len().cmp(&a.members.len()).then(a.members[0].cmp(&b.members[0])));
    let mut cluster_of = vec![NONE; firm_count];
    for (k, c) in clusters.iter().enumerate() {
        for &f in &c.members {
            cluster_of[f as usize] = k as u32;
        }
    }
    IndustrialClusters { cluster_of, clusters }
}
