//! Ring detectors on hand-built graphs, with the near-misses that must not be reported, and fund
//! cycles against a brute-force enumeration of every time-respecting cycle on small random graphs.

use std::collections::BTreeSet;

use ekg_algorithms::rings::cases::{cases, CaseConfig};
use ekg_algorithms::rings::cycles::{fund_cycles, CycleConfig, MICROS_PER_DAY};
use ekg_algorithms::rings::dense::{dense_blocks, DenseConfig};
use ekg_algorithms::rings::flows::{chance_score, flow_typologies, FlowConfig};
use ekg_algorithms::rings::shared::{shared_identifier_rings, SharedConfig};
use ekg_algorithms::rings::{Ring, RingKind, Transfers};
use ekg_schema::builder::{FirmRow, GraphBuilder};
use ekg_schema::{Graph, IdentifierKind, NodeId, NodeKind, Relation};
use proptest::prelude::*;

use super::TestRng;

const DAY: i64 = MICROS_PER_DAY;

/// `firms` firms f0.., then `accounts` accounts a0.. (node ids firms + i); transfers between
/// accounts as (src, dst, amount, day); identifiers as (firm, kind, value).
fn graph(firms: u32, accounts: u32, transfers: &[(u32, u32, f64, i64)], identifiers: &[(u32, IdentifierKind, &str)]) -> Graph {
    let mut b = GraphBuilder::new();
    for f in 0..firms {
        b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
        b.push_firm(&FirmRow { registered_capital: 1.0, ..FirmRow::default() });
    }
    for a in 0..accounts {
        b.add_node(NodeKind::Account, &format!("a{a}")).expect("node").expect("new");
        b.account_opened.push(0);
        b.account_blocked.push(0);
    }
    let list = b.edges_mut(Relation::Transfer);
    for &(s, d, amount, day) in transfers {
        list.src.push(NodeId(firms + s));
        list.dst.push(NodeId(firms + d));
        list.f64_attr_mut(0).push(amount);
        list.i64_attr_mut(1).push(day * DAY);
    }
    for &(f, kind, value) in identifiers {
        b.add_identifier(NodeId(f), kind, value);
    }
    b.finish().expect("graph")
}

fn cycles_of(g: &Graph) -> Vec<Vec<u32>> {
    fund_cycles(&Transfers::new(g), &CycleConfig::default()).rings.into_iter().map(|r| r.members).collect()
}

#[test]
fn a_round_trip_is_one_ring_and_near_misses_are_not() {
    // 0→1→2→0 within days, amounts within 3%: a cycle.
    let g = graph(0, 3, &[(0, 1, 100.0, 1), (1, 2, 98.0, 2), (2, 0, 97.0, 4)], &[]);
    assert_eq!(cycles_of(&g), vec![vec![0, 1, 2]]);
    // Hop times 5, 6, 5: from every first hop, some later hop is not strictly later: no cycle.
    // (Times 5, 6, 4 would be a cycle started by 2 on day 4.)
    let g = graph(0, 3, &[(0, 1, 100.0, 5), (1, 2, 98.0, 6), (2, 0, 97.0, 5)], &[]);
    assert!(cycles_of(&g).is_empty());
    // Amounts differ 5×: no cycle.
    let g = graph(0, 3, &[(0, 1, 100.0, 1), (1, 2, 500.0, 2), (2, 0, 97.0, 4)], &[]);
    assert!(cycles_of(&g).is_empty());
    // Outside the 30-day window: no cycle.
    let g = graph(0, 3, &[(0, 1, 100.0, 1), (1, 2, 98.0, 20), (2, 0, 97.0, 40)], &[]);
    assert!(cycles_of(&g).is_empty());
    // Twice round the same ring: one ring, six evidence transfers in time order.
    let g = graph(0, 3, &[(0, 1, 100.0, 1), (1, 2, 98.0, 2), (2, 0, 97.0, 3), (0, 1, 50.0, 10), (1, 2, 49.0, 11), (2, 0, 48.0, 12)], &[]);
    let rings = fund_cycles(&Transfers::new(&g), &CycleConfig::default()).rings;
    assert_eq!(rings.len(), 1);
    assert_eq!(rings[0].evidence.len(), 6);
    assert!(rings[0].evidence.windows(2).all(|w| w[0].ts <= w[1].ts));
}

