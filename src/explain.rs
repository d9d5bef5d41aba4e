//! A ring in words, with its numbers: what an investigator reads first in `rings.parquet`
//! (`explanation`), `ekg show ring` and the ring's flags.

use ekg_algorithms::rings::{EvidenceKind, Ring, RingKind};
use ekg_schema::{Graph, NodeId, NodeKind, Relation};

const MICROS_PER_DAY: f64 = ekg_schema::MICROS_PER_DAY as f64;

/// An amount in the form analysts write it: 93 k, 1.4 M.
fn money(x: f64) -> String {
    if !x.is_finite() {
        "?".into()
    } else if x.abs() >= 1e6 {
        format!("{:.1} M", x / 1e6)
    } else if x.abs() >= 1e3 {
        format!("{:.0} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn days(micros: i64) -> String {
    let d = micros as f64 / MICROS_PER_DAY;
    if d < 1.0 {
        format!("{:.0} hours", d * 24.0)
    } else {
        format!("{d:.1} days")
    }
}

/// A rate of similar payments: "one such payment every 120 days", "3.5 such payments a day".
fn rate(per_day: f64) -> String {
    if per_day < 1.0 {
        format!("one such payment every {:.0} days", 1.0 / per_day.max(f64::MIN_POSITIVE))
    } else {
        format!("{per_day:.1} such payments a day")
    }
}

/// 10^−score bursts over the observed period, as a reader takes it.
fn chance(score: f64) -> String {
    if score <= 2.0 {
        format!("{:.2} times over the observed period", 10f64.powf(-score))
    } else {
        format!("once in 10^{score:.0} such periods")
    }
}

fn range(values: &[f64]) -> String {
    let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    if values.is_empty() {
        "?".into()
    } else if money(lo) == money(hi) {
        money(lo)
    } else {
        format!("{}–{}", money(lo), money(hi))
    }
}

fn transfers(ring: &Ring) -> impl Iterator<Item = &ekg_algorithms::rings::Evidence> {
    ring.evidence.iter().filter(|e| e.kind == EvidenceKind::Transfer)
}

/// The ring's facts in one sentence.
pub fn explain(graph: &Graph, ring: &Ring) -> String {
    let id = |v: u32| graph.external_id(NodeId(v)).to_string();
    match ring.kind {
        RingKind::ScatterGather => {
            let (source, sink) = match (transfers(ring).next(), transfers(ring).last()) {
                (Some(first), Some(last)) => (first.src, last.dst),
                _ => return String::new(),
            };
            let out: Vec<_> = transfers(ring).filter(|e| e.src == source).collect();
            let onward: Vec<_> = transfers(ring).filter(|e| e.dst == sink).collect();
            let received: f64 = out.iter().map(|e| e.amount).sum();
            let passed: f64 = onward.iter().map(|e| e.amount).sum();
            let spread = out.iter().map(|e| e.ts).max().unwrap_or(0) - out.iter().map(|e| e.ts).min().unwrap_or(0);
            let span = ring.last_ts() - ring.first_ts();
            format!(
                "{} mules received {} each from {} within {} and paid {:.0}% of it on to {} within {} of the first payment",
                out.len(),
                range(&out.iter().map(|e| e.amount).collect::<Vec<_>>()),
                id(source),
                days(spread),
                100.0 * passed / received.max(f64::MIN_POSITIVE),
                id(sink),
                days(span)
            )
        }
        RingKind::GatherScatter => {
            let Some(hub) = transfers(ring).next().map(|e| e.dst) else { return String::new() };
            let inn: Vec<f64> = transfers(ring).filter(|e| e.dst == hub).map(|e| e.amount).collect();
            let out: Vec<f64> = transfers(ring).filter(|e| e.src == hub).map(|e| e.amount).collect();
            format!(
                "{} received {} payments of {} and paid out {} of {} within {}",
                id(hub),
                inn.len(),
                range(&inn),
                out.len(),
                range(&out),
                days(ring.last_ts() - ring.first_ts())
            )
        }
        RingKind::FanIn | RingKind::FanOut => {
            let amounts: Vec<f64> = transfers(ring).map(|e| e.amount).collect();
            let (centre, verb) = match (ring.kind, transfers(ring).next()) {
                (RingKind::FanIn, Some(e)) => (e.dst, "received"),
                (_, Some(e)) => (e.src, "paid"),
                _ => return String::new(),
            };
            let parties = ring.members.len().saturating_sub(1);
            let dir = if verb == "paid" { "to" } else { "from" };
            let mut text = format!(
                "{} {verb} {} {dir} {parties} accounts within {}",
                id(centre),
                range(&amounts),
                days(ring.last_ts() - ring.first_ts())
            );
            if ring.background_per_day.is_finite() {
                text += &format!(
                    "; at its usual rate of {}, chance alone would give a burst like this {}",
                    rate(ring.background_per_day),
                    chance(ring.score)
                );
            }
            text
        }
        RingKind::FundCycle => {
            let hops = transfers(ring).count();
            let amounts: Vec<f64> = transfers(ring).map(|e| e.amount).collect();
            let rounds = hops / ring.members.len().max(1);
            format!(
                "money went round {} accounts and back {} ({hops} transfers of {}) within {} in all",
                ring.members.len(),
                if rounds == 1 { "once".to_string() } else { format!("{rounds} times") },
                range(&amounts),
                days(ring.last_ts() - ring.first_ts())
            )
        }
        RingKind::LoanDiversion => explain_diversion(graph, ring),
        RingKind::GuaranteeCircle => {
            let defaulted: Vec<u32> = ring.members.iter().copied().filter(|&m| graph.is_defaulted(NodeId(m))).collect();
            let guaranteed: Vec<_> = ring.evidence.iter().filter(|e| e.kind == EvidenceKind::Guarantee).collect();
            let total: f64 = guaranteed.iter().map(|e| e.amount).filter(|a| a.is_finite()).sum();
            let carried: f64 = guaranteed.iter().filter(|e| defaulted.contains(&e.dst)).map(|e| e.amount).filter(|a| a.is_finite()).sum();
            if defaulted.is_empty() {
                format!(
                    "{} firms guarantee each other round a circle ({} guaranteed); none has defaulted",
                    ring.members.len(),
                    money(total)
                )
            } else {
                format!(
                    "{} firms guarantee each other round a circle ({} guaranteed); {} defaulted ({}), carrying {} ({:.0}%) of the circle's guaranteed amount",
                    ring.members.len(),
                    money(total),
                    defaulted.len(),
                    defaulted.iter().map(|&m| id(m)).collect::<Vec<_>>().join(", "),
                    money(carried),
                    100.0 * carried / total.max(f64::MIN_POSITIVE)
                )
            }
        }
        RingKind::SharedIdentifier => {
            let mut kinds: Vec<&str> = ring
                .evidence
                .iter()
                .map(|e| match e.kind {
                    EvidenceKind::SharedLegalRep => "legal representative",
                    _ => graph.identifiers.kind(NodeId(e.identifier)).as_str(),
                })
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            format!("{} entities share {}", ring.members.len(), kinds.join(", "))
        }
        RingKind::DenseBlock => {
            let total: f64 = transfers(ring).map(|e| e.amount).sum();
            format!(
                "{} entities trade densely among themselves: {} transfers, {}",
                ring.members.len(),
                transfers(ring).count(),
                money(total)
            )
        }
    }
}

/// The loan, its related party and how it is related, the share of the loan and the days taken.
fn explain_diversion(graph: &Graph, ring: &Ring) -> String {
    let loans = graph.kind_range(NodeKind::Loan);
    let Some(&loan) = ring.members.iter().find(|m| loans.contains(m)) else { return String::new() };
    let amount = graph.loans.amount.get((loan - loans.start) as usize).copied().unwrap_or(f64::NAN);
    let borrower = graph.relation(Relation::LoanBorrower).reverse.neighbor_ids(NodeId(loan)).first().copied();
    let disbursed = ring.evidence.iter().find(|e| e.kind == EvidenceKind::Disbursement).map(|e| e.ts).unwrap_or(ring.first_ts());
    let Some(last) = transfers(ring).max_by_key(|e| e.ts) else { return String::new() };
    let sink = last.dst;
    let owners = graph.relation(Relation::AccountOwner).reverse.neighbor_ids(NodeId(sink));
    let party = owners.first().copied().unwrap_or(sink);
    let relation = match borrower {
        _ if loans.contains(&sink) => "another loan, repaid with it".to_string(),
        Some(b) if graph.relation(Relation::Officer).reverse.neighbor_ids(NodeId(b)).contains(&party) => "an officer of".to_string(),
        Some(b) if graph.relation(Relation::Shareholding).reverse.neighbor_ids(NodeId(b)).contains(&party) => {
            "a shareholder of".to_string()
        }
        Some(b) => {
            let ids = &graph.identifiers;
            let theirs = ids.by_entity.neighbor_ids(NodeId(party));
            match ids.by_entity.neighbor_ids(NodeId(b)).iter().find(|v| theirs.contains(v)) {
                Some(&v) => format!("sharing a {} with", ids.kind(NodeId(v)).as_str()),
                None => "related to".to_string(),
            }
        }
        None => "related to".to_string(),
    };
    format!(
        "loan {} of {}: {} ({:.0}% of the loan) reached account {} of {}, {relation} the borrower {}, {} after disbursement",
        graph.external_id(NodeId(loan)),
        money(amount),
        money(ring.total_amount),
        100.0 * ring.total_amount / amount,
        graph.external_id(NodeId(sink)),
        graph.external_id(NodeId(party)),
        borrower.map_or("?", |b| graph.external_id(NodeId(b))),
        days(last.ts - disbursed)
    )
}

#[cfg(test)]
mod tests {
    use ekg_algorithms::rings::Evidence;
    use ekg_schema::builder::{FirmRow, GraphBuilder};
    use ekg_schema::BOOL_TRUE;

    use super::*;

    const DAY: i64 = ekg_schema::MICROS_PER_DAY;

    fn firms(count: u32, defaulted: &[u32]) -> Graph {
        let mut b = GraphBuilder::new();
        for f in 0..count {
            b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
            let flag = if defaulted.contains(&f) { BOOL_TRUE } else { 0 };
            b.push_firm(&FirmRow { defaulted: flag, ..FirmRow::default() });
        }
        b.finish().expect("graph")
    }

    fn edge(kind: EvidenceKind, src: u32, dst: u32, amount: f64, ts: i64) -> Evidence {
        Evidence { src, dst, kind, amount, ts, identifier: u32::MAX }
    }

    #[test]
    fn a_guarantee_circle_names_its_defaulted_members_and_their_share() {
        let graph = firms(3, &[1]);
        let evidence = vec![
            edge(EvidenceKind::Guarantee, 0, 1, 300_000.0, ekg_schema::TS_NULL),
            edge(EvidenceKind::Guarantee, 1, 2, 100_000.0, ekg_schema::TS_NULL),
            edge(EvidenceKind::Guarantee, 2, 0, 100_000.0, ekg_schema::TS_NULL),
        ];
        let ring = Ring::new(RingKind::GuaranteeCircle, 6.0, vec![0, 1, 2], evidence, 500_000.0);
        assert_eq!(
            explain(&graph, &ring),
            "3 firms guarantee each other round a circle (500 k guaranteed); 1 defaulted (f1), carrying 300 k (60%) of the circle's guaranteed amount"
        );
    }

    #[test]
    fn a_scatter_gather_in_numbers() {
        let graph = firms(9, &[]);
        let mut evidence = Vec::new();
        for m in 1..=6u32 {
            evidence.push(edge(EvidenceKind::Transfer, 0, m, 93_000.0 + 1_000.0 * m as f64, DAY + m as i64 * DAY / 6));
            evidence.push(edge(EvidenceKind::Transfer, m, 8, 92_000.0 + 1_000.0 * m as f64, 3 * DAY + m as i64 * DAY / 3));
        }
        let ring = Ring::new(RingKind::ScatterGather, 6.0, (0..=8).filter(|&v| v != 7).collect(), evidence, 0.0);
        assert_eq!(
            explain(&graph, &ring),
            "6 mules received 94 k–99 k each from f0 within 20 hours and paid 99% of it on to f8 within 3.8 days of the first payment"
        );
    }
}
