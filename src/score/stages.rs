//! The nightly job's analyses as declared stages: each reads the as-of graph and what earlier
//! stages left in [`Scoring`], adds its feature columns and keeps what later stages need. [`PLAN`]
//! lists them in dependency order; the runner in `mod.rs` times each, shows `stage k/N` and
//! records it for the manifest. A new analysis is one function here and one line in [`PLAN`].

use anyhow::Result;
use ekg_algorithms::centrality::pagerank::{page_rank_releasing, personalized_page_rank, PageRankConfig};
use ekg_algorithms::community::canonical_numbering;
use ekg_algorithms::community::leiden::leiden;
use ekg_algorithms::community::louvain::louvain;
use ekg_algorithms::community::lpa::label_propagation;
use ekg_algorithms::components::dense_by_size;
use ekg_algorithms::components::wcc::weakly_connected_components;
use ekg_algorithms::contagion::{
    cascade_lift, debt_rank_by_channel, default_cascade, economic_weights, firm_pd, guarantee_network, largest_exposures,
    systemic_importance, CascadeResult, Channel, GuaranteeResult, ImpactNetwork,
};
use ekg_algorithms::continuity::{carry_labels, NO_LABEL};
use ekg_algorithms::ownership::{graph_groups, ownership, HoldingNetwork, OwnershipResult, NONE};
use ekg_algorithms::rings::Ring;
use ekg_algorithms::structure::kcore::core_numbers;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_schema::{Graph, NodeId, NodeKind, Relation};

use super::config::{Analysis, CommunityAlgorithm, ScoreConfig};
use super::features::{account_owner, defaulted_neighbourhood, person_features, roll_up, structure_features, transfer_features, Features};
use super::flags::{self, Flag};
use super::reuse::{read_node_columns, Cells, NodeColumn};
use crate::findings::{find_rings, Found};
use crate::table::Table;

/// One analysis of the job: its name (the manifest's stage), whether the configuration asks for
/// it, and the work, which returns the rows it produced.
pub struct Stage {
    pub name: &'static str,
    pub enabled: fn(&ScoreConfig) -> bool,
    pub run: fn(&mut Scoring) -> Result<u64>,
}

/// The analyses in dependency order: ownership before groups and flags, the guarantee network and
/// cascades before flags, rings before ring flags; flags (and the review queue of the rings) last.
pub const PLAN: [Stage; 19] = [
    Stage { name: "flows", enabled: |_| true, run: flows },
    Stage { name: "size", enabled: |_| true, run: size },
    Stage { name: "segments", enabled: |_| true, run: segments },
    Stage { name: "pagerank", enabled: |c| c.enabled(Analysis::Pagerank), run: pagerank },
    Stage { name: "ppr", enabled: |c| c.enabled(Analysis::Ppr), run: ppr },
    Stage { name: "components", enabled: |c| c.enabled(Analysis::Components), run: components },
    Stage { name: "communities", enabled: |c| c.enabled(Analysis::Communities), run: communities },
    Stage { name: "structure", enabled: |c| c.enabled(Analysis::Structure), run: structure },
    Stage { name: "ownership", enabled: |c| c.enabled(Analysis::Ownership) || c.enabled(Analysis::Groups), run: ownership_stage },
    Stage { name: "social", enabled: |c| c.enabled(Analysis::Ownership), run: social },
    Stage { name: "groups", enabled: |c| c.enabled(Analysis::Groups), run: groups },
    Stage { name: "guarantees", enabled: |c| c.enabled(Analysis::Guarantees), run: guarantees },
    Stage { name: "debtrank", enabled: |c| c.enabled(Analysis::Debtrank), run: debtrank },
    Stage { name: "cascade", enabled: |c| c.enabled(Analysis::Cascade), run: cascade },
    Stage { name: "rings", enabled: |c| c.enabled(Analysis::Rings), run: rings },
    Stage { name: "persons", enabled: |_| true, run: persons },
    Stage { name: "flags", enabled: |_| true, run: flag_stage },
    Stage { name: "clusters", enabled: |c| c.enabled(Analysis::Clusters), run: clusters },
    Stage { name: "prospects", enabled: |c| c.enabled(Analysis::Prospects), run: prospects },
];

/// The stages whose graphs stay small at national scale (firms, persons, loans, holdings, posts,
/// guarantees and supply links; no transfers or identifiers): a distributed run computes them on
/// process 0 from a graph of those tables alone.
pub const SMALL_GRAPH_STAGES: [&str; 6] = ["ownership", "social", "groups", "guarantees", "debtrank", "cascade"];