#[test]
fn identifiers_shared_by_a_ring_but_not_by_an_agent_address() {
    use IdentifierKind::*;
    let mut ids: Vec<(u32, IdentifierKind, String)> = Vec::new();
    // Firms 0..5 share a phone and an address: a ring.
    for f in 0..5 {
        ids.push((f, Phone, "13800000000".into()));
        ids.push((f, Address, "Room 9 Hidden Lane".into()));
    }
    // Firms 5..85 share a registration agent's address and, in pairs, nothing else.
    for f in 5..85 {
        ids.push((f, Address, "Agent Plaza 1".into()));
    }
    // Firms 85, 86 share one email only: too weak for a ring of three, and only two.
    ids.push((85, Email, "x@y.cn".into()));
    ids.push((86, Email, "x@y.cn".into()));
    let refs: Vec<(u32, IdentifierKind, &str)> = ids.iter().map(|(f, k, v)| (*f, *k, v.as_str())).collect();
    let g = graph(90, 0, &[], &refs);
    let (rings, skipped) = shared_identifier_rings(&g, &SharedConfig::default());
    assert_eq!(rings.len(), 1);
    assert_eq!(rings[0].kind, RingKind::SharedIdentifier);
    assert_eq!(rings[0].members, vec![0, 1, 2, 3, 4]);
    assert_eq!(skipped, 1, "the agent address is shared by 80 firms");
}

#[test]
fn fans_need_consistent_amounts_and_a_short_window() {
    // Account 0 pays 1..7 about 1,000 each within a day: fan-out.
    let mut t: Vec<(u32, u32, f64, i64)> = (1..7).map(|d| (0, d, 1000.0 + d as f64 * 10.0, 1)).collect();
    // Account 10 pays 11..17 wildly different amounts: no fan.
    t.extend((11..17).map(|d| (10, d, 10f64.powi((d - 10) as i32), 1)));
    // Account 20 pays 21..27 the same amount, one a week: too slow.
    t.extend((21..27).map(|d| (20, d, 1000.0, (d - 20) as i64 * 7)));
    let g = graph(0, 30, &t, &[]);
    let rings = flow_typologies(&Transfers::new(&g), &FlowConfig::default());
    let fans: Vec<&Vec<u32>> = rings.iter().filter(|r| r.kind == RingKind::FanOut).map(|r| &r.members).collect();
    assert_eq!(fans, vec![&vec![0, 1, 2, 3, 4, 5, 6]]);
    assert!(rings.iter().all(|r| r.kind == RingKind::FanOut));
}

#[test]
fn scatter_gather_through_mules_to_one_sink() {
    // 0 → {1, 2, 3, 4} on day 1, each → 9 on day 2, amounts ~500.
    let mut t: Vec<(u32, u32, f64, i64)> = (1..5).map(|m| (0, m, 500.0, 1)).collect();
    t.extend((1..5).map(|m| (m, 9, 495.0, 2)));
    let g = graph(0, 10, &t, &[]);
    let rings = flow_typologies(&Transfers::new(&g), &FlowConfig::default());
    let sg: Vec<&Vec<u32>> = rings.iter().filter(|r| r.kind == RingKind::ScatterGather).map(|r| &r.members).collect();
    assert_eq!(sg, vec![&vec![0, 1, 2, 3, 4, 9]]);
}

