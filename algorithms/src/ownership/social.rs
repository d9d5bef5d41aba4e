//! The owner's social capital on the firm row: what the firm's actual controller and its
//! officers do elsewhere. A controller who controls many other firms, several of them defaulted,
//! or who guarantees many loans, and officers who run firms that failed, are credit signals that
//! the firm's own data does not show.
//!
//! Per firm: the other firms its controller controls, their default rate and mean pd, and the
//! guarantees the controller gives; the other firms its officers run (counted per officer, so a
//! firm shared by two officers counts twice) and their default rate.
//!
//! # Complexity
//! O(firms + officer links · log) : per-person totals first, then one pass over firms.

use rayon::prelude::*;

use ekg_schema::{Graph, NodeId, NodeKind, Relation};

use super::NONE;

/// Per firm (firms are ids `0..firms`); NaN or `None` where the firm has no controller or no
/// officer running another firm.
#[derive(Clone, Debug, PartialEq)]
pub struct SocialCapital {
    pub controller_other_firms: Vec<Option<u32>>,
    pub controller_defaulted_share: Vec<f64>,
    pub controller_mean_pd: Vec<f64>,
    pub controller_guarantees_given: Vec<Option<u32>>,
    pub officer_other_firms: Vec<u32>,
    pub officer_defaulted_share: Vec<f64>,
}

/// `controller` per firm (`NONE` without one), as `ownership` finds it.
pub fn social_capital(graph: &Graph, controller: &[u32]) -> SocialCapital {
    let firms = graph.kind_count(NodeKind::Firm);
    let n = graph.node_count();
    let defaulted = |f: usize| graph.is_defaulted(NodeId(f as u32));
    let pd = |f: usize| graph.firms.pd.get(f).copied().filter(|x| x.is_finite());
    // Per controller: firms controlled, defaulted among them, Σ pd and how many pds are known.
    let (mut controlled, mut controlled_defaulted) = (vec![0u32; n], vec![0u32; n]);
    let (mut pd_sum, mut pd_known) = (vec![0.0f64; n], vec![0u32; n]);
    for (f, &c) in controller.iter().enumerate().take(firms) {
        if c == NONE {
            continue;
        }
        controlled[c as usize] += 1;
        controlled_defaulted[c as usize] += u32::from(defaulted(f));
        if let Some(p) = pd(f) {
            pd_sum[c as usize] += p;
            pd_known[c as usize] += 1;
        }
    }
    let guarantees = graph.relation(Relation::Guarantee);
    let officers = graph.relation(Relation::Officer);
    // Per person: distinct firms run and defaulted among them (a nominee running thousands of
    // firms costs its list once, not once per firm).
    let (mut run, mut run_defaulted) = (vec![0u32; n], vec![0u32; n]);
    for p in graph.kind_range(NodeKind::Person) {
        let mut firms_run: Vec<u32> = officers.forward.neighbor_ids(NodeId(p)).to_vec();
        firms_run.sort_unstable();
        firms_run.dedup();
        run[p as usize] = firms_run.len() as u32;
        run_defaulted[p as usize] = firms_run.iter().filter(|&&g| defaulted(g as usize)).count() as u32;
    }
    let mut out = SocialCapital {
        controller_other_firms: vec![None; firms],
        controller_defaulted_share: vec![f64::NAN; firms],
        controller_mean_pd: vec![f64::NAN; firms],
        controller_guarantees_given: vec![None; firms],
        officer_other_firms: vec![0; firms],
        officer_defaulted_share: vec![f64::NAN; firms],
    };
    for f in 0..firms {
        let c = controller.get(f).copied().unwrap_or(NONE);
        if c != NONE {
            let ci = c as usize;
            let others = controlled[ci].saturating_sub(1);
            out.controller_other_firms[f] = Some(others);
            out.controller_guarantees_given[f] = Some(guarantees.forward.neighbor_ids(NodeId(c)).len() as u32);
            if others > 0 {
                let defaulted_others = controlled_defaulted[ci] - u32::from(defaulted(f));
                out.controller_defaulted_share[f] = defaulted_others as f64 / others as f64;
                let (sum, known) = match pd(f) {
                    Some(p) => (pd_sum[ci] - p, pd_known[ci] - 1),
                    None => (pd_sum[ci], pd_known[ci]),
                };
                if known > 0 {
                    out.controller_mean_pd[f] = sum / known as f64;
                }
            }
        }
        // The firm's officers, each once, and the other firms each runs.
        let mut people: Vec<u32> = officers.reverse.neighbor_ids(NodeId(f as u32)).to_vec();
        people.sort_unstable();
        people.dedup();
        let (mut others, mut defaulted_others) = (0u32, 0u32);
        for p in people {
            others += run[p as usize].saturating_sub(1);
            defaulted_others += run_defaulted[p as usize].saturating_sub(u32::from(defaulted(f)));
        }
        out.officer_other_firms[f] = others;
        if others > 0 {
            out.officer_defaulted_share[f] = defaulted_others as f64 / others as f64;
        }
    }
    out
}