/// The job's state: the as-of graph, the features so far and the results later stages use.
pub struct Scoring<'g> {
    pub graph: &'g Graph,
    pub config: &'g ScoreConfig,
    pub as_of: i64,
    pub features: Features,
    /// Each account's owner (`NONE` elsewhere).
    pub owner: Vec<u32>,
    /// The undirected firm-level risk network and its defaulted nodes.
    risk: Projection,
    risk_defaulted: Vec<bool>,
    guarantee_projection: Projection,
    /// Per firm: the probability of default the cascades start from.
    pd: Vec<f64>,
    impact: Option<ImpactNetwork>,
    owned: Option<OwnershipResult>,
    /// Per firm: the `ppr` stage's risk rank (`whitelist::risk_rank`), for the white list.
    risk_rank: Option<Vec<f64>>,
    guarantees: Option<GuaranteeResult>,
    cascade: Option<CascadeResult>,
    pub debtrank_total: Option<f64>,
    /// Firms DebtRank distressed (the stage's rows), recorded for the next night's reuse.
    pub debtrank_rows: u64,
    /// Risk-network nodes and their community, for communities.parquet.
    pub communities: Option<(Vec<u32>, Vec<u32>)>,
    pub groups_table: Option<Table>,
    /// The output folder, when tables that are final once their stage ends go there at once
    /// rather than wait in memory for the others.
    pub out_dir: Option<std::path::PathBuf>,
    /// Tables already written to `out_dir`.
    pub written: Vec<&'static str>,
    pub rings: Vec<Ring>,
    /// Each ring's stable id (`findings::ring_ids`).
    pub ring_ids: Vec<String>,
    /// The detectors' notes (identifiers skipped as too common, truncated cycle searches, ...).
    pub ring_notes: serde_json::Map<String, serde_json::Value>,
    /// Seconds each ring detector took (the rings stage, detector by detector).
    pub ring_seconds: serde_json::Map<String, serde_json::Value>,
    pub flags: Vec<Flag>,
    pub review: crate::cases::Review,
    /// Industrial clusters, for clusters.parquet and the white list.
    pub clusters: Option<ekg_algorithms::clusters::IndustrialClusters>,
    /// The white list and what it left out.
    pub prospects: Option<crate::whitelist::WhiteList>,
    /// The previous night's outputs (`--previous`).
    pub previous: Option<super::previous::Previous>,
    /// Rows of changes.parquet so far (communities and groups; rings and flags at the end).
    pub changes: Vec<super::previous::Change>,
    /// Fingerprints of the reusable stages' inputs (`reuse.rs`), for the manifest.
    pub stage_inputs: std::collections::BTreeMap<&'static str, String>,
    /// Stages whose results were taken from the previous night.
    pub reused: Vec<&'static str>,
}

impl<'g> Scoring<'g> {
    /// `cascade.parquet`, when the cascades ran.
    pub fn cascade_table(&self) -> Option<Result<Table>> {
        self.cascade.as_ref().map(|r| crate::tables::cascade(self.graph, &self.pd, r))
    }

    /// The links of the networks [`Scoring::new`] builds: the risk network, the guarantees and
    /// the impact network.
    pub fn network_links(&self) -> u64 {
        (self.risk.edge_count() + self.guarantee_projection.edge_count() + self.impact.as_ref().map_or(0, |i| i.edge_count())) as u64
    }

    pub fn new(graph: &'g Graph, config: &'g ScoreConfig, as_of: i64) -> Scoring<'g> {
        let risk = crate::whitelist::risk_projection(graph);
        let risk_defaulted = risk.nodes.iter().map(|&v| graph.is_defaulted(v)).collect();
        let guarantee_projection =
            Projection::new(graph, &ProjectionConfig { relations: vec![Relation::Guarantee], undirected: false, weighted: true });
        let impact = (config.enabled(Analysis::Debtrank) || config.enabled(Analysis::Cascade))
            .then(|| ImpactNetwork::from_graph(graph, &graph.firms.registered_capital, &config.contagion.impact()));
        Scoring {
            graph,
            config,
            as_of,
            features: Features::default(),
            owner: account_owner(graph),
            risk,
            risk_defaulted,
            guarantee_projection,
            pd: firm_pd(graph),
            impact,
            owned: None,
            risk_rank: None,
            guarantees: None,
            cascade: None,
            debtrank_total: None,
            communities: None,
            groups_table: None,
            out_dir: None,
            written: Vec::new(),
            rings: Vec::new(),
            ring_ids: Vec::new(),
            ring_notes: serde_json::Map::new(),
            ring_seconds: serde_json::Map::new(),
            flags: Vec::new(),
            review: crate::cases::Review::default(),
            previous: None,
            changes: Vec::new(),
            stage_inputs: std::collections::BTreeMap::new(),
            debtrank_rows: 0,
            reused: Vec::new(),
            clusters: None,
            prospects: None,
        }
    }

    fn n(&self) -> usize {
        self.graph.node_count()
    }

    /// Drops what only the stages read (projections, the impact network, ownership and guarantee
    /// results), once the last stage has run: the table writers' buffers then reuse that memory
    /// instead of raising the job's peak.
    pub fn release_stage_state(&mut self) {
        self.risk = Projection::default();
        self.risk_defaulted = Vec::new();
        self.guarantee_projection = Projection::default();
        self.impact = None;
        self.owned = None;
        self.risk_rank = None;
        self.guarantees = None;
    }

    /// The previous night's columns `names` at the risk network's nodes, when `stage`'s inputs
    /// (`fingerprint`) are that night's; records the fingerprint, and the reuse when it happens.
    fn reuse_risk_columns(&mut self, stage: &'static str, fingerprint: String, names: &[(&str, Cells)]) -> Result<Option<Vec<NodeColumn>>> {
        let found = match &self.previous {
            Some(p) if p.stage_inputs.get(stage) == Some(&fingerprint) => read_node_columns(&p.dir, &self.risk.nodes, names)?,
            _ => None,
        };
        self.stage_inputs.insert(stage, fingerprint);
        if found.is_some() {
            self.reused.push(stage);
        }
        Ok(found)
    }

    /// Checked with the whole configuration before any stage runs.
    fn pagerank_config(&self) -> Result<PageRankConfig> {
        self.config.pagerank.config().map_err(anyhow::Error::msg)
    }
}