#[test]
fn a_scatter_gather_is_reported_whole_with_its_slow_gather_leg() {
    // Source 0 pays its supplier 20 now and then (ordinary trade, just before the structure),
    // then mules 1..=7 about 93-100 k within two days; the mules pay sink 9 one to six days
    // after the start, each shaving a few percent.
    let mut t: Vec<(u32, u32, f64, i64)> = vec![(0, 20, 5_000.0, 0), (0, 20, 6_000.0, 1)];
    for m in 1..=7u32 {
        let piece = 93_000.0 + 1_000.0 * m as f64;
        t.push((0, m, piece, 1 + (m as i64 % 2)));
        t.push((m, 9, piece * 0.97, 1 + m as i64 % 6 + 1));
    }
    let g = graph(0, 30, &t, &[]);
    let rings = flow_typologies(&Transfers::new(&g), &FlowConfig::default());
    let sg: Vec<&Vec<u32>> = rings.iter().filter(|r| r.kind == RingKind::ScatterGather).map(|r| &r.members).collect();
    assert_eq!(sg, vec![&vec![0, 1, 2, 3, 4, 5, 6, 7, 9]]);
    // Its fan-out part is not a second ring.
    assert!(rings.iter().all(|r| r.kind != RingKind::FanOut), "{rings:?}");
    // Renamed (reversed ids) and with rows reversed, the same structure.
    let flip = |v: u32| 29 - v;
    let renamed: Vec<(u32, u32, f64, i64)> = t.iter().rev().map(|&(s, d, a, day)| (flip(s), flip(d), a, day + 100)).collect();
    let g = graph(0, 30, &renamed, &[]);
    let rings = flow_typologies(&Transfers::new(&g), &FlowConfig::default());
    let mut expected: Vec<u32> = [0, 1, 2, 3, 4, 5, 6, 7, 9].iter().map(|&v| flip(v)).collect();
    expected.sort_unstable();
    let sg: Vec<&Vec<u32>> = rings.iter().filter(|r| r.kind == RingKind::ScatterGather).map(|r| &r.members).collect();
    assert_eq!(sg, vec![&expected]);
}

#[test]
fn scatter_gather_near_misses() {
    // Mules forward to three different sinks: no common sink, only a fan-out.
    let mut t: Vec<(u32, u32, f64, i64)> = (1..=6).map(|m| (0, m, 50_000.0, 1)).collect();
    t.extend((1..=6).map(|m| (m, 10 + m % 3, 49_000.0, 2)));
    let rings = flow_typologies(&Transfers::new(&graph(0, 20, &t, &[])), &FlowConfig::default());
    assert!(rings.iter().all(|r| r.kind != RingKind::ScatterGather));
    assert!(rings.iter().any(|r| r.kind == RingKind::FanOut));
    // The gather comes ten days after the receipts: past the 7-day gather window.
    let mut t: Vec<(u32, u32, f64, i64)> = (1..=4).map(|m| (0, m, 50_000.0, 1)).collect();
    t.extend((1..=4).map(|m| (m, 9, 49_000.0, 11)));
    let rings = flow_typologies(&Transfers::new(&graph(0, 20, &t, &[])), &FlowConfig::default());
    assert!(rings.iter().all(|r| r.kind != RingKind::ScatterGather));
    // The onward amounts are a tenth of what came in: not the same money.
    let mut t: Vec<(u32, u32, f64, i64)> = (1..=4).map(|m| (0, m, 50_000.0, 1)).collect();
    t.extend((1..=4).map(|m| (m, 9, 5_000.0, 2)));
    let rings = flow_typologies(&Transfers::new(&graph(0, 20, &t, &[])), &FlowConfig::default());
    assert!(rings.iter().all(|r| r.kind != RingKind::ScatterGather));
    // The source's payments spread over ten days: not one scatter.
    let mut t: Vec<(u32, u32, f64, i64)> = (1..=4).map(|m| (0, m, 50_000.0, 1 + 3 * m as i64)).collect();
    t.extend((1..=4).map(|m| (m, 9, 49_000.0, 2 + 3 * m as i64)));
    let rings = flow_typologies(&Transfers::new(&graph(0, 20, &t, &[])), &FlowConfig::default());
    assert!(rings.iter().all(|r| r.kind != RingKind::ScatterGather));
}

