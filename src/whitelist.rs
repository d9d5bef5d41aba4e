//! The acquisition white list: small and micro firms around core enterprises — upstream,
//! downstream or in the cluster within `hops` supply links — ranked for relationship managers by
//! their own link's volume, the tenure of their trade with the core, a low risk rank and no
//! flags, excluding defaulted firms, firms in a group with a defaulted firm, firms above the size
//! limit and firms with a high-severity flag; each row with the reason for its rank. `ekg
//! prospects` and the `prospects` stage of `ekg score` both build it here.
//!
//! Risk rank is PageRank personalised to the defaulted firms over holdings, officers, guarantees
//! and supply links (as `ppr` in the scores); groups are control groups.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use ekg_algorithms::centrality::pagerank::{page_rank, personalized_page_rank, PageRankConfig};
use ekg_algorithms::ownership::{control_links, group_customers, ownership, HoldingNetwork, OwnershipConfig, OwnershipResult};
use ekg_algorithms::sme::{self, SizeClass};
use ekg_algorithms::supply_chain::{chain_members, ChainMember, Position};
use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_schema::{Graph, NodeId, NodeKind, Relation, MICROS_PER_DAY};

use crate::table::Table;

/// Registered capital above which a firm is not small or micro, unless configured.
pub const DEFAULT_MAX_CAPITAL: f64 = 50_000_000.0;
/// Supply links from a core, unless configured.
pub const DEFAULT_HOPS: u32 = 2;

pub struct WhiteListParams {
    pub cores: Vec<u32>,
    pub hops: u32,
    pub max_capital: f64,
    pub limit: Option<usize>,
    /// Only these firms (ascending), e.g. one industrial cluster's members.
    pub only: Option<Vec<u32>>,
}

pub struct Prospect {
    pub c: ChainMember,
    pub tenure_days: Option<i64>,
    pub ppr: f64,
    pub pct: f64,
    pub flags: u32,
    pub score: f64,
    pub reason: String,
    pub size: FirmSize,
}

/// A firm's size and how it was decided.
#[derive(Clone, Debug, PartialEq)]
pub struct FirmSize {
    /// By the 2011 SME standard; `None` when none of its sector's indicators is known.
    pub class: Option<SizeClass>,
    pub small_or_micro: bool,
    /// "SME standard (industry: employees, revenue)", "SME standard, partial (...)", or the
    /// registered-capital fallback with the limit.
    pub basis: String,
}

/// The size of firm `f`: by the SME standard from employees, revenue and total assets, else by
/// registered capital against `max_capital` (unknown capital counts as small).
pub fn firm_size(graph: &Graph, f: u32, max_capital: f64) -> FirmSize {
    let firms = &graph.firms;
    let value = |c: &ekg_schema::Column<f64>| c.get(f as usize).copied().unwrap_or(f64::NAN);
    let industry = firms.industry.get(f as usize).unwrap_or("");
    let sector = sme::sector(industry);
    match sme::classify(sector, value(&firms.employees), value(&firms.revenue), value(&firms.total_assets)) {
        Some((class, used)) => {
            let names: Vec<&str> = used.iter().map(|i| i.as_str()).collect();
            let partial = if sme::complete(sector, &used) { "" } else { ", partial" };
            FirmSize {
                class: Some(class),
                small_or_micro: class <= SizeClass::Small,
                basis: format!("SME standard{partial} ({}: {})", sector.as_str(), names.join(", ")),
            }
        }
        None => {
            let capital = value(&firms.registered_capital);
            let small = !capital.is_finite() || capital <= max_capital;
            let basis = if capital.is_finite() {
                format!("registered capital {:.0} {} the limit {max_capital:.0}", capital, if small { "within" } else { "above" })
            } else {
                "registered capital unknown".to_string()
            };
            FirmSize { class: None, small_or_micro: small, basis }
        }
    }
}

pub struct WhiteList {
    /// Best first.
    pub rows: Vec<Prospect>,
    /// Firms left out, by reason.
    pub excluded: BTreeMap<&'static str, u64>,
}

/// The risk relations (holdings, officers, guarantees, supply links) as one undirected,
/// unweighted projection: what the risk rank runs on.
pub fn risk_projection(graph: &Graph) -> Projection {
    Projection::new(graph, &ProjectionConfig { relations: ekg_algorithms::RISK_RELATIONS.to_vec(), undirected: true, weighted: false })
}