fn flows(s: &mut Scoring) -> Result<u64> {
    super::inject_worker_panic("flows");
    structure_features(s.graph, &mut s.features);
    transfer_features(s.graph, s.as_of, &s.owner, &mut s.features);
    Ok(s.n() as u64)
}

/// Firm size by the 2011 SME classification standard, or the registered-capital fallback.
fn size(s: &mut Scoring) -> Result<u64> {
    let (graph, n) = (s.graph, s.n());
    let limit = s.config.prospects.max_capital;
    let sizes: Vec<crate::whitelist::FirmSize> =
        graph.kind_range(NodeKind::Firm).map(|f| crate::whitelist::firm_size(graph, f, limit)).collect();
    s.features.text(
        "size_class",
        "Firms: micro, small, medium or large by the 2011 SME classification standard (employees, revenue, total assets by sector); null without those figures.",
        pad_text(sizes.iter().map(|z| z.class.map(|c| c.as_str().to_string())).collect(), n),
    );
    s.features.text(
        "size_basis",
        "Firms: how size_class was decided (sector and indicators), or the registered-capital fallback against prospects.max_capital.",
        pad_text(sizes.iter().map(|z| Some(z.basis.clone())).collect(), n),
    );
    Ok(sizes.iter().filter(|z| z.class.is_some()).count() as u64)
}

/// Behaviour segments from the year's money flows, and the default rates of each firm's
/// behaviour segment and of its industry and region.
fn segments(s: &mut Scoring) -> Result<u64> {
    use ekg_algorithms::segments::{default_rates, profiles, segment, DEFAULT_SEGMENTS};
    let (graph, n) = (s.graph, s.n());
    let firms = graph.kind_count(NodeKind::Firm);
    let defaulted: Vec<bool> = (0..firms as u32).map(|f| graph.is_defaulted(NodeId(f))).collect();
    let found = segment(&profiles(graph, s.as_of, &s.owner), DEFAULT_SEGMENTS, s.config.seed);
    let rates = default_rates(&found, &defaulted);
    let segment_count = found.sizes.len() as u64;
    s.features.u32(
        "behaviour_segment",
        "Firms: behaviour segment (k-means over the year's monthly in- and outflow levels, inflow volatility, seasonality, counterparty concentration and growth); 0 = the largest; null without transfers in the year.",
        pad(found.segment, n),
    );
    s.features.f64(
        "segment_default_rate",
        "Firms: share of the other firms of its behaviour segment that defaulted (the firm itself left out).",
        pad_f64(rates, n),
    );
    s.features.f64(
        "segment_deviation",
        "Firms: distance from its behaviour segment's centre, in standard deviations of the profile.",
        pad_f64(found.deviation, n),
    );
    // Industry × region: the segment a lender's portfolio reports use.
    let key = |f: usize| (graph.firms.industry.get(f), graph.firms.region.get(f));
    // (firms, defaulted) per cell.
    let mut cells = std::collections::BTreeMap::new();
    for (f, &bad) in defaulted.iter().enumerate() {
        let cell: &mut (u32, u32) = cells.entry(key(f)).or_default();
        cell.0 += 1;
        cell.1 += u32::from(bad);
    }
    s.features.f64(
        "industry_region_default_rate",
        "Firms: share of the other firms of its industry and region that defaulted (the firm itself left out).",
        pad_f64(
            (0..firms)
                .map(|f| {
                    let (all, bad) = cells[&key(f)];
                    if all > 1 {
                        f64::from(bad - u32::from(defaulted[f])) / f64::from(all - 1)
                    } else {
                        f64::NAN
                    }
                })
                .collect(),
            n,
        ),
    );
    Ok(segment_count)
}

fn pagerank(s: &mut Scoring) -> Result<u64> {
    let mut projection =
        Projection::new(s.graph, &ProjectionConfig { relations: vec![Relation::Transfer], undirected: false, weighted: true });
    let result = page_rank_releasing(&mut projection, &s.pagerank_config()?);
    let mut values = scatter(&projection, &result.scores, s.n(), 0.0);
    roll_up(&mut values, &s.owner);
    s.features.f64(
        "pagerank",
        "PageRank of the money-flow graph (transfers weighted by amount), an owner's including its accounts'.",
        values,
    );
    Ok(projection.node_count() as u64)
}

fn ppr(s: &mut Scoring) -> Result<u64> {
    let seeds: Vec<u32> = (0..s.risk.node_count() as u32).filter(|&v| s.risk_defaulted[v as usize]).collect();
    let config = s.pagerank_config()?;
    let fingerprint = super::reuse::Inputs::new("ppr")
        .projection(s.graph, &s.risk)
        .bools(&s.risk_defaulted)
        .text(&serde_json::to_string(&s.config.pagerank)?)
        .finish();
    let values = match s.reuse_risk_columns("ppr", fingerprint, &[("ppr", Cells::F64)])?.as_deref() {
        Some([NodeColumn::F64(ppr)]) => scatter(&s.risk, ppr, s.n(), f64::NAN),
        _ if seeds.is_empty() => vec![f64::NAN; s.n()],
        _ => scatter(&s.risk, &personalized_page_rank(&s.risk, &seeds, &config).scores, s.n(), f64::NAN),
    };
    let firms = s.graph.kind_count(NodeKind::Firm);
    s.risk_rank = Some(values[..firms].iter().map(|&r| if r.is_nan() { 0.0 } else { r }).collect());
    s.features.f64(
        "ppr",
        "Risk rank: PageRank personalised to the defaulted firms over holdings, officers, guarantees and supply links.",
        values,
    );
    Ok(seeds.len() as u64)
}

