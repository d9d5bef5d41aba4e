//! Risk flags: one row per (node, flag), with a severity and a reason an investigator can act on,
//! pointing to the evidence (a ring id, or a path of ids).

use ekg_algorithms::contagion::{CascadeResult, GuaranteeResult, ImpactNetwork, ImpactSources, StrongestChains};
use ekg_algorithms::ownership::{OwnershipResult, NONE};
use ekg_algorithms::rings::{Ring, RingKind};
use ekg_algorithms::Projection;
use ekg_schema::{Graph, NodeId};

use super::config::FlagSection;

/// The longest chain of impacts a contagion flag's evidence follows.
const CHAIN_HOPS: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Flag {
    pub node: u32,
    pub flag: &'static str,
    pub severity: Severity,
    pub reason: String,
    pub ring_id: Option<String>,
    pub path: Option<String>,
}

fn id(graph: &Graph, v: u32) -> &str {
    graph.external_id(NodeId(v))
}

fn ring_phrase(kind: RingKind) -> &'static str {
    match kind {
        RingKind::SharedIdentifier => "shares phones, addresses, devices or a legal representative with",
        RingKind::FundCycle => "passed money round a cycle with",
        RingKind::FanIn => "received a burst of similar payments from",
        RingKind::FanOut => "sent a burst of similar payments to",
        RingKind::ScatterGather => "moved money through mules in a scatter-gather with",
        RingKind::GatherScatter => "gathered and scattered money with",
        RingKind::DenseBlock => "trades densely in a closed block with",
        RingKind::LoanDiversion => "took part in diverting loan funds with",
        RingKind::GuaranteeCircle => "is in a guarantee circle with",
    }
}

/// Flags from rings: each member once per kind (its best ring), and the owner of a member
/// account too.
pub fn ring_flags(graph: &Graph, rings: &[Ring], ring_ids: &[String], owner: &[u32], config: &FlagSection, flags: &mut Vec<Flag>) {
    // (node, kind) → best ring index.
    let mut best: std::collections::BTreeMap<(u32, RingKind), usize> = std::collections::BTreeMap::new();
    for (i, r) in rings.iter().enumerate() {
        if r.score < config.min_ring_score.get(r.kind.as_str()).copied().unwrap_or(0.0) {
            continue;
        }
        for &m in &r.members {
            let targets = [m, owner.get(m as usize).copied().unwrap_or(NONE)];
            for t in targets.into_iter().filter(|&t| t != NONE) {
                let entry = best.entry((t, r.kind)).or_insert(i);
                if rings[*entry].score < r.score {
                    *entry = i;
                }
            }
        }
    }
    // A ring's explanation walks its evidence: made once per ring, not once per flagged member.
    let mut explained: Vec<Option<String>> = vec![None; rings.len()];
    for ((node, kind), i) in best {
        let r = &rings[i];
        let severity = match kind {
            RingKind::FundCycle
            | RingKind::LoanDiversion
            | RingKind::SharedIdentifier
            | RingKind::ScatterGather
            | RingKind::GatherScatter => Severity::High,
            RingKind::GuaranteeCircle if r.score > r.members.len() as f64 => Severity::High,
            _ => Severity::Medium,
        };
        let others: Vec<&str> = r.members.iter().filter(|&&m| m != node).take(3).map(|&m| id(graph, m)).collect();
        let more = r.members.len().saturating_sub(1 + others.len());
        let via = if r.members.binary_search(&node).is_ok() { String::new() } else { " through its account".to_string() };
        let reason = format!(
            "{}{via} {} {}{} (ring {}, {} members, score {:.3}): {}",
            id(graph, node),
            ring_phrase(kind),
            others.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() },
            ring_ids[i],
            r.members.len(),
            r.score,
            explained[i].get_or_insert_with(|| crate::explain::explain(graph, r))
        );
        flags.push(Flag { node, flag: kind.as_str(), severity, reason, ring_id: Some(ring_ids[i].clone()), path: None });
    }
}

/// Guarantors exposed to a defaulted firm down their guarantee chain, with the shortest path.
pub fn guarantee_flags(graph: &Graph, projection: &Projection, result: &GuaranteeResult, flags: &mut Vec<Flag>) {
    let defaulted: Vec<bool> = projection.nodes.iter().map(|&v| graph.is_defaulted(v)).collect();
    for v in 0..projection.node_count() as u32 {
        if !result.exposed_to_default[v as usize] {
            continue;
        }
        // Shortest guarantee path to a defaulted firm (BFS, ties by smaller id: lists are sorted).
        let mut parent = std::collections::HashMap::new();
        let mut queue = std::collections::VecDeque::from([v]);
        parent.insert(v, u32::MAX);
        let mut target = None;
        while let Some(x) = queue.pop_front() {
            if x != v && defaulted[x as usize] {
                target = Some(x);
                break;
            }
            for &y in projection.out_neighbors(x) {
                if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(y) {
                    e.insert(x);
                    queue.push_back(y);
                }
            }
        }
        let Some(t) = target else { continue };
        let mut path = vec![t];
        let mut x = t;
        while let Some(&p) = parent.get(&x) {
            if p == u32::MAX {
                break;
            }
            path.push(p);
            x = p;
        }
        path.reverse();
        let ids: Vec<&str> = path.iter().map(|&p| graph.external_id(projection.nodes[p as usize])).collect();
        let node = projection.nodes[v as usize].0;
        let hops = path.len() - 1;
        let reason = if hops == 1 {
            format!("{} guarantees {}, which has defaulted", ids[0], ids[1])
        } else {
            format!("{} guarantees, through a chain of {hops}, {} which has defaulted: {}", ids[0], ids[hops], ids.join("→"))
        };
        let severity = if hops == 1 { Severity::High } else { Severity::Medium };
        flags.push(Flag { node, flag: "guarantees_defaulted", severity, reason, ring_id: None, path: Some(ids.join(">")) });
    }
}