/// Each firm's risk rank: PageRank over `risk` (the risk projection) personalised to the
/// defaulted firms; 0 for a firm outside that network or when no firm defaulted.
pub fn risk_rank(graph: &Graph, risk: &Projection, config: &PageRankConfig) -> Vec<f64> {
    let firms = graph.kind_count(NodeKind::Firm);
    let seeds: Vec<u32> = (0..risk.node_count() as u32).filter(|&v| graph.is_defaulted(risk.nodes[v as usize])).collect();
    let mut rank = vec![0.0; firms];
    if !seeds.is_empty() {
        let scores = personalized_page_rank(risk, &seeds, config).scores;
        for (l, &node) in risk.nodes.iter().enumerate() {
            if node.index() < firms {
                rank[node.index()] = scores[l];
            }
        }
    }
    rank
}

/// What the white list ranks and excludes by. `ekg prospects` computes both with the default
/// settings ([`DefaultRiskBasis::compute`]); the nightly job hands over its own `ppr` and ownership
/// results, so prospects.parquet agrees with features.parquet under any configuration.
pub struct RiskBasis<'a> {
    /// Per firm: [`risk_rank`].
    pub risk_rank: &'a [f64],
    /// Integrated ownership and control; control groups are built from it.
    pub owned: &'a OwnershipResult,
}

/// Owned values behind a [`RiskBasis`] computed with the default settings.
pub struct DefaultRiskBasis {
    risk_rank: Vec<f64>,
    owned: OwnershipResult,
}

impl DefaultRiskBasis {
    pub fn compute(graph: &Graph) -> DefaultRiskBasis {
        DefaultRiskBasis {
            risk_rank: risk_rank(graph, &risk_projection(graph), &PageRankConfig::default()),
            owned: ownership(&HoldingNetwork::from_graph(graph), &OwnershipConfig::default()),
        }
    }

    pub fn basis(&self) -> RiskBasis<'_> {
        RiskBasis { risk_rank: &self.risk_rank, owned: &self.owned }
    }
}

/// The white list of `graph` as of its latest transfer; `flags` per firm: (all, high severity).
pub fn white_list(graph: &Graph, params: &WhiteListParams, flags: &HashMap<u32, (u32, u32)>, basis: &RiskBasis) -> WhiteList {
    let firms = graph.kind_count(NodeKind::Firm) as u32;
    let as_of = graph.latest_transfer_ts();
    // Risk rank and its percentile among firms.
    let ppr = basis.risk_rank;
    let mut sorted = ppr.to_vec();
    sorted.sort_by(f64::total_cmp);
    let percentile = |x: f64| sorted.partition_point(|&y| y < x) as f64 / sorted.len().max(1) as f64;

    // Control groups with a defaulted member.
    let groups = group_customers(firms, graph.kind_range(NodeKind::Person).end, &control_links(basis.owned), &graph.firms.exposure);
    let mut defaulted_group = vec![false; groups.size.len()];
    for f in 0..firms {
        if graph.is_defaulted(NodeId(f)) {
            defaulted_group[groups.group[f as usize] as usize] = true;
        }
    }

    let mut rows: Vec<Prospect> = Vec::new();
    let mut excluded: BTreeMap<&'static str, u64> = BTreeMap::new();
    for c in chain_members(graph, &params.cores, params.hops) {
        let f = c.firm;
        if params.only.as_ref().is_some_and(|only| only.binary_search(&f).is_err()) {
            continue;
        }
        let size = firm_size(graph, f, params.max_capital);
        let reason_out = if graph.is_defaulted(NodeId(f)) {
            Some("defaulted")
        } else if defaulted_group[groups.group[f as usize] as usize] {
            Some("in a group with a defaulted firm")
        } else if !size.small_or_micro {
            Some(if size.class.is_some() {
                "not small or micro (SME classification standard)"
            } else {
                "not small or micro (registered capital above the limit)"
            })
        } else if flags.get(&f).is_some_and(|&(_, high)| high > 0) {
            Some("has a high-severity flag")
        } else {
            None
        };
        if let Some(r) = reason_out {
            *excluded.entry(r).or_default() += 1;
            continue;
        }
        let tenure_days = first_trade(graph, f, c.core).zip(as_of).map(|(f0, now)| (now - f0) / MICROS_PER_DAY);
        let p = ppr[f as usize];
        let pct = percentile(p);
        let flag_count = flags.get(&f).map_or(0, |x| x.0);
        let years = tenure_days.map_or(0.0, |d| d as f64 / 365.0).min(5.0);
        let volume = own_volume(&c);
        let score = (1.0 + volume.max(0.0)).ln() * (1.0 + years / 5.0) * (1.0 - pct) / (1.0 + flag_count as f64) / c.hops as f64;
        let reason = format!(
            "{}, its own link's volume {:.0}{}; {}; risk rank in the lowest {:.0}% of firms; {}",
            position_phrase(graph, &c),
            volume,
            match tenure_days {
                Some(d) => format!(", trading with the core for {:.1} years", d as f64 / 365.0),
                None => ", no direct payments with the core yet".into(),
            },
            match size.class {
                Some(class) => format!("a {} firm by the SME standard", class.as_str()),
                None => "small or micro by registered capital".to_string(),
            },
            (pct * 100.0).max(1.0).ceil(),
            if flag_count == 0 { "no flags".to_string() } else { format!("{flag_count} low/medium flag(s)") }
        );
        rows.push(Prospect { c, tenure_days, ppr: p, pct, flags: flag_count, score, reason, size });
    }
    rows.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.c.firm.cmp(&b.c.firm)));
    if let Some(limit) = params.limit {
        rows.truncate(limit);
    }
    WhiteList { rows, excluded }
}