#[test]
fn bipartite_and_stack_layering_surface_as_dense_blocks() {
    let members = |g: &Graph| -> Vec<Vec<u32>> {
        let mut m: Vec<Vec<u32>> = dense_blocks(&Transfers::new(g), &DenseConfig::default()).into_iter().map(|r| r.members).collect();
        m.sort();
        m
    };
    // AMLSim bipartite: senders 0..4 each pay each of receivers 10..15 within days.
    let mut t = Vec::new();
    for s in 0..4 {
        for r in 10..15 {
            t.push((s, r, 9_000.0 + (s * 7 + r) as f64, 1 + (r as i64 % 3)));
        }
    }
    assert_eq!(members(&graph(0, 40, &t, &[])), vec![vec![0, 1, 2, 3, 10, 11, 12, 13, 14]]);
    // Near miss: as many transfers, but no receiver paid by two senders.
    let t: Vec<(u32, u32, f64, i64)> = (0..20u32).map(|k| (k / 5, 10 + k, 9_000.0, 1)).collect();
    assert!(members(&graph(0, 40, &t, &[])).is_empty());
    // AMLSim stack: layer 0..3 pays layer 10..13, which pays layer 20..23: two chained blocks
    // (reported as two rings sharing the middle layer).
    let mut t = Vec::new();
    for (from, to, day) in [(0u32, 10u32, 1i64), (10, 20, 3)] {
        for s in from..from + 4 {
            for r in to..to + 4 {
                t.push((s, r, 5_000.0, day));
            }
        }
    }
    let g = graph(0, 40, &t, &[]);
    assert_eq!(members(&g), vec![vec![0, 1, 2, 3, 10, 11, 12, 13], vec![10, 11, 12, 13, 20, 21, 22, 23]]);
    // ... which the review queue merges into one case: one stack, one alert.
    let blocks = dense_blocks(&Transfers::new(&g), &DenseConfig::default());
    let (found, case_of) = cases(&blocks, &[], &CaseConfig::default());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entities, vec![0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
    assert_eq!(case_of, vec![0, 0]);
}

fn ring(kind: RingKind, members: Vec<u32>) -> Ring {
    Ring::new(kind, 1.0, members, Vec::new(), f64::NAN)
}

#[test]
fn cases_merge_parts_of_one_structure_and_nothing_else() {
    // 0: a fund cycle 1-2-3; 1: a scatter-gather 1..=6 holding it (3 of 3 shared): one case.
    // 2: a fan 6, 20..24 shares only account 6 with the scatter-gather (1 of 6): its own case.
    let rings = vec![
        ring(RingKind::FundCycle, vec![1, 2, 3]),
        ring(RingKind::ScatterGather, vec![1, 2, 3, 4, 5, 6]),
        ring(RingKind::FanIn, vec![6, 20, 21, 22, 23, 24]),
    ];
    let (found, case_of) = cases(&rings, &[], &CaseConfig::default());
    assert_eq!(case_of, vec![0, 0, 1]);
    assert_eq!(found[0].rings, vec![0, 1]);
    // Near miss: exactly under half of the smaller ring shared (2 of 5): two cases.
    let rings = vec![ring(RingKind::DenseBlock, vec![1, 2, 3, 4, 5]), ring(RingKind::DenseBlock, vec![4, 5, 6, 7, 8, 9])];
    assert_eq!(cases(&rings, &[], &CaseConfig::default()).1, vec![0, 1]);
    // Accounts 10, 11, 12 are held by firms 0, 1, 2: their cycle meets the firms' shared-phone
    // ring (entities, not accounts, are compared).
    let mut owner = vec![u32::MAX; 13];
    owner[10] = 0;
    owner[11] = 1;
    owner[12] = 2;
    let rings = vec![ring(RingKind::SharedIdentifier, vec![0, 1, 2, 3]), ring(RingKind::FundCycle, vec![10, 11, 12])];
    let (found, _) = cases(&rings, &owner, &CaseConfig::default());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entities, vec![0, 1, 2, 3]);
    assert!(cases(&rings, &[], &CaseConfig::default()).0.len() == 2, "without owners the rings share nothing");
}

#[test]
fn a_hub_in_many_rings_links_none_of_them() {
    // Account 0 (a payment hub) sits in 100 fans with otherwise disjoint payers: a fan of six
    // shares one sixth, so nothing merges; and with max_rings_per_entity the hub cannot chain
    // rings that share only it even at a low overlap.
    let rings: Vec<Ring> = (0..100u32).map(|i| ring(RingKind::FanIn, std::iter::once(0).chain(1 + 2 * i..3 + 2 * i).collect())).collect();
    let loose = CaseConfig { min_overlap: 0.3, ..CaseConfig::default() };
    assert_eq!(cases(&rings, &[], &loose).0.len(), 100);
    let few = &rings[..3];
    assert_eq!(cases(few, &[], &loose).0.len(), 1, "three rings of three sharing one member: a third each");
}

