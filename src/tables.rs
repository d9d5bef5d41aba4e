//! Analysis tables written by both `ekg run` and `ekg score`, built in one place.

use ekg_algorithms::contagion::{cascade_lift, CascadeResult};
use ekg_algorithms::ownership::GroupResult;
use ekg_schema::{Graph, NodeId, NodeKind};

use crate::table::Table;

/// Links shown in a group member's reason; longer chains show their last ones.
const REASON_LINKS: usize = 6;

/// "P controls A; A controls B": the chain of links from the anchor to the firm.
fn reason(graph: &Graph, r: &GroupResult, firm: u32) -> Option<String> {
    let chain = r.chain(firm);
    if chain.is_empty() {
        let g = r.group[firm as usize] as usize;
        return (r.size[g] > 1).then(|| "anchor of the group".to_string());
    }
    let skip = chain.len().saturating_sub(REASON_LINKS);
    let mut parts: Vec<String> = Vec::with_capacity(chain.len() - skip + 1);
    if skip > 0 {
        parts.push(format!("… {skip} links"));
    }
    for link in &chain[skip..] {
        parts.push(format!("{} {} {}", graph.external_id(NodeId(link.a)), link.kind.phrase(), graph.external_id(NodeId(link.b))));
    }
    Some(parts.join("; "))
}

/// `groups.parquet`; `shown[g]` is the id group `g` is written as (carried from the previous
/// night, or `g`).
pub fn groups(graph: &Graph, r: &GroupResult, shown: &[u32]) -> anyhow::Result<Table> {
    Table::new()
        .utf8("node_id", graph.kind_range(NodeKind::Firm).map(|f| graph.external_id(NodeId(f))))
        .u32("group_id", r.group.iter().map(|&g| shown[g as usize]))
        .u32("group_size", r.group.iter().map(|&g| r.size[g as usize]))
        .f64("group_exposure", &r.group.iter().map(|&g| r.exposure[g as usize]).collect::<Vec<_>>())
        .utf8("anchor_id", r.group.iter().map(|&g| graph.external_id(NodeId(r.anchor[g as usize]))))
        .utf8_opt("reason", graph.kind_range(NodeKind::Firm).map(|f| reason(graph, r, f)))
        .documented(&crate::dictionary::GROUPS)
}

/// `cascade.parquet`: each firm's cascade probability with its interval; `pd` per firm.
pub fn cascade(graph: &Graph, pd: &[f64], r: &CascadeResult) -> anyhow::Result<Table> {
    let lift = cascade_lift(&r.probability, pd);
    Table::new()
        .utf8("node_id", graph.kind_range(NodeKind::Firm).map(|f| graph.external_id(NodeId(f))))
        .f64("pd", pd)
        .f64("cascade_pd", &r.probability)
        .f64("ci_low", &r.low)
        .f64("ci_high", &r.high)
        .f64_nan_null("lift", lift.iter().copied())
        .u32("contagion_runs", r.contagion_runs.iter().copied())
        .documented(&crate::dictionary::CASCADE)
}