/// `prospects.parquet`; `cluster_of`: each firm's industrial cluster (`NONE` outside), when known.
pub fn table(graph: &Graph, list: &WhiteList, cluster_of: Option<&[u32]>) -> Result<Table> {
    let id = |v: u32| graph.external_id(NodeId(v));
    let rows = &list.rows;
    Table::new()
        .u32("rank", 1..=rows.len() as u32)
        .utf8("node_id", rows.iter().map(|r| id(r.c.firm)))
        .utf8("core_id", rows.iter().map(|r| id(r.c.core)))
        .utf8("position", rows.iter().map(|r| r.c.position.as_str()))
        .u32("hops", rows.iter().map(|r| r.c.hops))
        .utf8("chain", rows.iter().map(|r| chain_text(graph, &r.c)).collect::<Vec<_>>().iter().map(String::as_str))
        .f64("supply_volume", &rows.iter().map(|r| own_volume(&r.c)).collect::<Vec<_>>())
        .utf8_opt("size_class", rows.iter().map(|r| r.size.class.map(|c| c.as_str())))
        .utf8("size_basis", rows.iter().map(|r| r.size.basis.as_str()))
        .u32_opt("tenure_days", rows.iter().map(|r| r.tenure_days.map(|d| d.max(0) as u32)))
        .f64("ppr", &rows.iter().map(|r| r.ppr).collect::<Vec<_>>())
        .f64("ppr_percentile", &rows.iter().map(|r| r.pct).collect::<Vec<_>>())
        .u32("flags", rows.iter().map(|r| r.flags))
        .f64("score", &rows.iter().map(|r| r.score).collect::<Vec<_>>())
        .utf8("reason", rows.iter().map(|r| r.reason.as_str()))
        .u32_opt(
            "cluster_id",
            rows.iter()
                .map(|r| cluster_of.and_then(|c| c.get(r.c.firm as usize).copied()).filter(|&c| c != ekg_algorithms::ownership::NONE)),
        )
        .documented(&crate::dictionary::PROSPECTS)
}

/// `clusters.parquet`.
pub fn clusters_table(graph: &Graph, found: &ekg_algorithms::clusters::IndustrialClusters) -> Result<Table> {
    let id = |v: u32| graph.external_id(NodeId(v));
    let clusters = &found.clusters;
    let industries: Vec<String> = clusters
        .iter()
        .map(|c| {
            let mut count: BTreeMap<&str, u32> = BTreeMap::new();
            for &f in &c.members {
                *count.entry(graph.firms.industry.get(f as usize).filter(|i| !i.is_empty()).unwrap_or("unknown")).or_default() += 1;
            }
            let mut by_size: Vec<(&str, u32)> = count.into_iter().collect();
            by_size.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            by_size.iter().map(|(industry, n)| format!("{industry} {n}")).collect::<Vec<_>>().join(", ")
        })
        .collect();
    Table::new()
        .u32("cluster_id", 0..clusters.len() as u32)
        .utf8("region", clusters.iter().map(|c| graph.firms.region.values().get(c.region as usize)))
        .utf8("core_id", clusters.iter().map(|c| id(c.core)))
        .utf8("core_name", clusters.iter().map(|c| graph.firms.name.get(c.core as usize)))
        .u32("size", clusters.iter().map(|c| c.members.len() as u32))
        .u32("links", clusters.iter().map(|c| c.links))
        .utf8("industries", industries.iter().map(String::as_str))
        .u32("defaulted", clusters.iter().map(|c| c.defaulted))
        .f64("default_rate", &clusters.iter().map(|c| c.default_rate()).collect::<Vec<_>>())
        .u32("borrowers", clusters.iter().map(|c| c.borrowers))
        .f64("penetration", &clusters.iter().map(|c| c.penetration()).collect::<Vec<_>>())
        .utf8_list("members", clusters.iter().map(|c| c.members.iter().map(|&m| id(m)).collect::<Vec<_>>()))
        .documented(&crate::dictionary::CLUSTERS)
}