proptest! {
    /// The partition into cases does not depend on the order the rings come in.
    #[test]
    fn cases_do_not_depend_on_ring_order(
        sets in proptest::collection::vec(proptest::collection::btree_set(0u32..40, 2..8), 1..40),
        order in any::<u64>(),
    ) {
        let rings: Vec<Ring> = sets.iter().map(|s| ring(RingKind::DenseBlock, s.iter().copied().collect())).collect();
        let mut permutation: Vec<usize> = (0..rings.len()).collect();
        TestRng::new(order).shuffle(&mut permutation);
        let shuffled: Vec<Ring> = permutation.iter().map(|&i| rings[i].clone()).collect();
        let partition = |rings: &[Ring], back: &dyn Fn(usize) -> usize| -> BTreeSet<Vec<usize>> {
            let (found, _) = cases(rings, &[], &CaseConfig::default());
            found.iter().map(|c| { let mut r: Vec<usize> = c.rings.iter().map(|&i| back(i as usize)).collect(); r.sort_unstable(); r }).collect()
        };
        prop_assert_eq!(partition(&shuffled, &|i| permutation[i]), partition(&rings, &|i| i));
    }
}

/// SciPy's Poisson upper tail (fixtures/scipy_poisson.json, made by make_scipy_poisson.py).
#[test]
fn the_chance_score_matches_scipy() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scipy_poisson.json");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() > 100);
    for c in cases {
        let (k, mu, windows, expected) = (
            c["k"].as_u64().expect("k") as usize,
            c["mu"].as_f64().expect("mu"),
            c["windows"].as_f64().expect("windows"),
            c["score"].as_f64().expect("score"),
        );
        let got = chance_score(k, mu, windows);
        assert!((got - expected).abs() <= 1e-9 * expected.abs().max(1.0), "k {k} mu {mu} windows {windows}: {got} vs scipy {expected}");
    }
}

#[test]
fn a_fan_is_scored_against_its_own_usual_rate() {
    // Over 120 days: account 0 receives about 1,000 from 30..60 every few days (a busy supplier,
    // 120 similar payments); in days 50-51 it receives from 1..7 too. Account 100, quiet, gets
    // one payment a month, then the same burst from 101..107.
    let mut t: Vec<(u32, u32, f64, i64)> = (0..120).map(|d| (30 + (d % 30) as u32, 0, 1_000.0 + (d % 7) as f64, d as i64)).collect();
    t.extend((1..7).map(|p| (p, 0, 1_000.0, 50)));
    t.extend((0..4).map(|m| (120, 100, 1_000.0, 30 * m as i64)));
    t.extend((101..107).map(|p| (p, 100, 1_000.0, 50)));
    let g = graph(0, 130, &t, &[]);
    let rings = flow_typologies(&Transfers::new(&g), &FlowConfig::default());
    let fans: Vec<&Ring> = rings.iter().filter(|r| r.kind == RingKind::FanIn).collect();
    assert_eq!(fans.len(), 1, "{fans:?}");
    assert_eq!(fans[0].members, vec![100, 101, 102, 103, 104, 105, 106]);
    // μ = (4 + 1) / 120 days × 3 days; −log10(P(Poisson(μ) ≥ 6) × 40 windows) ≈ 6.7.
    assert!((fans[0].score - 6.7).abs() < 0.05, "{}", fans[0].score);
    // Everything reported, the busy supplier's burst scores far lower than the quiet account's.
    let all = flow_typologies(&Transfers::new(&g), &FlowConfig { min_fan_score: f64::NEG_INFINITY, ..FlowConfig::default() });
    let busy = all.iter().filter(|r| r.kind == RingKind::FanIn && r.members.contains(&0)).map(|r| r.score).fold(f64::MIN, f64::max);
    assert!(busy < FlowConfig::DEFAULT_MIN_FAN_SCORE, "{busy}");
}

#[test]
fn a_fan_scores_the_same_however_busy_the_rest_of_the_graph_is() {
    let burst: Vec<(u32, u32, f64, i64)> = (1..7).map(|p| (p, 0, 5_000.0, 40)).collect();
    let frame = [(20, 21, 10.0, 0), (21, 20, 10.0, 90)];
    let alone: Vec<_> = burst.iter().chain(&frame).copied().collect();
    // Thousands of unrelated payments among 100..400 in the same 90 days.
    let mut busy = alone.clone();
    busy.extend((0..5_000u32).map(|i| (100 + i % 300, 100 + (i * 7 + 1) % 300, 5_000.0, (i % 90) as i64)));
    let score = |t: &[(u32, u32, f64, i64)]| {
        let rings = flow_typologies(&Transfers::new(&graph(0, 400, t, &[])), &FlowConfig::default());
        rings.iter().find(|r| r.kind == RingKind::FanIn && r.members[0] == 0).map(|r| r.score)
    };
    let quiet = score(&alone).expect("the fan");
    assert!(quiet > FlowConfig::DEFAULT_MIN_FAN_SCORE);
    assert_eq!(score(&busy), Some(quiet));
}