fn components(s: &mut Scoring) -> Result<u64> {
    let all = Projection::new(s.graph, &ProjectionConfig { relations: Relation::ALL.to_vec(), undirected: true, weighted: false });
    let result = weakly_connected_components(&all);
    let sizes: Vec<f64> = result.component.iter().map(|&c| result.sizes[c as usize] as f64).collect();
    let by_node = scatter(&all, &sizes, s.n(), f64::NAN);
    s.features.u32(
        "component_size",
        "Nodes in the node's weakly connected component over all relations.",
        by_node.iter().map(|x| x.is_finite().then_some(*x as u32)).collect(),
    );
    Ok(result.count() as u64)
}

fn communities(s: &mut Scoring) -> Result<u64> {
    let (graph, n) = (s.graph, s.n());
    let section = &s.config.communities;
    let fingerprint = super::reuse::Inputs::new("communities")
        .projection(graph, &s.risk)
        .text(&serde_json::to_string(section)?)
        .text(&s.config.seed.to_string())
        .finish();
    // Louvain and Leiden number a partition canonically, so the previous night's carried labels
    // of the same network give back tonight's numbering (label propagation's depends on labels).
    let previous_partition: Option<Vec<u32>> = match &s.previous {
        Some(p) if p.stage_inputs.get("communities") == Some(&fingerprint) && section.algorithm != CommunityAlgorithm::Lpa => p
            .communities
            .as_ref()
            .and_then(|before| s.risk.nodes.iter().map(|v| Some(before.of_node[v.index()]).filter(|&l| l != NO_LABEL)).collect()),
        _ => None,
    };
    s.stage_inputs.insert("communities", fingerprint);
    let community_of: Vec<u32> = match previous_partition {
        Some(labels) => {
            s.reused.push("communities");
            canonical_numbering(&labels)
        }
        None => {
            let louvain_config = section.louvain(s.config.seed);
            match section.algorithm {
                CommunityAlgorithm::Leiden => leiden(&s.risk, &louvain_config).community,
                CommunityAlgorithm::Lpa => dense_by_size(&label_propagation(&s.risk, &section.label_propagation()).labels).0,
                CommunityAlgorithm::Louvain => louvain(&s.risk, &louvain_config).community,
            }
        }
    };
    let risk = &s.risk;
    let count = community_of.iter().max().map_or(0, |m| m + 1) as usize;
    let (mut size, mut firms, mut defaulted) = (vec![0u32; count], vec![0u32; count], vec![0u32; count]);
    for (v, &c) in community_of.iter().enumerate() {
        size[c as usize] += 1;
        if graph.kind(risk.nodes[v]) == NodeKind::Firm {
            firms[c as usize] += 1;
            defaulted[c as usize] += s.risk_defaulted[v] as u32;
        }
    }
    // With --previous, each community shows the id of last night's it overlaps most.
    let shown: Vec<u32> = match s.previous.as_ref().and_then(|p| p.communities.as_ref()) {
        Some(before) => {
            let previous_of: Vec<u32> = risk.nodes.iter().map(|v| before.of_node[v.index()]).collect();
            let carried = carry_labels(&community_of, &previous_of, count, &before.ids());
            s.changes.extend(super::previous::label_changes("community", &carried, &size, before, false));
            carried.id
        }
        None => (0..count as u32).collect(),
    };
    let (mut community, mut community_size, mut share) = (vec![None; n], vec![None; n], vec![f64::NAN; n]);
    for (v, &c) in community_of.iter().enumerate() {
        let node = risk.nodes[v].index();
        community[node] = Some(shown[c as usize]);
        community_size[node] = Some(size[c as usize]);
        if firms[c as usize] > 0 {
            share[node] = defaulted[c as usize] as f64 / firms[c as usize] as f64;
        }
    }
    s.communities = Some((risk.nodes.iter().map(|v| v.0).collect(), community_of.iter().map(|&c| shown[c as usize]).collect()));
    s.features.u32(
        "community",
        "Community of the risk network (communities.algorithm, default Louvain modularity); 0 = the largest, or with --previous the id of the previous night's community it overlaps most.",
        community,
    );
    s.features.u32("community_size", "Nodes in the community.", community_size);
    s.features.f64("community_defaulted_share", "Share of the community's firms that defaulted.", share);
    Ok(count as u64)
}