/// The `n` firms of highest weighted supply-chain PageRank: the core enterprises.
pub fn top_cores(graph: &Graph, n: usize) -> Vec<u32> {
    let supply = Projection::new(graph, &ProjectionConfig { relations: vec![Relation::Supply], undirected: true, weighted: true });
    let pr = page_rank(&supply, &PageRankConfig::default());
    let mut order: Vec<u32> = (0..supply.node_count() as u32).collect();
    order.sort_by(|&a, &b| pr.scores[b as usize].total_cmp(&pr.scores[a as usize]).then(a.cmp(&b)));
    order.into_iter().take(n).map(|l| supply.nodes[l as usize].0).collect()
}

/// The first transfer between the firm's accounts and the core's, either way: the start of their
/// trading relationship.
fn first_trade(graph: &Graph, firm: u32, core: u32) -> Option<i64> {
    let owner_accounts = |v: u32| -> &[u32] { graph.relation(Relation::AccountOwner).forward.neighbor_ids(NodeId(v)) };
    let core_accounts = owner_accounts(core);
    let transfers = graph.relation(Relation::Transfer);
    let ts = transfers.attr("ts").and_then(|col| col.as_i64()).unwrap_or(&[]);
    let mut first = None::<i64>;
    for &a in owner_accounts(firm) {
        for e in transfers.forward.range(NodeId(a)) {
            if core_accounts.contains(&transfers.forward.targets()[e].0) {
                first = Some(first.map_or(ts[e], |x: i64| x.min(ts[e])));
            }
        }
        let range = transfers.reverse.range(NodeId(a));
        for (i, s) in range.clone().zip(&transfers.reverse.targets()[range]) {
            if core_accounts.contains(&s.0) {
                let t = ts[transfers.reverse_edge[i] as usize];
                first = Some(first.map_or(t, |x: i64| x.min(t)));
            }
        }
    }
    first
}

/// The volume of the firm's own link into the chain (0 when unknown).
fn own_volume(c: &ChainMember) -> f64 {
    c.volumes.first().copied().filter(|v| v.is_finite()).unwrap_or(0.0)
}

fn firm_label(graph: &Graph, v: u32) -> String {
    let name = graph.firms.name.get(v as usize);
    if name.is_empty() {
        graph.external_id(NodeId(v)).to_string()
    } else {
        format!("{} ({name})", graph.external_id(NodeId(v)))
    }
}

/// "A (name) → B (name) → C (name)": the firm, the firms between, the core.
fn chain_text(graph: &Graph, c: &ChainMember) -> String {
    c.path.iter().map(|&v| firm_label(graph, v)).collect::<Vec<_>>().join(" → ")
}

/// Where the firm sits, as a relationship manager says it.
fn position_phrase(graph: &Graph, c: &ChainMember) -> String {
    let core = graph.external_id(NodeId(c.core));
    let between: Vec<&str> = c.path[1..c.path.len().saturating_sub(1)].iter().map(|&v| graph.external_id(NodeId(v))).collect();
    let through = if between.is_empty() { String::new() } else { format!(" through {}", between.join(", ")) };
    match c.position {
        Position::Upstream if between.is_empty() => format!("supplies core {core}"),
        Position::Upstream => format!("supplies core {core}'s supply chain{through} ({} hops upstream)", c.hops),
        Position::Downstream if between.is_empty() => format!("buys from core {core}"),
        Position::Downstream => format!("buys from core {core}'s customers{through} ({} hops downstream)", c.hops),
        Position::Cluster => format!("trades in core {core}'s cluster{through} ({} hops, the chain changes direction)", c.hops),
    }
}