#[test]
fn a_dense_block_behind_camouflage() {
    // Senders 0..5 each pay receivers 10..15; each also pays two popular accounts 20, 21 that
    // many others (30..60) pay too; background: 30..60 pay 20, 21 and a private receiver.
    let mut t = Vec::new();
    for s in 0..5 {
        for r in 10..15 {
            t.push((s, r, 100.0, 1));
        }
        t.push((s, 20, 10.0, 2));
        t.push((s, 21, 10.0, 3));
    }
    for s in 30..60 {
        t.push((s, 20, 10.0, 2));
        t.push((s, 21, 10.0, 3));
        t.push((s, s + 40, 10.0, 4));
    }
    let g = graph(0, 100, &t, &[]);
    let blocks = dense_blocks(&Transfers::new(&g), &DenseConfig::default());
    let best = blocks.iter().max_by(|a, b| a.score.total_cmp(&b.score)).expect("a block");
    // The whole block, none of the background senders that share its popular receivers (the
    // popular receivers themselves may ride along: they add little weight).
    for m in [0, 1, 2, 3, 4, 10, 11, 12, 13, 14] {
        assert!(best.members.contains(&m), "{m} missing from {:?}", best.members);
    }
    assert!(best.members.iter().all(|&m| !(30..60).contains(&m)), "{:?}", best.members);
}

#[test]
fn a_cycle_is_found_whichever_member_sends_first() {
    // The same three-hop round trip, started by each member in turn (ids 0 < 1 < 2).
    let hops = [(0u32, 1u32), (1, 2), (2, 0)];
    for first in 0..3 {
        let t: Vec<(u32, u32, f64, i64)> =
            (0..3).map(|k| hops[(first + k) % 3]).enumerate().map(|(k, (s, d))| (s, d, 100.0 - k as f64, 1 + k as i64)).collect();
        let g = graph(0, 3, &t, &[]);
        assert_eq!(cycles_of(&g), vec![vec![0, 1, 2]], "first sender {}", hops[first].0);
    }
    // Four hops, 6-24 h apart, started by the largest id: found.
    let g = graph(0, 4, &[(3, 1, 100.0, 10), (1, 0, 99.0, 11), (0, 2, 98.0, 12), (2, 3, 97.0, 13)], &[]);
    assert_eq!(cycles_of(&g), vec![vec![0, 1, 2, 3]]);
    // Near misses from a middle start: two hops at the same instant are not "later".
    let g = graph(0, 3, &[(1, 2, 100.0, 5), (2, 0, 99.0, 5), (0, 1, 98.0, 6)], &[]);
    assert!(cycles_of(&g).is_empty());
    // ... and a round trip longer than the window, whichever hop comes first.
    let g = graph(0, 3, &[(1, 2, 100.0, 1), (2, 0, 99.0, 20), (0, 1, 98.0, 40)], &[]);
    assert!(cycles_of(&g).is_empty());
}

#[test]
fn instances_started_by_different_members_are_one_ring() {
    // 0→1→2→0 on days 1-3, then 2→0→1→2 on days 10-12: one node cycle, two instances.
    let t = [(0, 1, 100.0, 1), (1, 2, 99.0, 2), (2, 0, 98.0, 3), (2, 0, 50.0, 10), (0, 1, 49.0, 11), (1, 2, 48.0, 12)];
    let g = graph(0, 3, &t, &[]);
    let rings = fund_cycles(&Transfers::new(&g), &CycleConfig::default()).rings;
    assert_eq!(rings.len(), 1);
    assert_eq!(rings[0].evidence.len(), 6);
    // The reverse direction round the same members is another cycle.
    let g = graph(0, 3, &[(0, 1, 100.0, 1), (1, 2, 99.0, 2), (2, 0, 98.0, 3), (1, 0, 50.0, 10), (0, 2, 49.0, 11), (2, 1, 48.0, 12)], &[]);
    assert_eq!(fund_cycles(&Transfers::new(&g), &CycleConfig::default()).rings.len(), 2);
}