fn structure(s: &mut Scoring) -> Result<u64> {
    let n = s.n();
    let fingerprint = super::reuse::Inputs::new("structure").projection(s.graph, &s.risk).bools(&s.risk_defaulted).finish();
    let names = [
        ("core", Cells::U32),
        ("triangles", Cells::U32),
        ("clustering", Cells::F64),
        ("defaulted_share_1hop", Cells::F64),
        ("defaulted_share_2hop", Cells::F64),
    ];
    let (core, tri, clustering, one, two, rows) = match s.reuse_risk_columns("structure", fingerprint, &names)? {
        Some(columns) => {
            let mut columns = columns.into_iter();
            let (
                Some(NodeColumn::U32(core)),
                Some(NodeColumn::U32(tri)),
                Some(NodeColumn::F64(clustering)),
                Some(NodeColumn::F64(one)),
                Some(NodeColumn::F64(two)),
            ) = (columns.next(), columns.next(), columns.next(), columns.next(), columns.next())
            else {
                anyhow::bail!("internal: the structure columns read back are not of the types asked for");
            };
            let rows = s.previous.as_ref().and_then(|p| p.stage_rows.get("structure").copied()).unwrap_or(0);
            let risk = &s.risk;
            (
                scatter_opt(risk, &core, n).into_iter().map(Option::flatten).collect(),
                scatter_opt(risk, &tri, n).into_iter().map(Option::flatten).collect(),
                scatter(risk, &clustering, n, f64::NAN),
                scatter(risk, &one, n, f64::NAN),
                scatter(risk, &two, n, f64::NAN),
                rows,
            )
        }
        None => {
            let risk = &s.risk;
            let core = core_numbers(risk);
            let tri = triangles(risk);
            let core_f: Vec<f64> = core.core.iter().map(|&c| c as f64).collect();
            let tri_f: Vec<f64> = tri.triangles.iter().map(|&t| t as f64).collect();
            let to_u32 = |v: Vec<f64>| v.into_iter().map(|x| x.is_finite().then_some(x.min(u32::MAX as f64) as u32)).collect();
            let (one, two) = defaulted_neighbourhood(s.graph, risk, &s.risk_defaulted);
            (
                to_u32(scatter(risk, &core_f, n, f64::NAN)),
                to_u32(scatter(risk, &tri_f, n, f64::NAN)),
                scatter(risk, &tri.clustering, n, f64::NAN),
                one,
                two,
                tri.total,
            )
        }
    };
    let f = &mut s.features;
    f.u32("core", "k-core number in the risk network (simple, undirected).", core);
    f.u32("triangles", "Triangles through the node in the risk network.", tri);
    f.f64("clustering", "Local clustering coefficient in the risk network.", clustering);
    f.f64("defaulted_share_1hop", "Share of the node's risk-network neighbours that defaulted.", one);
    f.f64("defaulted_share_2hop", "Mean of the neighbours' defaulted shares: defaulted firms two hops away, path-weighted.", two);
    Ok(rows)
}

fn ownership_stage(s: &mut Scoring) -> Result<u64> {
    let (graph, n) = (s.graph, s.n());
    let config = s.config.ownership.config().map_err(anyhow::Error::msg)?;
    let r = ownership(&HoldingNetwork::from_graph(graph), &config);
    let f = &mut s.features;
    f.u32(
        "ubo_count",
        "Firms: persons with integrated ownership ≥ the UBO threshold.",
        pad(r.ubo_count.iter().map(|&c| Some(c)).collect(), n),
    );
    f.f64("top_ubo_share", "Firms: integrated ownership of the largest beneficial owner.", pad_f64(r.top_ubo_share.clone(), n));
    f.text(
        "controller_id",
        "Firms: the actual controller (majority chain, else the clear largest owner).",
        pad_text(r.controller.iter().map(|&c| (c != NONE).then(|| graph.external_id(NodeId(c)).to_string())).collect(), n),
    );
    f.text(
        "control_basis",
        "Firms: majority | largest_owner | none.",
        pad_text(r.basis.iter().map(|b| Some(b.as_str().to_string())).collect(), n),
    );
    let rows = r.ubos.firm.len() as u64;
    s.owned = Some(r);
    Ok(rows)
}

/// The owner's social capital: the controller's and the officers' other firms, carried to the firm.
fn social(s: &mut Scoring) -> Result<u64> {
    let n = s.n();
    let Some(owned) = s.owned.as_ref() else { return Ok(0) };
    let r = ekg_algorithms::ownership::social::social_capital(s.graph, &owned.controller);
    let f = &mut s.features;
    f.u32("controller_other_firms", "Firms: other firms its actual controller controls.", pad(r.controller_other_firms.clone(), n));
    f.f64(
        "controller_defaulted_share",
        "Firms: share of those other firms that defaulted.",
        pad_f64(r.controller_defaulted_share.clone(), n),
    );
    f.f64("controller_mean_pd", "Firms: mean pd of those other firms.", pad_f64(r.controller_mean_pd.clone(), n));
    f.u32("controller_guarantees_given", "Firms: guarantees its actual controller gives.", pad(r.controller_guarantees_given.clone(), n));
    f.u32(
        "officer_other_firms",
        "Firms: other firms its officers run (counted per officer).",
        pad(r.officer_other_firms.iter().map(|&c| Some(c)).collect(), n),
    );
    f.f64("officer_defaulted_share", "Firms: share of those firms that defaulted.", pad_f64(r.officer_defaulted_share.clone(), n));
    let tenure = ekg_algorithms::ownership::social::officer_tenure(s.graph, s.as_of);
    f.f64(
        "legal_rep_tenure_years",
        "Firms: years since its legal representative took office (a recent change is a warning sign); null where unknown.",
        pad_f64(tenure.legal_rep_years, n),
    );
    f.f64("officer_mean_tenure_years", "Firms: mean years in office of its officers with a known start.", pad_f64(tenure.mean_years, n));
    Ok(r.controller_other_firms.iter().filter(|c| c.is_some_and(|c| c > 0)).count() as u64)
}