/// Per person (indexed by node id; `None`/NaN for other nodes): the firms of their co-officers
/// and co-holders — the persons who run or hold a firm with them — other than the firms they
/// share, counted per co-person, and the share of those that defaulted: how close the person
/// stands to defaults through the people they do business with.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkExposure {
    pub firms: Vec<Option<u32>>,
    pub defaulted_share: Vec<f64>,
}

/// O(Σ over firms of (its officers and person holders)²) after per-person totals and each
/// firm's distinct persons (firms have few), parallel over persons.
pub fn network_exposure(graph: &Graph) -> NetworkExposure {
    let n = graph.node_count();
    let persons = graph.kind_range(NodeKind::Person);
    let (officers, holdings) = (graph.relation(Relation::Officer), graph.relation(Relation::Shareholding));
    let defaulted = |f: u32| graph.is_defaulted(NodeId(f));
    // Firms each person runs or holds (distinct), and the persons of each firm (distinct).
    let firms_of = |p: u32| -> Vec<u32> {
        let mut firms: Vec<u32> = officers.forward.neighbor_ids(NodeId(p)).to_vec();
        firms.extend_from_slice(holdings.forward.neighbor_ids(NodeId(p)));
        firms.sort_unstable();
        firms.dedup();
        firms
    };
    // Each firm's distinct persons, listed once: every one of its persons reads them.
    let firm_persons = persons_by_firm(graph);
    // Per person: distinct firms and defaulted among them.
    let totals: Vec<(u32, u32)> = persons
        .clone()
        .into_par_iter()
        .map(|p| {
            let firms = firms_of(p);
            (firms.len() as u32, firms.iter().filter(|&&f| defaulted(f)).count() as u32)
        })
        .collect();
    let exposure: Vec<(u32, u32)> = persons
        .clone()
        .into_par_iter()
        .map_init(Vec::new, |shared: &mut Vec<(u32, u32, u32)>, p| {
            // Co-persons with how many of p's firms (and defaulted ones) they share.
            shared.clear();
            for f in firms_of(p) {
                for &q in firm_persons.of(f).iter().filter(|&&q| q != p) {
                    shared.push((q, 1, u32::from(defaulted(f))));
                }
            }
            shared.sort_unstable();
            let (mut firms, mut defaulted_firms) = (0u32, 0u32);
            for group in shared.chunk_by(|a, b| a.0 == b.0) {
                let (total, total_defaulted) = totals[(group[0].0 - persons.start) as usize];
                let (common, common_defaulted) = group.iter().fold((0, 0), |acc, x| (acc.0 + x.1, acc.1 + x.2));
                firms += total.saturating_sub(common);
                defaulted_firms += total_defaulted.saturating_sub(common_defaulted);
            }
            (firms, defaulted_firms)
        })
        .collect();
    let mut out = NetworkExposure { firms: vec![None; n], defaulted_share: vec![f64::NAN; n] };
    for (p, (firms, defaulted_firms)) in persons.zip(exposure) {
        out.firms[p as usize] = Some(firms);
        if firms > 0 {
            out.defaulted_share[p as usize] = defaulted_firms as f64 / firms as f64;
        }
    }
    out
}

/// Firms per block of [`persons_by_firm`]'s parallel pass.
const FIRM_BLOCK: u32 = 16_384;

