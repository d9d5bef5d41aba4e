//! Cases: the rings that are parts of one structure, merged into one alert. A stack of mules
//! surfaces as two dense blocks sharing the middle layer; a fund cycle runs inside a
//! gather-scatter; the firms of a shared-phone ring also pass money round a cycle between their
//! accounts. Each is one thing for an investigator to open, not two or three.
//!
//! Rings are compared by the entities they involve: an account counts as its owner when `owner`
//! gives one, so a ring of accounts meets a ring of the firms holding them. Two rings are parts
//! of one structure when they share at least `min_overlap` of the smaller one's entities; cases
//! are the connected groups of that relation. An entity in more than `max_rings_per_entity`
//! rings (a payment hub, a registration agent's client) links nothing, so one busy account
//! cannot chain unrelated rings into one case.
//!
//! # Complexity
//! O(Σ ring sizes + candidate pairs) with hub entities left out; the pairs are counted in
//! parallel over rings, then joined in one union-find pass in ring order (deterministic).

use rayon::prelude::*;

use super::Ring;
use crate::hash::FastMap;
use crate::ownership::NONE;

#[derive(Clone, Debug)]
pub struct CaseConfig {
    /// Shared entities over the smaller ring's entities from which two rings are one structure.
    pub min_overlap: f64,
    /// Entities in more rings than this link none of them.
    pub max_rings_per_entity: usize,
}

impl Default for CaseConfig {
    fn default() -> Self {
        CaseConfig { min_overlap: 0.5, max_rings_per_entity: 64 }
    }
}

/// One case: indices into the ring list (ascending) and the entities involved (ascending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub rings: Vec<u32>,
    pub entities: Vec<u32>,
}

/// The entities of a ring: members, accounts replaced by their owners.
fn entities(ring: &Ring, owner: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = ring.members.iter().map(|&m| owner.get(m as usize).copied().filter(|&o| o != NONE).unwrap_or(m)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Cases of `rings`, ordered by their first ring, and each ring's case index.
pub fn cases(rings: &[Ring], owner: &[u32], config: &CaseConfig) -> (Vec<Case>, Vec<u32>) {
    let keys: Vec<Vec<u32>> = rings.par_iter().map(|r| entities(r, owner)).collect();
    // Entity → rings holding it, as sorted (entity, ring) pairs.
    let mut holders: Vec<(u32, u32)> = keys.iter().enumerate().flat_map(|(i, k)| k.iter().map(move |&e| (e, i as u32))).collect();
    holders.par_sort_unstable();
    let mut index: FastMap<u32, std::ops::Range<usize>> = FastMap::default();
    for (start, group) in holders.chunk_by(|a, b| a.0 == b.0).scan(0usize, |at, g| {
        let start = *at;
        *at += g.len();
        Some((start, g))
    }) {
        if group.len() > 1 && group.len() <= config.max_rings_per_entity {
            index.insert(group[0].0, start..start + group.len());
        }
    }
    // Pairs (i, j), i < j, that share enough entities.
    let links: Vec<(u32, u32)> = (0..rings.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let mut shared: FastMap<u32, usize> = FastMap::default();
            for e in &keys[i] {
                if let Some(range) = index.get(e) {
                    for &(_, j) in &holders[range.clone()] {
                        if j as usize > i {
                            *shared.entry(j).or_insert(0) += 1;
                        }
                    }
                }
            }
            let mut linked: Vec<(u32, u32)> = shared
                .into_iter()
                .filter(|&(j, count)| count as f64 >= config.min_overlap * keys[i].len().min(keys[j as usize].len()) as f64)
                .map(|(j, _)| (i as u32, j))
                .collect();
            linked.sort_unstable();
            linked
        })
        .collect();
    let mut parent: Vec<u32> = (0..rings.len() as u32).collect();
    fn root(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    for (i, j) in links {
        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
        if a != b {
            // The smaller index stays the root: cases are numbered by their first ring.
            parent[a.max(b) as usize] = a.min(b);
        }
    }
    let mut case_of = vec![u32::MAX; rings.len()];
    let mut out: Vec<Case> = Vec::new();
    for i in 0..rings.len() as u32 {
        let r = root(&mut parent, i);
        if case_of[r as usize] == u32::MAX {
            case_of[r as usize] = out.len() as u32;
            out.push(Case { rings: Vec::new(), entities: Vec::new() });
        }
        let c = case_of[r as usize];
        case_of[i as usize] = c;
        out[c as usize].rings.push(i);
        out[c as usize].entities.extend_from_slice(&keys[i as usize]);
    }
    for case in &mut out {
        case.entities.sort_unstable();
        case.entities.dedup();
    }
    (out, case_of)
}