/// Every time-respecting simple cycle by brute force, written independently of the detector:
/// every sequence of transfers (any first sender) that is a simple cycle, strictly later hop by
/// hop, within the window and tolerance of its first hop; each reported as its member set.
fn brute_force(t: &[(u32, u32, f64, i64)], config: &CycleConfig) -> BTreeSet<Vec<u32>> {
    fn extend(t: &[(u32, u32, f64, i64)], config: &CycleConfig, hops: &mut Vec<usize>, out: &mut BTreeSet<Vec<u32>>) {
        let first = t[hops[0]];
        let last = t[hops[hops.len() - 1]];
        let members: Vec<u32> = hops.iter().map(|&h| t[h].0).collect();
        if last.1 == first.0 {
            if members.len() >= config.min_len {
                let mut set = members;
                set.sort_unstable();
                out.insert(set);
            }
            return;
        }
        if members.len() >= config.max_len || members.contains(&last.1) {
            return;
        }
        for (i, e) in t.iter().enumerate() {
            let in_window = e.3 <= first.3 + config.window / DAY;
            let close = (e.2 - first.2).abs() <= config.tolerance * e.2.max(first.2);
            if e.0 == last.1 && e.3 > last.3 && in_window && close {
                hops.push(i);
                extend(t, config, hops, out);
                hops.pop();
            }
        }
    }
    let mut out = BTreeSet::new();
    for i in 0..t.len() {
        extend(t, config, &mut vec![i], &mut out);
    }
    out
}

/// The fund-cycle member sets of `t` on `n` accounts.
/// `t` with every account renamed by `map`, every day shifted by `shift`, rows shuffled (seed
/// `order`).
fn moved(t: &[(u32, u32, f64, i64)], map: &dyn Fn(u32) -> u32, order: u64, shift: i64) -> Vec<(u32, u32, f64, i64)> {
    let mut moved: Vec<(u32, u32, f64, i64)> = t.iter().map(|&(s, d, a, day)| (map(s), map(d), a, day + shift)).collect();
    super::TestRng::new(order).shuffle(&mut moved);
    moved
}

