//! Group customers: related-party groups as a lender must aggregate them for concentration limits
//! (e.g. China's CBIRC rules on group customers, Basel's "connected counterparties").
//!
//! Firms are one group when linked, directly or through a chain, by control (a holder with a
//! majority chain, or the actual controller), and optionally by mutual guarantees or a shared legal
//! representative. Persons take part as connectors (a controller ties the firms it controls) but
//! groups count firms only. Each member's reason is its link chain from the group's anchor — the
//! member with the most links, ties to the smaller id — found by breadth-first search, so the
//! reason is a shortest chain.
//!
//! # Complexity
//! O(n + links) with a union-find over all nodes; sequential (links are few per node).

use super::control::OwnershipResult;
use super::NONE;

/// Why two nodes are in one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LinkKind {
    /// `a` controls `b` by a majority chain (a is the holder through which control comes).
    Control = 0,
    /// `a` is `b`'s actual controller as its largest owner.
    LargestOwner = 1,
    /// `a` and `b` guarantee each other.
    MutualGuarantee = 2,
    /// `a` (a person) is `b`'s legal representative.
    LegalRep = 3,
}

impl LinkKind {
    /// The phrase between the two ids in a reason: "A controls B".
    pub fn phrase(self) -> &'static str {
        match self {
            LinkKind::Control => "controls",
            LinkKind::LargestOwner => "is the largest owner of",
            LinkKind::MutualGuarantee => "guarantees and is guaranteed by",
            LinkKind::LegalRep => "is legal representative of",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupLink {
    pub a: u32,
    pub b: u32,
    pub kind: LinkKind,
}

#[derive(Clone, Debug, Default)]
pub struct GroupResult {
    /// Per firm: dense group id, 0 = the group with most firms (ties: smallest firm id).
    pub group: Vec<u32>,
    /// Per group: member firms.
    pub size: Vec<u32>,
    /// Per group: Σ exposure of member firms (unknown exposure counts 0).
    pub exposure: Vec<f64>,
    /// Per group: the anchor node the reasons start from.
    pub anchor: Vec<u32>,
    /// Per node: the previous node on its chain from the anchor, `NONE` at the anchor or alone.
    pub parent: Vec<u32>,
    /// Per node: the link to its parent, oriented as stored (`a` → `b`).
    pub parent_link: Vec<Option<GroupLink>>,
}

impl GroupResult {
    /// The links from the anchor down to `node`, in order.
    pub fn chain(&self, node: u32) -> Vec<GroupLink> {
        let mut out = Vec::new();
        let mut v = node;
        while let Some(link) = self.parent_link.get(v as usize).copied().flatten() {
            out.push(link);
            v = self.parent[v as usize];
            if out.len() > self.parent.len() {
                break;
            }
        }
        out.reverse();
        out
    }
}

/// Control links from an ownership result: each firm to the holder control comes through, and
/// to its actual controller when that is a largest owner.
pub fn control_links(result: &OwnershipResult) -> Vec<GroupLink> {
    let mut links = Vec::new();
    for (f, &via) in result.controlled_via.iter().enumerate() {
        if via != NONE {
            links.push(GroupLink { a: via, b: f as u32, kind: LinkKind::Control });
        }
    }
    for (f, (&c, &basis)) in result.controller.iter().zip(&result.basis).enumerate() {
        if c != NONE && basis == super::ControlBasis::LargestOwner {
            links.push(GroupLink { a: c, b: f as u32, kind: LinkKind::LargestOwner });
        } else if c != NONE && c != result.chain_top[f] {
            // The chain's top firm is controlled by its largest owner.
            let top = result.chain_top[f];
            links.push(GroupLink { a: c, b: top, kind: LinkKind::LargestOwner });
        }
    }
    links
}

/// Groups `firms` (ids `0..firms` of `nodes` in all) by `links`.
pub fn group_customers(firms: u32, nodes: u32, links: &[GroupLink], exposure: &[f64]) -> GroupResult {
    let n = nodes as usize;
    let mut links: Vec<GroupLink> = links.iter().copied().filter(|l| (l.a as usize) < n && (l.b as usize) < n && l.a != l.b).collect();
    links.sort_unstable();
    links.dedup();
    // Union-find, root = smallest id.
    let mut parent_uf: Vec<u32> = (0..nodes).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            let g = p[p[x as usize] as usize];
            p[x as usize] = g;
            x = g;
        }
        x
    }
    for l in &links {
        let (ra, rb) = (find(&mut parent_uf, l.a), find(&mut parent_uf, l.b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent_uf[hi as usize] = lo;
        }
    }
    let roots: Vec<u32> = (0..nodes).map(|v| find(&mut parent_uf, v)).collect();
    drop(parent_uf);
    // Groups by firm count, ties by smallest firm id (= the root's order among firms).
    let mut firm_count = vec![0u32; n];
    let mut smallest_firm = vec![NONE; n];
    for f in 0..firms {
        let r = roots[f as usize] as usize;
        firm_count[r] += 1;
        smallest_firm[r] = smallest_firm[r].min(f);
    }
    let mut order: Vec<u32> = (0..nodes).filter(|&r| firm_count[r as usize] > 0).collect();
    order.sort_by(|&a, &b| {
        firm_count[b as usize].cmp(&firm_count[a as usize]).then(smallest_firm[a as usize].cmp(&smallest_firm[b as usize]))
    });
    let mut dense = vec![NONE; n];
    for (g, &r) in order.iter().enumerate() {
        dense[r as usize] = g as u32;
    }
    let groups = order.len();
    let group: Vec<u32> = (0..firms).map(|f| dense[roots[f as usize] as usize]).collect();
    let size: Vec<u32> = order.iter().map(|&r| firm_count[r as usize]).collect();
    let mut group_exposure = vec![0.0f64; groups];
    for f in 0..firms as usize {
        let x = exposure.get(f).copied().unwrap_or(0.0);
        if x.is_finite() {
            group_exposure[group[f] as usize] += x;
        }
    }
    // Undirected adjacency of the links, by counting sort.
    let mut offsets = vec![0u32; n + 1];
    for l in &links {
        offsets[l.a as usize + 1] += 1;
        offsets[l.b as usize + 1] += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut adjacent = vec![(0u32, 0u32); offsets[n] as usize];
    for (i, l) in links.iter().enumerate() {
        adjacent[fill[l.a as usize] as usize] = (l.b, i as u32);
        fill[l.a as usize] += 1;
        adjacent[fill[l.b as usize] as usize] = (l.a, i as u32);
        fill[l.b as usize] += 1;
    }
    drop(fill);
    let degree = |v: u32| offsets[v as usize + 1] - offsets[v as usize];
    // Anchor: most links, ties smallest id; only linked groups need one.
    let mut anchor = vec![NONE; groups];
    for v in 0..nodes {
        let r = roots[v as usize] as usize;
        let g = dense[r];
        if g == NONE || degree(v) == 0 {
            continue;
        }
        let a = &mut anchor[g as usize];
        if *a == NONE || degree(v) > degree(*a) {
            *a = v;
        }
    }
    for (g, a) in anchor.iter_mut().enumerate() {
        if *a == NONE {
            *a = smallest_firm[order[g] as usize];
        }
    }
    let mut parent = vec![NONE; n];
    let mut parent_link: Vec<Option<GroupLink>> = vec![None; n];
    let mut seen = vec![false; n];
    let mut queue = std::collections::VecDeque::new();
    for &a in &anchor {
        seen[a as usize] = true;
        queue.push_back(a);
        while let Some(v) = queue.pop_front() {
            for &(w, li) in &adjacent[offsets[v as usize] as usize..offsets[v as usize + 1] as usize] {
                if !seen[w as usize] {
                    seen[w as usize] = true;
                    parent[w as usize] = v;
                    parent_link[w as usize] = Some(links[li as usize]);
                    queue.push_back(w);
                }
            }
        }
    }
    GroupResult { group, size, exposure: group_exposure, anchor, parent, parent_link }
}

/// The links besides control that join firms into one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupLinks {
    /// Firms that guarantee each other (on by default: a lender aggregates them, as CBIRC's
    /// group-customer rules ask).
    pub mutual_guarantees: bool,
    /// Firms with the same legal representative (off by default: nominee representatives would
    /// merge unrelated firms).
    pub legal_rep: bool,
}

impl Default for GroupLinks {
    fn default() -> Self {
        GroupLinks { mutual_guarantees: true, legal_rep: false }
    }
}

/// A graph's group customers from its ownership analysis, joined by control and the chosen links.
pub struct GraphGroups {
    pub groups: GroupResult,
    /// Links from control alone.
    pub control_links: usize,
    /// Every link, control and the chosen others.
    pub links: usize,
}

/// Groups the graph's firms by control (`owned`) and the links `with` adds.
pub fn graph_groups(graph: &ekg_schema::Graph, owned: &OwnershipResult, with: GroupLinks) -> GraphGroups {
    let mut links = control_links(owned);
    let control = links.len();
    if with.mutual_guarantees {
        links.extend(mutual_guarantees(graph));
    }
    if with.legal_rep {
        links.extend(legal_rep_links(graph));
    }
    let firms = graph.kind_count(ekg_schema::NodeKind::Firm) as u32;
    let nodes = graph.kind_range(ekg_schema::NodeKind::Person).end;
    let groups = group_customers(firms, nodes, &links, &graph.firms.exposure);
    GraphGroups { groups, control_links: control, links: links.len() }
}

/// Pairs of nodes that guarantee each other, from guarantor → borrower lists.
pub fn mutual_guarantee_links(guarantees: &[(u32, u32)]) -> Vec<GroupLink> {
    let mut pairs: Vec<(u32, u32)> = guarantees.iter().copied().filter(|(a, b)| a != b).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
        .iter()
        .filter(|&&(a, b)| a < b && pairs.binary_search(&(b, a)).is_ok())
        .map(|&(a, b)| GroupLink { a, b, kind: LinkKind::MutualGuarantee })
        .collect()
}

/// Pairs of entities that guarantee each other, as group links.
pub fn mutual_guarantees(graph: &ekg_schema::Graph) -> Vec<GroupLink> {
    let store = graph.relation(ekg_schema::Relation::Guarantee);
    let mut pairs = Vec::with_capacity(store.edge_count());
    let row_start = store.forward.row_start();
    for (row, w) in store.forward.offsets().windows(2).enumerate() {
        for t in &store.forward.targets()[w[0] as usize..w[1] as usize] {
            pairs.push((row_start + row as u32, t.0));
        }
    }
    mutual_guarantee_links(&pairs)
}

/// Links from each legal representative to the firms it represents.
pub fn legal_rep_links(graph: &ekg_schema::Graph) -> Vec<GroupLink> {
    let store = graph.relation(ekg_schema::Relation::Officer);
    let roles = store.attr("role").and_then(|c| c.as_u8()).unwrap_or(&[]);
    let row_start = store.forward.row_start();
    let mut links = Vec::new();
    for (row, w) in store.forward.offsets().windows(2).enumerate() {
        for e in w[0] as usize..w[1] as usize {
            if roles.get(e) == Some(&(ekg_schema::OfficerRole::LegalRep as u8)) {
                links.push(GroupLink { a: row_start + row as u32, b: store.forward.targets()[e].0, kind: LinkKind::LegalRep });
            }
        }
    }
    links
}
