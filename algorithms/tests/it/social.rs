//! The owner's social capital on a hand-built group with known answers.

use ekg_algorithms::ownership::social::{network_exposure, social_capital};
use ekg_algorithms::ownership::NONE;
use ekg_schema::builder::{FirmRow, GraphBuilder};
use ekg_schema::{Graph, NodeId, NodeKind, Relation, BOOL_FALSE, BOOL_TRUE};

/// Firms f0..f4 (f1 and f2 defaulted; pds 0.1, 1, 1, 0.3, unknown), persons p0 (node 5), p1 (6);
/// p0 is an officer of f0, f1 and f2 (twice for f2: two roles); p1 of f0 and f3; p0 guarantees
/// two loans (of f3 and f4).
fn graph() -> Graph {
    let mut b = GraphBuilder::new();
    let pds = [0.1, 1.0, 1.0, 0.3, f64::NAN];
    for f in 0..5u32 {
        b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
        let defaulted = if f == 1 || f == 2 { BOOL_TRUE } else { BOOL_FALSE };
        b.push_firm(&FirmRow { registered_capital: 1.0, defaulted, pd: pds[f as usize], ..FirmRow::default() });
    }
    for p in 0..2 {
        b.add_node(NodeKind::Person, &format!("p{p}")).expect("node").expect("new");
    }
    let officers = b.edges_mut(Relation::Officer);
    for (p, f) in [(5, 0), (5, 1), (5, 2), (5, 2), (6, 0), (6, 3)] {
        officers.src.push(NodeId(p));
        officers.dst.push(NodeId(f));
        officers.u8_attr_mut(0).push(0);
    }
    let guarantees = b.edges_mut(Relation::Guarantee);
    for f in [3, 4] {
        guarantees.src.push(NodeId(5));
        guarantees.dst.push(NodeId(f));
        guarantees.f64_attr_mut(0).push(1000.0);
        guarantees.i32_attr_mut(1).push(ekg_schema::DATE_NULL);
        guarantees.i32_attr_mut(2).push(ekg_schema::DATE_NULL);
    }
    b.finish().expect("graph")
}

#[test]
fn the_controller_and_officers_elsewhere_are_carried_to_the_firm() {
    let g = graph();
    // p0 (node 5) controls f0, f1 and f3; f2 and f4 have no controller.
    let controller = [5, 5, NONE, 5, NONE];
    let s = social_capital(&g, &controller);
    // f0: the controller's other firms are f1 (defaulted, pd 1) and f3 (pd 0.3).
    assert_eq!(s.controller_other_firms[0], Some(2));
    assert_eq!(s.controller_defaulted_share[0], 0.5);
    assert!((s.controller_mean_pd[0] - 0.65).abs() < 1e-12);
    assert_eq!(s.controller_guarantees_given[0], Some(2));
    // f1 (itself defaulted): the others are f0 and f3, neither defaulted.
    assert_eq!(s.controller_defaulted_share[1], 0.0);
    assert!((s.controller_mean_pd[1] - 0.2).abs() < 1e-12);
    // No controller: nulls.
    assert_eq!((s.controller_other_firms[2], s.controller_guarantees_given[4]), (None, None));
    assert!(s.controller_defaulted_share[4].is_nan());
    // f0's officers: p0 runs f1, f2 besides (both defaulted), p1 runs f3: 3 others, 2 defaulted.
    assert_eq!(s.officer_other_firms[0], 3);
    assert!((s.officer_defaulted_share[0] - 2.0 / 3.0).abs() < 1e-12);
    // f2 (defaulted, p0 listed twice): p0's others are f0 and f1, one defaulted.
    assert_eq!(s.officer_other_firms[2], 2);
    assert_eq!(s.officer_defaulted_share[2], 0.5);
    // f4 has no officer.
    assert_eq!(s.officer_other_firms[4], 0);
    assert!(s.officer_defaulted_share[4].is_nan());
}

#[test]
fn a_persons_exposure_runs_through_the_people_they_do_business_with() {
    // p0 (5) runs f0, f1, f2; p1 (6) runs f0 and f3. Through f0, p1 sees p0's other firms f1, f2
    // (both defaulted); p0 sees p1's other firm f3 (not defaulted).
    let e = network_exposure(&graph());
    assert_eq!((e.firms[6], e.defaulted_share[6]), (Some(2), 1.0));
    assert_eq!((e.firms[5], e.defaulted_share[5]), (Some(1), 0.0));
    assert_eq!(e.firms[0], None, "firms have no person-level exposure");
}