fn cycle_sets(n: u32, t: &[(u32, u32, f64, i64)], config: &CycleConfig) -> (BTreeSet<Vec<u32>>, usize) {
    let found = fund_cycles(&Transfers::new(&graph(0, n, t, &[])), config);
    (found.rings.into_iter().map(|r| r.members).collect(), found.truncated_starts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn cycles_match_brute_force(
        n in 2u32..7,
        raw in proptest::collection::vec((0u32..7, 0u32..7, 90.0f64..115.0, 0i64..40), 0..18),
    ) {
        let t: Vec<(u32, u32, f64, i64)> = raw.into_iter().filter(|e| e.0 < n && e.1 < n && e.0 != e.1).collect();
        let config = CycleConfig { max_len: 4, ..CycleConfig::default() };
        let (found, truncated) = cycle_sets(n, &t, &config);
        prop_assert_eq!(truncated, 0);
        prop_assert_eq!(found, brute_force(&t, &config));
    }

    /// Renaming accounts by a random bijection, shuffling the rows and shifting every time by the
    /// same amount leave the cycles unchanged (up to the renaming).
    #[test]
    fn cycles_survive_renaming_shuffling_and_time_shifts(
        n in 2u32..8,
        raw in proptest::collection::vec((0u32..8, 0u32..8, 90.0f64..115.0, 0i64..40), 0..20),
        rename in Just((0u32..8).collect::<Vec<u32>>()).prop_shuffle(),
        order in any::<u64>(),
        shift in -400i64..400,
    ) {
        let t: Vec<(u32, u32, f64, i64)> = raw.into_iter().filter(|e| e.0 < n && e.1 < n && e.0 != e.1).collect();
        // A bijection of 0..n: `rename` restricted to the values below n.
        let kept: Vec<u32> = rename.iter().copied().filter(|&x| x < n).collect();
        let map = |v: u32| kept[v as usize];
        let moved = moved(&t, &map, order, shift);
        let config = CycleConfig { max_len: 5, ..CycleConfig::default() };
        let (original, _) = cycle_sets(n, &t, &config);
        let (renamed, _) = cycle_sets(n, &moved, &config);
        let expected: BTreeSet<Vec<u32>> = original.into_iter().map(|set| { let mut s: Vec<u32> = set.into_iter().map(map).collect(); s.sort_unstable(); s }).collect();
        prop_assert_eq!(renamed, expected);
    }

    /// Flow typologies (fans, scatter-gather, gather-scatter) do not depend on how accounts are
    /// numbered, in which order rows come, or when the clock starts: the same kinds over the same
    /// members (up to the renaming).
    #[test]
    fn flows_survive_renaming_shuffling_and_time_shifts(
        n in 4u32..12,
        raw in proptest::collection::vec((0u32..12, 0u32..12, 0usize..4, 0i64..12), 0..40),
        rename in Just((0u32..12).collect::<Vec<u32>>()).prop_shuffle(),
        order in any::<u64>(),
        shift in -400i64..400,
    ) {
        const AMOUNTS: [f64; 4] = [1_000.0, 1_050.0, 960.0, 7_000.0];
        // A planted fan-out (0 pays 1, 2, 3) among random payments, so findings exist to compare.
        let mut t: Vec<(u32, u32, f64, i64)> = (1..4).map(|d| (0, d, 1_000.0, 1)).collect();
        t.extend(raw.into_iter().filter(|e| e.0 < n && e.1 < n && e.0 != e.1).map(|(s, d, a, day)| (s, d, AMOUNTS[a], day)));
        let kept: Vec<u32> = rename.iter().copied().filter(|&x| x < n).collect();
        let map = |v: u32| kept[v as usize];
        let moved = moved(&t, &map, order, shift);
        // Every fan, however likely by chance: the findings' invariance is under test.
        let config = FlowConfig { min_fan: 3, min_fan_score: f64::NEG_INFINITY, ..FlowConfig::default() };
        let findings = |t: &[(u32, u32, f64, i64)], back: &dyn Fn(u32) -> u32| -> BTreeSet<(RingKind, Vec<u32>)> {
            flow_typologies(&Transfers::new(&graph(0, n, t, &[])), &config)
                .into_iter()
                .map(|r| {
                    let mut members: Vec<u32> = r.members.iter().map(|&m| back(m)).collect();
                    members.sort_unstable();
                    (r.kind, members)
                })
                .collect()
        };
        let inverse = |v: u32| kept.iter().position(|&k| k == v).map_or(u32::MAX, |p| p as u32);
        let original = findings(&t, &|v| v);
        prop_assert!(!original.is_empty(), "the planted fan (or a structure holding it) is found");
        prop_assert_eq!(findings(&moved, &inverse), original);
    }

    /// Dense blocks (FRAUDAR peeling) do not depend on account numbering, row order or the clock:
    /// the same member sets with the same scores (up to the renaming). Random bipartite-ish
    /// payments with a planted block, so that blocks exist to be compared.
    #[test]
    fn dense_blocks_survive_renaming_shuffling_and_time_shifts(
        noise in proptest::collection::vec((0u32..30, 0u32..30, 0i64..20), 0..60),
        rename in Just((0u32..30).collect::<Vec<u32>>()).prop_shuffle(),
        order in any::<u64>(),
        shift in -400i64..400,
    ) {
        let mut t: Vec<(u32, u32, f64, i64)> = Vec::new();
        for s in 0..4u32 {
            for r in 20..24u32 {
                t.push((s, r, 100.0, 1 + s as i64));
            }
        }
        t.extend(noise.into_iter().filter(|e| e.0 != e.1).map(|(s, d, day)| (s, d, 50.0, day)));
        let map = |v: u32| rename[v as usize];
        let moved = moved(&t, &map, order, shift);
        let blocks = |t: &[(u32, u32, f64, i64)], back: &dyn Fn(u32) -> u32| -> BTreeSet<(Vec<u32>, u64)> {
            dense_blocks(&Transfers::new(&graph(0, 30, t, &[])), &DenseConfig::default())
                .into_iter()
                .map(|r| {
                    let mut members: Vec<u32> = r.members.iter().map(|&m| back(m)).collect();
                    members.sort_unstable();
                    (members, (r.score * 1e9).round() as u64)
                })
                .collect()
        };
        let inverse = |v: u32| rename.iter().position(|&k| k == v).map_or(u32::MAX, |p| p as u32);
        let original = blocks(&t, &|v| v);
        prop_assert!(!original.is_empty(), "the planted block is found");
        prop_assert_eq!(blocks(&moved, &inverse), original);
    }
}