fn groups(s: &mut Scoring) -> Result<u64> {
    let (graph, n) = (s.graph, s.n());
    let Some(owned) = s.owned.as_ref() else { return Ok(0) };
    let r = graph_groups(graph, owned, s.config.groups.links()).groups;
    // With --previous, each group shows the id of last night's it overlaps most.
    let shown: Vec<u32> = match s.previous.as_ref().and_then(|p| p.groups.as_ref()) {
        Some(before) => {
            let previous_of: Vec<u32> = graph.kind_range(NodeKind::Firm).map(|f| before.of_node[f as usize]).collect();
            let carried = carry_labels(&r.group, &previous_of, r.size.len(), &before.ids());
            s.changes.extend(super::previous::label_changes("group", &carried, &r.size, before, true));
            carried.id
        }
        None => (0..r.size.len() as u32).collect(),
    };
    let f = &mut s.features;
    f.u32(
        "group_id",
        "Firms: group customer id (control, mutual guarantees); 0 = the largest, or with --previous the id of the previous night's group it overlaps most.",
        pad(r.group.iter().map(|&g| Some(shown[g as usize])).collect(), n),
    );
    f.u32("group_size", "Firms: firms in the group.", pad(r.group.iter().map(|&g| Some(r.size[g as usize])).collect(), n));
    f.f64(
        "group_exposure",
        "Firms: Σ exposure of the group's firms.",
        pad_f64(r.group.iter().map(|&g| r.exposure[g as usize]).collect(), n),
    );
    let table = crate::tables::groups(graph, &r, &shown)?;
    match &s.out_dir {
        Some(dir) => {
            table.write(&dir.join("groups.parquet"))?;
            s.written.push("groups.parquet");
        }
        None => s.groups_table = Some(table),
    }
    Ok(r.size.iter().filter(|&&size| size > 1).count() as u64)
}

fn guarantees(s: &mut Scoring) -> Result<u64> {
    let (p, n) = (&s.guarantee_projection, s.n());
    let defaulted: Vec<bool> = p.nodes.iter().map(|&v| s.graph.is_defaulted(v)).collect();
    let r = guarantee_network(p, &defaulted);
    let f = &mut s.features;
    f.bool(
        "in_guarantee_circle",
        "In a guarantee circle (strongly connected guarantees).",
        scatter_opt(p, &r.circle.iter().map(|&c| c != NONE).collect::<Vec<_>>(), n),
    );
    f.u32("guarantee_chain_depth", "Longest guarantee chain ending here, circles collapsed.", scatter_opt(p, &r.chain_depth, n));
    f.f64("contingent_liability_direct", "Σ amounts the entity guarantees.", scatter(p, &r.direct_liability, n, f64::NAN));
    f.f64(
        "contingent_liability_transitive",
        "Σ amounts guaranteed by the entity or anyone it guarantees, down the chain.",
        scatter(p, &r.transitive_liability, n, f64::NAN),
    );
    f.bool(
        "guarantees_defaulted",
        "A firm it guarantees, directly or down the chain, has defaulted.",
        scatter_opt(p, &r.exposed_to_default, n),
    );
    let rows = r.circles.len() as u64;
    s.guarantees = Some(r);
    Ok(rows)
}

/// DebtRank's feature columns: names and meanings, in the order `debtrank` computes them.
fn debtrank_columns() -> Vec<(String, String)> {
    let mut columns = vec![
        (
            "debtrank_distress".to_string(),
            "Firms: DebtRank distress h when the defaulted firms default (Battiston et al. 2012).".to_string(),
        ),
        ("systemic_debtrank".to_string(), "Firms: DebtRank of the firm's own default, for the largest exposures.".to_string()),
    ];
    for channel in Channel::ALL {
        let meaning = match channel {
            Channel::Guarantee => "through guarantees it gave",
            Channel::Equity => "through its holdings in defaulted firms",
            Channel::Downstream => "downstream: from customers that defaulted (unpaid receivables)",
            Channel::Upstream => "upstream: from suppliers it depends on that failed",
        };
        columns.push((
            format!("stress_{}_share", channel.as_str()),
            format!("Firms: share of the DebtRank stress it received {meaning}; null when it received none."),
        ));
    }
    columns
}

fn debtrank(s: &mut Scoring) -> Result<u64> {
    let (graph, n) = (s.graph, s.n());
    let Some(net) = s.impact.as_ref() else { return Ok(0) };
    let firm_count = graph.kind_count(NodeKind::Firm);
    let value = economic_weights(&graph.firms.exposure, &graph.firms.registered_capital);
    let shock: Vec<(u32, f64)> = (0..firm_count as u32).filter(|&f| graph.is_defaulted(NodeId(f))).map(|f| (f, 1.0)).collect();
    let shocked: Vec<u32> = shock.iter().map(|x| x.0).collect();
    let fingerprint = super::reuse::Inputs::new("debtrank")
        .firm_ids(graph)
        .impact_network(net)
        .f64s(&value)
        .u32s(&shocked)
        .text(&s.config.contagion.top_k.to_string())
        .finish();
    let names: Vec<(String, String)> = debtrank_columns();
    let reused = match &s.previous {
        Some(p) if p.stage_inputs.get("debtrank") == Some(&fingerprint) => {
            let columns = super::reuse::read_firm_features(&p.dir, graph, &names.iter().map(|c| c.0.clone()).collect::<Vec<_>>())?;
            columns.zip(p.debtrank_total).map(|(c, total)| (c, total, p.debtrank_rows))
        }
        _ => None,
    };
    s.stage_inputs.insert("debtrank", fingerprint);
    let (columns, total, rows) = match reused {
        Some(found) => {
            s.reused.push("debtrank");
            found
        }
        None => {
            let (result, by_channel) = debt_rank_by_channel(net, &value, &shock);
            let mut distress = vec![0.0; firm_count];
            for &(f, h) in &result.distress {
                distress[f as usize] = h;
            }
            // Where each distressed firm's stress came from, as shares of what it received.
            let mut shares = vec![[f64::NAN; 4]; firm_count];
            for &(f, received) in &by_channel {
                let total: f64 = received.iter().sum();
                shares[f as usize] = received.map(|x| x / total);
            }
            let top = largest_exposures(&graph.firms.exposure, firm_count, s.config.contagion.top_k);
            let mut systemic = vec![f64::NAN; firm_count];
            for (&f, x) in top.iter().zip(systemic_importance(net, &value, &top)) {
                systemic[f as usize] = x;
            }
            let mut columns = vec![distress, systemic];
            for channel in Channel::ALL {
                columns.push(shares.iter().map(|x| x[channel as usize]).collect());
            }
            (columns, result.debtrank, result.distress.len() as u64)
        }
    };
    s.debtrank_total = Some(total);
    s.debtrank_rows = rows;
    for ((name, meaning), column) in names.iter().zip(columns) {
        s.features.f64(name, meaning, pad_f64(column, n));
    }
    Ok(rows)
}