/// Per firm, its distinct officers and person holders, ascending: compressed rows over the firms.
struct FirmPersons {
    first_firm: u32,
    offsets: Vec<usize>,
    persons: Vec<u32>,
}

impl FirmPersons {
    fn of(&self, firm: u32) -> &[u32] {
        let Some(f) = firm.checked_sub(self.first_firm) else { return &[] };
        let f = f as usize;
        match (self.offsets.get(f), self.offsets.get(f + 1)) {
            (Some(&from), Some(&to)) => &self.persons[from..to],
            _ => &[],
        }
    }
}

fn persons_by_firm(graph: &Graph) -> FirmPersons {
    let persons = graph.kind_range(NodeKind::Person);
    let (officers, holdings) = (graph.relation(Relation::Officer), graph.relation(Relation::Shareholding));
    let firms = graph.kind_range(NodeKind::Firm);
    // Blocks of firms in parallel, joined in firm order.
    let blocks: Vec<(Vec<u32>, Vec<u32>)> = (firms.start..firms.end)
        .step_by(FIRM_BLOCK as usize)
        .collect::<Vec<u32>>()
        .into_par_iter()
        .map(|start| {
            let (mut lengths, mut members, mut people) = (Vec::new(), Vec::new(), Vec::new());
            for f in start..start.saturating_add(FIRM_BLOCK).min(firms.end) {
                people.clear();
                people.extend(
                    officers
                        .reverse
                        .neighbor_ids(NodeId(f))
                        .iter()
                        .chain(holdings.reverse.neighbor_ids(NodeId(f)))
                        .copied()
                        .filter(|q| persons.contains(q)),
                );
                people.sort_unstable();
                people.dedup();
                lengths.push(people.len() as u32);
                members.extend_from_slice(&people);
            }
            (lengths, members)
        })
        .collect();
    let mut offsets = Vec::with_capacity(firms.len() + 1);
    offsets.push(0usize);
    let mut members = Vec::with_capacity(blocks.iter().map(|b| b.1.len()).sum());
    for (lengths, block_members) in blocks {
        for length in lengths {
            offsets.push(offsets[offsets.len() - 1] + length as usize);
        }
        members.extend_from_slice(&block_members);
    }
    FirmPersons { first_firm: firms.start, offsets, persons: members }
}

/// How long a firm's officers have held office at the as-of instant, in years; NaN where unknown.
pub struct OfficerTenure {
    /// Per firm: since its legal representative took office (the most recent, if several).
    pub legal_rep_years: Vec<f64>,
    /// Per firm: mean over its officers with a known start.
    pub mean_years: Vec<f64>,
}

/// Officer tenure at `as_of` (µs) from the officer links' `valid_from` dates. A recent change of
/// legal representative is a known warning sign in small-firm lending.
pub fn officer_tenure(graph: &Graph, as_of: i64) -> OfficerTenure {
    let firms = graph.kind_count(NodeKind::Firm);
    let store = graph.relation(Relation::Officer);
    let roles = store.attr("role").and_then(|c| c.as_u8()).unwrap_or(&[]);
    let from = store.attr("valid_from").and_then(|c| c.as_i32()).unwrap_or(&[]);
    let today = as_of.div_euclid(ekg_schema::MICROS_PER_DAY);
    let years = |e: usize| -> Option<f64> {
        let d = from.get(e).copied().filter(|&d| d != ekg_schema::DATE_NULL)?;
        Some((today - i64::from(d)).max(0) as f64 / 365.25)
    };
    let mut legal_rep_years = vec![f64::NAN; firms];
    let mut mean_years = vec![f64::NAN; firms];
    for f in 0..firms as u32 {
        let (mut sum, mut known) = (0.0, 0u32);
        for i in store.reverse.range(NodeId(f)) {
            let e = store.reverse_edge[i] as usize;
            let Some(y) = years(e) else { continue };
            sum += y;
            known += 1;
            if roles.get(e) == Some(&(ekg_schema::OfficerRole::LegalRep as u8)) {
                let current = &mut legal_rep_years[f as usize];
                *current = if current.is_nan() { y } else { current.min(y) };
            }
        }
        if known > 0 {
            mean_years[f as usize] = sum / f64::from(known);
        }
    }
    OfficerTenure { legal_rep_years, mean_years }
}
