//! Every ring detector behind one call: the chosen detectors run in a fixed order, a dense block
//! that only repeats a more specific ring is dropped, and the rings come back in canonical order
//! with each detector's time and notes. `ekg run rings` and `ekg score` both call [`detect`], so
//! they cannot drift apart.

use std::time::Instant;

use ekg_schema::{Graph, NodeId, Relation, TS_NULL};

use super::cycles::{fund_cycles, CycleConfig};
use super::dense::{dense_blocks, identifier_blocks, DenseConfig};
use super::diversion::{loan_diversion, DiversionConfig};
use super::flows::{flow_typologies, FlowConfig};
use super::shared::{shared_identifier_rings, SharedConfig};
use super::{sort_rings, Evidence, EvidenceKind, Ring, RingKind, Transfers};
use crate::contagion::guarantee_network;
use crate::{Projection, ProjectionConfig};

/// One ring detector (`flows` finds fan-in, fan-out, scatter-gather and gather-scatter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Detector {
    SharedIdentifier,
    FundCycle,
    Flows,
    DenseBlock,
    LoanDiversion,
    GuaranteeCircle,
}

impl Detector {
    pub const ALL: [Detector; 6] = [
        Detector::SharedIdentifier,
        Detector::FundCycle,
        Detector::Flows,
        Detector::DenseBlock,
        Detector::LoanDiversion,
        Detector::GuaranteeCircle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Detector::SharedIdentifier => "shared_identifier",
            Detector::FundCycle => "fund_cycle",
            Detector::Flows => "flows",
            Detector::DenseBlock => "dense_block",
            Detector::LoanDiversion => "loan_diversion",
            Detector::GuaranteeCircle => "guarantee_circle",
        }
    }

    pub fn parse(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

/// The detectors to run and each one's parameters.
#[derive(Clone, Debug)]
pub struct RingSearch {
    pub detectors: Vec<Detector>,
    pub shared: SharedConfig,
    pub cycles: CycleConfig,
    pub flows: FlowConfig,
    pub dense: DenseConfig,
    pub diversion: DiversionConfig,
}

impl Default for RingSearch {
    fn default() -> Self {
        RingSearch {
            detectors: Detector::ALL.to_vec(),
            shared: SharedConfig::default(),
            cycles: CycleConfig::default(),
            flows: FlowConfig::default(),
            dense: DenseConfig::default(),
            diversion: DiversionConfig::default(),
        }
    }
}

/// What the detectors found, how long each took and what each left out.
#[derive(Clone, Debug, Default)]
pub struct Detection {
    /// Canonical order ([`sort_rings`]).
    pub rings: Vec<Ring>,
    pub seconds: Vec<(Detector, f64)>,
    /// Identifier values held by more than `max_share` entities, not used as evidence.
    pub identifiers_skipped_as_too_common: Option<usize>,
    /// Fund-cycle start nodes whose search hit its budget.
    pub cycle_searches_truncated: Option<usize>,
}

/// Runs `search.detectors` in their listed order; `progress` is told when each starts.
pub fn detect(graph: &Graph, search: &RingSearch, progress: &mut dyn FnMut(Detector)) -> Detection {
    let transfers = Transfers::new(graph);
    let mut out = Detection::default();
    for &detector in &search.detectors {
        progress(detector);
        let started = Instant::now();
        match detector {
            Detector::SharedIdentifier => {
                let (found, skipped) = shared_identifier_rings(graph, &search.shared);
                out.identifiers_skipped_as_too_common = Some(skipped);
                out.rings.extend(found);
            }
            Detector::FundCycle => {
                let found = fund_cycles(&transfers, &search.cycles);
                out.cycle_searches_truncated = Some(found.truncated_starts);
                out.rings.extend(found.rings);
            }
            Detector::Flows => out.rings.extend(flow_typologies(&transfers, &search.flows)),
            Detector::DenseBlock => {
                out.rings.extend(dense_blocks(&transfers, &search.dense));
                out.rings.extend(identifier_blocks(graph, &search.dense, search.shared.max_share));
            }
            Detector::LoanDiversion => out.rings.extend(loan_diversion(graph, &transfers, &search.diversion)),
            Detector::GuaranteeCircle => out.rings.extend(guarantee_circles(graph)),
        }
        out.seconds.push((detector, started.elapsed().as_secs_f64()));
    }
    drop_repeats(&mut out.rings);
    sort_rings(&mut out.rings);
    out
}

/// A dense block with exactly the members of a more specific ring (shared identifiers, a flow
/// typology) says nothing new: it is reported once, as that ring.
fn drop_repeats(rings: &mut Vec<Ring>) {
    let specific: std::collections::HashSet<Vec<u32>> =
        rings.iter().filter(|r| r.kind != RingKind::DenseBlock).map(|r| r.members.clone()).collect();
    rings.retain(|r| r.kind != RingKind::DenseBlock || !specific.contains(&r.members));
}

/// Guarantee circles as rings (the circles of [`guarantee_network`]), their guarantees as
/// evidence. Score: members × (1 + defaulted members).
pub fn guarantee_circles(graph: &Graph) -> Vec<Ring> {
    let projection = Projection::new(graph, &ProjectionConfig { relations: vec![Relation::Guarantee], undirected: false, weighted: true });
    let defaulted: Vec<bool> = projection.nodes.iter().map(|&v| graph.is_defaulted(v)).collect();
    let result = guarantee_network(&projection, &defaulted);
    let store = graph.relation(Relation::Guarantee);
    let amounts = store.f64_attr("amount").unwrap_or(&[]);
    let starts = store.attr("start").and_then(|c| c.as_i32()).unwrap_or(&[]);
    result
        .circles
        .iter()
        .map(|circle| {
            let members: Vec<u32> = circle.members.iter().map(|&v| projection.nodes[v as usize].0).collect();
            let mut evidence = Vec::new();
            for &m in &members {
                for e in store.forward.range(NodeId(m)) {
                    let dst = store.forward.targets()[e].0;
                    if members.contains(&dst) {
                        let start = starts.get(e).copied().filter(|&d| d != ekg_schema::DATE_NULL);
                        evidence.push(Evidence {
                            src: m,
                            dst,
                            kind: EvidenceKind::Guarantee,
                            amount: amounts.get(e).copied().unwrap_or(f64::NAN),
                            ts: start.map_or(TS_NULL, |d| d as i64 * ekg_schema::MICROS_PER_DAY),
                            identifier: u32::MAX,
                        });
                    }
                }
            }
            let score = members.len() as f64 * (1.0 + circle.defaulted.len() as f64);
            Ring::new(RingKind::GuaranteeCircle, score, members, evidence, circle.total_amount)
        })
        .collect()
}