fn cascade(s: &mut Scoring) -> Result<u64> {
    let n = s.n();
    let Some(net) = s.impact.as_ref() else { return Ok(0) };
    let config = s.config.contagion.cascade(s.config.seed);
    let fingerprint = super::reuse::Inputs::new("cascade")
        .firm_ids(s.graph)
        .impact_network(net)
        .f64s(&s.pd)
        .text(&serde_json::to_string(&s.config.contagion)?)
        .text(&s.config.seed.to_string())
        .text("draws keyed by firm id")
        .finish();
    let reused = match &s.previous {
        Some(p) if p.stage_inputs.get("cascade") == Some(&fingerprint) => super::reuse::read_cascade(&p.dir, s.graph, config.runs)?,
        _ => None,
    };
    s.stage_inputs.insert("cascade", fingerprint);
    let r = match reused {
        Some(r) => {
            s.reused.push("cascade");
            r
        }
        None => default_cascade(net, &s.pd, &crate::findings::firm_draw_keys(s.graph), &config),
    };
    s.features.f64(
        "cascade_pd",
        "Firms: default probability including contagion (Monte Carlo cascades).",
        pad_f64(r.probability.clone(), n),
    );
    s.features.f64("cascade_lift", "Firms: cascade_pd / pd.", pad_f64(cascade_lift(&r.probability, &s.pd), n));
    let rows = r.contagion_runs.iter().filter(|&&c| c > 0).count() as u64;
    s.cascade = Some(r);
    Ok(rows)
}

fn rings(s: &mut Scoring) -> Result<u64> {
    let n = s.n();
    let Found { rings, notes, seconds } = find_rings(s.graph, &s.config.rings.search(), true);
    s.ring_notes = notes;
    s.ring_seconds = seconds;
    let mut count = vec![0.0f64; n];
    let mut best = vec![f64::NAN; n];
    let mut note = |v: u32, score: f64| {
        count[v as usize] += 1.0;
        best[v as usize] = if best[v as usize].is_nan() { score } else { best[v as usize].max(score) };
    };
    for r in &rings {
        for &m in &r.members {
            note(m, r.score);
            let o = s.owner[m as usize];
            if o != NONE && !r.members.contains(&o) {
                note(o, r.score);
            }
        }
    }
    s.features.u32("ring_count", "Rings the entity (or an account it owns) is in.", count.iter().map(|&c| Some(c as u32)).collect());
    s.features.f64("max_ring_score", "Highest score among those rings (comparable within a ring kind).", best);
    if let Some(owned) = s.owned.as_ref() {
        let firms = s.graph.kind_count(NodeKind::Firm);
        let controller_rings = owned.controller[..firms].iter().map(|&c| (c != NONE).then(|| count[c as usize] as u32)).collect();
        s.features.u32(
            "controller_ring_count",
            "Firms: rings its actual controller is in; null without a controller.",
            pad(controller_rings, n),
        );
    }
    s.ring_ids = crate::findings::ring_ids(s.graph, &rings);
    s.rings = rings;
    Ok(s.rings.len() as u64)
}

fn persons(s: &mut Scoring) -> Result<u64> {
    person_features(s.graph, &mut s.features);
    let e = ekg_algorithms::ownership::social::network_exposure(s.graph);
    s.features.u32("network_firms", "Persons: the other firms of their co-officers and co-holders, counted per co-person.", e.firms);
    s.features.f64("network_defaulted_share", "Persons: share of those firms that defaulted.", e.defaulted_share);
    Ok(s.graph.kind_count(NodeKind::Person) as u64)
}

fn flag_stage(s: &mut Scoring) -> Result<u64> {
    let (graph, config) = (s.graph, &s.config.flags);
    let mut out: Vec<Flag> = Vec::new();
    flags::ring_flags(graph, &s.rings, &s.ring_ids, &s.owner, config, &mut out);
    if let Some(g) = &s.guarantees {
        flags::guarantee_flags(graph, &s.guarantee_projection, g, &mut out);
    }
    if let Some(c) = &s.cascade {
        flags::contagion_flags(graph, &s.pd, c, s.impact.as_ref(), config, &mut out);
    }
    if let Some(o) = &s.owned {
        flags::ownership_flags(graph, o, config, &mut out);
    }
    out.sort_by(|a, b| a.node.cmp(&b.node).then(a.flag.cmp(b.flag)).then(a.ring_id.cmp(&b.ring_id)));
    s.flags = out;
    s.review = crate::cases::queue(&s.rings, &s.owner, &config.min_ring_score, config.review_capacity);
    Ok(s.flags.len() as u64)
}