/// Firms whose default probability rises well above their pd through contagion, each with the
/// chain of defaults that contributes most (its evidence path).
pub fn contagion_flags(
    graph: &Graph,
    pd: &[f64],
    cascade: &CascadeResult,
    impact: Option<&ImpactNetwork>,
    config: &FlagSection,
    flags: &mut Vec<Flag>,
) {
    use rayon::prelude::*;
    let sources = impact.map(ImpactSources::new);
    let strongest = sources.as_ref().map(|s| StrongestChains::new(s, pd, CHAIN_HOPS));
    let flagged: Vec<usize> = (0..cascade.probability.len().min(pd.len()))
        .filter(|&f| {
            let (p, base) = (cascade.probability[f], pd[f]);
            base > 0.0 && p >= config.contagion_probability && p / base >= config.contagion_lift && base < 1.0
        })
        .collect();
    // Chains of every firm are known; each flagged firm's is walked back in parallel, kept in firm order.
    let chains: Vec<Option<_>> = flagged.par_iter().map(|&f| strongest.as_ref().and_then(|s| s.chain(f as u32))).collect();
    for (&f, chain) in flagged.iter().zip(chains) {
        let (p, base) = (cascade.probability[f], pd[f]);
        let ids: Vec<&str> = chain.iter().flat_map(|c| c.firms.iter().map(|&x| id(graph, x))).collect();
        let evidence = match &chain {
            Some(c) => format!(
                "; strongest chain: {} (pd {:.3}) → {}, contributing {:.3}",
                ids[0],
                pd.get(c.firms[0] as usize).copied().unwrap_or(0.0),
                ids[1..].join(" → "),
                c.contribution
            ),
            None => String::new(),
        };
        flags.push(Flag {
            node: f as u32,
            flag: "contagion_risk",
            severity: Severity::Medium,
            reason: format!(
                "{}: default probability {p:.3} with contagion through guarantees, holdings and supply links, vs pd {base:.3} alone (lift {:.1}, 95% CI {:.3}–{:.3}){evidence}",
                id(graph, f as u32),
                p / base,
                cascade.low[f],
                cascade.high[f]
            ),
            ring_id: None,
            path: chain.is_some().then(|| ids.join(">")),
        });
    }
}

/// Controllers of several defaulted firms, and ownership data problems.
pub fn ownership_flags(graph: &Graph, result: &OwnershipResult, config: &FlagSection, flags: &mut Vec<Flag>) {
    let mut controlled: std::collections::BTreeMap<u32, Vec<u32>> = std::collections::BTreeMap::new();
    for (f, &c) in result.controller.iter().enumerate() {
        if c != NONE && graph.is_defaulted(NodeId(f as u32)) {
            controlled.entry(c).or_default().push(f as u32);
        }
    }
    for (c, firms) in controlled {
        if firms.len() as u32 >= config.defaulted_controlled {
            let names: Vec<&str> = firms.iter().take(5).map(|&f| id(graph, f)).collect();
            flags.push(Flag {
                node: c,
                flag: "controls_defaulted_firms",
                severity: Severity::Medium,
                reason: format!(
                    "{} is the actual controller of {} defaulted firms: {}{}",
                    id(graph, c),
                    firms.len(),
                    names.join(", "),
                    if firms.len() > 5 { ", …" } else { "" }
                ),
                ring_id: None,
                path: None,
            });
        }
    }
    for &f in &result.circular_control {
        flags.push(Flag {
            node: f,
            flag: "circular_control",
            severity: Severity::Low,
            reason: format!("{} and other firms control each other through a holding cycle; no outside controller", id(graph, f)),
            ring_id: None,
            path: None,
        });
    }
    for cycle in &result.closed_cycles {
        for &f in cycle {
            flags.push(Flag {
                node: f,
                flag: "closed_holding_cycle",
                severity: Severity::Low,
                reason: format!("data problem: {} is in a holding cycle with no outside owner ({} firms)", id(graph, f), cycle.len()),
                ring_id: None,
                path: None,
            });
        }
    }
}
