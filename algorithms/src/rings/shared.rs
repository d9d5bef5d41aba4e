//! Shared-identifier rings: firms and persons tied by the same phones, emails, addresses,
//! devices, IPs, bank accounts or legal representative.
//!
//! An account's identifiers count for its owner. Each identifier value shared by `d` entities
//! weighs `1 / ln(1 + d)` (rarity: two firms on one phone say more than forty on one address);
//! values shared by more than `max_share` entities are registration agents or data defaults and are
//! skipped, so no clique larger than `max_share` is ever formed. Pair scores add up over shared
//! values; rings are the connected groups of pairs scoring at least `min_pair_score` (by default
//! two rare identifiers in common), of `min_size..=max_size` members. Ring score: the ring's
//! strong-pair evidence per member beyond the first.
//!
//! # Complexity
//! O(Σ d² over values with d ≤ max_share) pairs, generated in parallel and merged by sorting.

use ekg_schema::{Graph, NodeId, NodeKind, OfficerRole, Relation, TS_NULL};
use rayon::prelude::*;

use super::{Evidence, EvidenceKind, Ring, RingKind};

/// Identifier values held by more entities than this are a registration agent's or a landlord's,
/// not a ring's: they are not evidence (shared-identifier rings, identifier blocks, diversion).
pub const DEFAULT_MAX_SHARE: usize = 50;

#[derive(Clone, Debug)]
pub struct SharedConfig {
    pub max_share: usize,
    pub min_pair_score: f64,
    pub min_size: usize,
    pub max_size: usize,
    /// Count a shared legal representative as a shared identifier.
    pub legal_rep: bool,
}

impl Default for SharedConfig {
    fn default() -> Self {
        SharedConfig { max_share: DEFAULT_MAX_SHARE, min_pair_score: 1.0, min_size: 3, max_size: 100, legal_rep: true }
    }
}

/// One shared value: identifier index, or a legal-representative person (tagged by `is_rep`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Link {
    a: u32,
    b: u32,
    value: u32,
    is_rep: bool,
}

pub fn shared_identifier_rings(graph: &Graph, config: &SharedConfig) -> (Vec<Ring>, usize) {
    let owners = graph.relation(Relation::AccountOwner);
    let accounts = graph.kind_range(NodeKind::Account);
    // The entity an identifier holder stands for: an account's owner, else itself.
    let owner = |v: NodeId| -> u32 {
        if accounts.contains(&v.0) {
            owners.reverse.neighbors(v).first().map_or(v.0, |o| o.0)
        } else {
            v.0
        }
    };
    let ids = &graph.identifiers;
    let weight = |d: usize| 1.0 / (1.0 + d as f64).ln();
    let skipped = std::sync::atomic::AtomicUsize::new(0);
    let clique = |holders: &mut Vec<u32>, value: u32, is_rep: bool, out: &mut Vec<Link>| {
        holders.sort_unstable();
        holders.dedup();
        if holders.len() > config.max_share {
            skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        for (i, &a) in holders.iter().enumerate() {
            for &b in &holders[i + 1..] {
                out.push(Link { a, b, value, is_rep });
            }
        }
    };
    let mut links: Vec<Link> = (0..ids.value_count() as u32)
        .into_par_iter()
        .fold(
            || (Vec::new(), Vec::new()),
            |(mut out, mut holders): (Vec<Link>, Vec<u32>), value| {
                holders.clear();
                holders.extend(ids.by_value.neighbors(NodeId(value)).iter().map(|&v| owner(v)));
                clique(&mut holders, value, false, &mut out);
                (out, holders)
            },
        )
        .map(|(out, _)| out)
        .reduce(Vec::new, |mut a, mut b| {
            a.append(&mut b);
            a
        });
    if config.legal_rep {
        let officers = graph.relation(Relation::Officer);
        let roles = officers.attr("role").and_then(|c| c.as_u8()).unwrap_or(&[]);
        let mut holders = Vec::new();
        for person in graph.kind_range(NodeKind::Person) {
            holders.clear();
            let range = officers.forward.range(NodeId(person));
            for e in range.clone() {
                if roles.get(e) == Some(&(OfficerRole::LegalRep as u8)) {
                    holders.push(officers.forward.targets()[e].0);
                }
            }
            if holders.len() > 1 {
                clique(&mut holders, person, true, &mut links);
            }
        }
    }
    links.par_sort_unstable();
    // Pair scores; each value counts once per pair.
    let mut pairs: Vec<(u32, u32, f64, usize, usize)> = Vec::new(); // a, b, score, links start, end
    let degree = |l: &Link| -> usize {
        if l.is_rep {
            graph.relation(Relation::Officer).forward.degree(NodeId(l.value))
        } else {
            ids.by_value.degree(NodeId(l.value))
        }
    };
    let mut k = 0;
    while k < links.len() {
        let (a, b) = (links[k].a, links[k].b);
        let start = k;
        let mut score = 0.0;
        while k < links.len() && links[k].a == a && links[k].b == b {
            if k == start || links[k] != links[k - 1] {
                score += weight(degree(&links[k]).max(2));
            }
            k += 1;
        }
        if score >= config.min_pair_score {
            pairs.push((a, b, score, start, k));
        }
    }
    // Connected groups of strong pairs.
    let n = graph.node_count();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            let g = p[p[x as usize] as usize];
            p[x as usize] = g;
            x = g;
        }
        x
    }
    for &(a, b, ..) in &pairs {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
    let mut by_root: Vec<(u32, usize)> = pairs.iter().enumerate().map(|(i, p)| (find(&mut parent, p.0), i)).collect();
    by_root.sort_unstable();
    let mut rings = Vec::new();
    let mut oversized = 0;
    let mut i = 0;
    while i < by_root.len() {
        let root = by_root[i].0;
        let mut j = i;
        let mut members = Vec::new();
        let mut evidence = Vec::new();
        let mut strength = 0.0;
        while j < by_root.len() && by_root[j].0 == root {
            let (a, b, score, start, end) = pairs[by_root[j].1];
            members.push(a);
            members.push(b);
            strength += score;
            for l in &links[start..end] {
                evidence.push(Evidence {
                    src: a,
                    dst: b,
                    kind: if l.is_rep { EvidenceKind::SharedLegalRep } else { EvidenceKind::SharedIdentifier },
                    amount: f64::NAN,
                    ts: TS_NULL,
                    identifier: l.value,
                });
            }
            j += 1;
        }
        members.sort_unstable();
        members.dedup();
        if members.len() > config.max_size {
            oversized += 1;
        } else if members.len() >= config.min_size {
            let score = strength / (members.len() - 1) as f64;
            rings.push(Ring::new(RingKind::SharedIdentifier, score, members, evidence, f64::NAN));
        }
        i = j;
    }
    (rings, skipped.into_inner() + oversized)
}
