//! `ekg run`'s flags checked once and turned into what the chosen analysis needs: the low-level
//! [`RunArgs`] become an [`Analysis`] (as ripgrep's `lowargs` become `hiargs`). Every refusal of a
//! parameter happens here, before the output is claimed or the graph opened; the runners take
//! the checked configurations and never look at a flag again.

use anyhow::Result;
use ekg_algorithms::centrality::pagerank::PageRankConfig;
use ekg_algorithms::community::louvain::LouvainConfig;
use ekg_algorithms::community::lpa::LabelPropagationConfig;
use ekg_algorithms::contagion::{CascadeConfig, ImpactConfig};
use ekg_algorithms::ownership::{GroupLinks, OwnershipConfig};
use ekg_algorithms::rings::detect::RingSearch;
use ekg_algorithms::ProjectionConfig;
use ekg_schema::Relation;

use crate::cli::{Algorithm, RunArgs};
use crate::exit::{coded, USAGE};

/// A graph algorithm with its checked configuration.
pub enum GraphAlgorithm {
    PageRank(PageRankConfig),
    Ppr(PageRankConfig),
    Wcc,
    Scc,
    Lpa(LabelPropagationConfig),
    Louvain(LouvainConfig),
    Leiden(LouvainConfig),
    Triangles,
    Kcore,
}

/// Which firms a DebtRank run shocks.
pub enum Shock {
    /// The defaulted firms, fully distressed.
    Defaulted,
    /// The firms of an industry and/or region, at distress `psi`.
    Scenario { industry: Option<String>, region: Option<String>, psi: f64 },
}

/// The analysis `ekg run` performs, with everything it needs checked.
pub enum Analysis {
    Graph { algorithm: GraphAlgorithm, projection: ProjectionConfig },
    Ownership(OwnershipConfig),
    Groups(OwnershipConfig, GroupLinks),
    Guarantees,
    DebtRank { impact: ImpactConfig, shock: Shock, top_k: usize },
    Cascade { impact: ImpactConfig, cascade: CascadeConfig },
    Rings(RingSearch),
}

impl Analysis {
    /// The analysis `args` ask for, every parameter checked (exit 64 naming the bad one). Where
    /// and how it runs (graph, load options, `--out`, `--json`, seeds, truth, capacity) stays in
    /// `args`.
    pub fn check(args: &RunArgs) -> Result<Analysis> {
        analysis(args).map_err(|e| coded(USAGE, e))
    }
}

fn analysis(args: &RunArgs) -> Result<Analysis, String> {
    let graph = |algorithm| Analysis::Graph {
        algorithm,
        projection: ProjectionConfig {
            relations: crate::cli::relations_or_all(&args.relations),
            undirected: args.undirected,
            weighted: args.weighted,
        },
    };
    let communities = || args.communities.validate().map(|()| args.communities.louvain(args.seed));
    Ok(match args.algorithm {
        Algorithm::Pagerank => graph(GraphAlgorithm::PageRank(args.pagerank.config()?)),
        Algorithm::Ppr => graph(GraphAlgorithm::Ppr(args.pagerank.config()?)),
        Algorithm::Wcc => graph(GraphAlgorithm::Wcc),
        Algorithm::Scc => graph(GraphAlgorithm::Scc),
        Algorithm::Lpa => graph(GraphAlgorithm::Lpa(args.communities.label_propagation())),
        Algorithm::Louvain => graph(GraphAlgorithm::Louvain(communities()?)),
        Algorithm::Leiden => graph(GraphAlgorithm::Leiden(communities()?)),
        Algorithm::Triangles => graph(GraphAlgorithm::Triangles),
        Algorithm::Kcore => graph(GraphAlgorithm::Kcore),
        Algorithm::Ownership => Analysis::Ownership(args.ownership.config()?),
        Algorithm::Groups => Analysis::Groups(args.ownership.config()?, args.groups.links()),
        Algorithm::Guarantees => Analysis::Guarantees,
        Algorithm::Debtrank => Analysis::DebtRank { impact: impact(args)?, shock: shock(args)?, top_k: args.contagion.top_k },
        Algorithm::Cascade => Analysis::Cascade { impact: impact(args)?, cascade: args.contagion.cascade(args.seed) },
        Algorithm::Rings => {
            args.rings.validate()?;
            Analysis::Rings(args.rings.search())
        }
    })
}

/// The impact network's configuration: the chosen relations (default: guarantees, shareholdings,
/// supply links), which must carry loss between firms.
fn impact(args: &RunArgs) -> Result<ImpactConfig, String> {
    args.contagion.validate()?;
    let mut config = args.contagion.impact();
    if !args.relations.is_empty() {
        let relations = crate::cli::relations_or_all(&args.relations);
        if let Some(bad) = relations.iter().find(|r| !config.relations.contains(r)) {
            return Err(format!("--relations: {bad} carries no loss between firms (use guarantees, shareholdings, supply_links)"));
        }
        config.relations = relations;
    }
    Ok(config)
}

fn shock(args: &RunArgs) -> Result<Shock, String> {
    if args.shock_industry.is_none() && args.shock_region.is_none() {
        return Ok(Shock::Defaulted);
    }
    if !(args.psi > 0.0 && args.psi <= 1.0) {
        return Err(format!("--psi {} must be in (0, 1]", args.psi));
    }
    Ok(Shock::Scenario { industry: args.shock_industry.clone(), region: args.shock_region.clone(), psi: args.psi })
}

/// The relations a graph algorithm runs on, for the summary.
pub fn relation_names(relations: &[Relation]) -> Vec<&'static str> {
    relations.iter().map(|r| r.as_str()).collect()
}