/// Industrial clusters (`clusters.parquet`) and their features on the firm rows.
fn clusters(s: &mut Scoring) -> Result<u64> {
    use ekg_algorithms::clusters::{industrial_clusters, ClusterConfig};
    let (graph, n) = (s.graph, s.n());
    let config = ClusterConfig { louvain: s.config.communities.louvain(s.config.seed), ..ClusterConfig::default() };
    let found = industrial_clusters(graph, &config);
    let of = |f: usize| found.cluster_of.get(f).copied().filter(|&c| c != NONE).map(|c| &found.clusters[c as usize]);
    let firms = graph.kind_count(NodeKind::Firm);
    let f = &mut s.features;
    f.u32(
        "industrial_cluster",
        "Firms: industrial cluster (clusters.parquet): a Louvain community of supply links within one region; null when in none.",
        pad(found.cluster_of.iter().map(|&c| (c != NONE).then_some(c)).collect(), n),
    );
    f.u32(
        "industrial_cluster_size",
        "Firms: firms in its industrial cluster.",
        pad((0..firms).map(|v| of(v).map(|c| c.members.len() as u32)).collect(), n),
    );
    // Leave-one-out: a firm's own default is not a feature of it.
    f.f64(
        "industrial_cluster_default_rate",
        "Firms: share of the other firms of its industrial cluster that defaulted (reads default labels; the firm itself left out).",
        pad_f64(
            (0..firms)
                .map(|v| {
                    of(v).map_or(f64::NAN, |c| {
                        let own = u32::from(graph.is_defaulted(NodeId(v as u32)));
                        c.defaulted.saturating_sub(own) as f64 / c.members.len().saturating_sub(1).max(1) as f64
                    })
                })
                .collect(),
            n,
        ),
    );
    f.f64(
        "industrial_cluster_penetration",
        "Firms: share of its industrial cluster's firms that already borrow.",
        pad_f64((0..firms).map(|v| of(v).map_or(f64::NAN, |c| c.penetration())).collect(), n),
    );
    f.bool(
        "industrial_cluster_core",
        "Firms: the core of its industrial cluster (most supply links inside it).",
        pad_bool((0..firms).map(|v| of(v).map(|c| c.core == v as u32)).collect(), n),
    );
    let rows = found.clusters.len() as u64;
    s.clusters = Some(found);
    Ok(rows)
}

/// The acquisition white list around the top supply-chain cores, this run's flags excluding or
/// lowering firms.
fn prospects(s: &mut Scoring) -> Result<u64> {
    let section = &s.config.prospects;
    let mut flags: std::collections::HashMap<u32, (u32, u32)> = std::collections::HashMap::new();
    for f in &s.flags {
        let entry = flags.entry(f.node).or_default();
        entry.0 += 1;
        entry.1 += u32::from(f.severity == flags::Severity::High);
    }
    let params = crate::whitelist::WhiteListParams {
        cores: crate::whitelist::top_cores(s.graph, section.core_top),
        hops: section.hops,
        max_capital: section.max_capital,
        limit: None,
        only: None,
    };
    // This job's risk rank and control, computed here with its settings when their stages are off.
    let computed_rank;
    let risk_rank = match &s.risk_rank {
        Some(rank) => rank,
        None => {
            computed_rank = crate::whitelist::risk_rank(s.graph, &s.risk, &s.pagerank_config()?);
            &computed_rank
        }
    };
    let computed_owned;
    let owned = match &s.owned {
        Some(owned) => owned,
        None => {
            computed_owned = ownership(&HoldingNetwork::from_graph(s.graph), &s.config.ownership.config().map_err(anyhow::Error::msg)?);
            &computed_owned
        }
    };
    let basis = crate::whitelist::RiskBasis { risk_rank, owned };
    let list = crate::whitelist::white_list(s.graph, &params, &flags, &basis);
    let rows = list.rows.len() as u64;
    s.prospects = Some(list);
    Ok(rows)
}

/// Values by projection-local id → by graph node id, `fill` elsewhere.
fn scatter(projection: &Projection, values: &[f64], n: usize, fill: f64) -> Vec<f64> {
    let mut out = vec![fill; n];
    for (local, &node) in projection.nodes.iter().enumerate() {
        out[node.index()] = values[local];
    }
    out
}

fn scatter_opt<T: Copy>(projection: &Projection, values: &[T], n: usize) -> Vec<Option<T>> {
    let mut out = vec![None; n];
    for (local, &node) in projection.nodes.iter().enumerate() {
        out[node.index()] = Some(values[local]);
    }
    out
}

/// Firm-indexed values (firms are ids 0..firms) padded with nulls to every node.
fn pad(mut values: Vec<Option<u32>>, n: usize) -> Vec<Option<u32>> {
    values.resize(n, None);
    values
}

fn pad_f64(mut values: Vec<f64>, n: usize) -> Vec<f64> {
    values.resize(n, f64::NAN);
    values
}

fn pad_bool(mut values: Vec<Option<bool>>, n: usize) -> Vec<Option<bool>> {
    values.resize(n, None);
    values
}

fn pad_text(mut values: Vec<Option<String>>, n: usize) -> Vec<Option<String>> {
    values.resize(n, None);
    values
}