#[test]
fn tenure_counts_from_the_latest_legal_representative() {
    use ekg_algorithms::ownership::social::officer_tenure;
    use ekg_schema::OfficerRole;
    // f0's officers: p0 legal representative since 2020-01-01, p1 director since 2024-01-01, p2
    // legal representative since 2025-01-01 (the current one); f1 has an officer without a date.
    let mut b = GraphBuilder::new();
    for f in 0..2u32 {
        b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
        b.push_firm(&FirmRow { registered_capital: 1.0, ..FirmRow::default() });
    }
    for p in 0..3 {
        b.add_node(NodeKind::Person, &format!("p{p}")).expect("node").expect("new");
    }
    let officers = b.edges_mut(Relation::Officer);
    for (p, f, role, from) in [
        (2, 0, OfficerRole::LegalRep, 18_262),
        (3, 0, OfficerRole::Director, 19_723),
        (4, 0, OfficerRole::LegalRep, 20_089),
        (2, 1, OfficerRole::Director, ekg_schema::DATE_NULL),
    ] {
        officers.src.push(NodeId(p));
        officers.dst.push(NodeId(f));
        officers.u8_attr_mut(0).push(role as u8);
        officers.i32_attr_mut(1).push(from);
        officers.i32_attr_mut(2).push(ekg_schema::DATE_NULL);
    }
    let g = b.finish().expect("graph");
    let as_of = 20_454 * ekg_schema::MICROS_PER_DAY; // 2026-01-01
    let t = officer_tenure(&g, as_of);
    assert!((t.legal_rep_years[0] - 365.0 / 365.25).abs() < 1e-12);
    assert!((t.mean_years[0] - (2192.0 + 731.0 + 365.0) / 3.0 / 365.25).abs() < 1e-12);
    assert!(t.legal_rep_years[1].is_nan() && t.mean_years[1].is_nan());
}

/// Network exposure against a direct count from the links, on a graph of 40,000 firms (more than
/// one block of the firm index) with officers, person and firm holders, and repeated links.
#[test]
fn network_exposure_matches_a_direct_count() {
    use std::collections::{BTreeMap, BTreeSet};
    let (firms, persons) = (40_000u32, 30_000u32);
    let mix = |i: u64| -> u64 {
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^ (x >> 32)
    };
    let mut b = GraphBuilder::new();
    for f in 0..firms {
        b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
        let defaulted = if mix(u64::from(f)) % 9 == 0 { BOOL_TRUE } else { BOOL_FALSE };
        b.push_firm(&FirmRow { registered_capital: 1.0, defaulted, ..FirmRow::default() });
    }
    for p in 0..persons {
        b.add_node(NodeKind::Person, &format!("p{p}")).expect("node").expect("new");
    }
    let person = |i: u64| firms + (mix(i) % u64::from(persons)) as u32;
    let firm = |i: u64| (mix(i) % u64::from(firms)) as u32;
    // (person or firm, firm) links; some repeated on purpose.
    let officer_links: Vec<(u32, u32)> = (0..50_000u64).map(|i| (person(2 * i), firm(2 * i + 1))).collect();
    let mut holding_links: Vec<(u32, u32)> = (0..40_000u64).map(|i| (person(3 * i + 100_000_000), firm(3 * i + 100_000_001))).collect();
    holding_links.extend((0..5_000u64).map(|i| (firm(i + 200_000_000), firm(i + 300_000_000))));
    holding_links.extend(officer_links.iter().take(3_000).copied());
    let officers = b.edges_mut(Relation::Officer);
    for &(p, f) in officer_links.iter().chain(officer_links.iter().take(2_000)) {
        officers.src.push(NodeId(p));
        officers.dst.push(NodeId(f));
        officers.u8_attr_mut(0).push(0);
        officers.i32_attr_mut(1).push(ekg_schema::DATE_NULL);
        officers.i32_attr_mut(2).push(ekg_schema::DATE_NULL);
    }
    let holdings = b.edges_mut(Relation::Shareholding);
    for &(h, f) in &holding_links {
        holdings.src.push(NodeId(h));
        holdings.dst.push(NodeId(f));
        holdings.f64_attr_mut(0).push(0.2);
        holdings.i32_attr_mut(1).push(ekg_schema::DATE_NULL);
        holdings.i32_attr_mut(2).push(ekg_schema::DATE_NULL);
    }
    let graph = b.finish().expect("graph");
    let e = network_exposure(&graph);

    // Direct: p's co-persons share a firm with p; each contributes its firms other than those it
    // shares with p.
    let person_links = officer_links.iter().chain(&holding_links).filter(|l| l.0 >= firms);
    let mut firms_of: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    let mut persons_of: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for &(p, f) in person_links {
        firms_of.entry(p).or_default().insert(f);
        persons_of.entry(f).or_default().insert(p);
    }
    let bad = |f: u32| graph.is_defaulted(NodeId(f));
    let mut checked = 0;
    for p in firms..firms + persons {
        let mine = firms_of.get(&p).cloned().unwrap_or_default();
        let co: BTreeSet<u32> = mine.iter().flat_map(|f| persons_of[f].iter().copied()).filter(|&q| q != p).collect();
        let (mut count, mut defaulted) = (0u32, 0u32);
        for q in &co {
            for &f in firms_of[q].difference(&mine) {
                count += 1;
                defaulted += u32::from(bad(f));
            }
        }
        assert_eq!(e.firms[p as usize], Some(count), "person {p}");
        if count > 0 {
            assert!((e.defaulted_share[p as usize] - f64::from(defaulted) / f64::from(count)).abs() < 1e-12, "person {p}");
            checked += 1;
        } else {
            assert!(e.defaulted_share[p as usize].is_nan(), "person {p}");
        }
    }
    assert!(checked > 10_000, "only {checked} persons with exposure");
}
