//! The command line, as clap structs. Flags are validated into ready objects by each command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ekg_schema::Relation;

#[derive(Parser, Debug)]
#[command(name = "ekg", version, about = "Enterprise knowledge graph and graph-risk analytics for lenders", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// No progress bars (they are also off when stderr is not a terminal).
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Log what each phase does (or set EKG_LOG=debug).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Show person-identifying values (resident ID numbers, phones, e-mails, personal bank
    /// accounts, devices) in outputs as they are; by default they are keyed pseudonyms.
    #[arg(long, global = true)]
    pub reveal_pii: bool,
    /// The key of the pseudonyms in outputs (at least 16 bytes); default: EKG_PII_KEY_FILE, else
    /// ~/.config/ekg/pii.key (created on first use).
    #[arg(long, global = true, value_name = "FILE")]
    pub pii_key: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a synthetic enterprise dataset with planted risk patterns (and their truth/).
    Generate(GenerateArgs),
    /// Check a dataset against the input contract and list every problem by file, row and column.
    Validate(ValidateArgs),
    /// Load a dataset and write the graph as a snapshot that later commands open in milliseconds.
    Build(BuildArgs),
    /// Show what a graph holds: entities by kind, relations, degrees and memory footprint.
    Info(InfoArgs),
    /// The nightly job on the bundled sample data into ekg-demo/, what it found, and what to run
    /// next (no arguments needed).
    Demo(DemoArgs),
    /// Run one graph algorithm and write one row per node to OUT/ALGO.parquet.
    Run(Box<RunArgs>),
    /// The nightly job: every analysis on one graph; features, flags, rings, groups and an audit
    /// manifest written atomically into OUT.
    Score(ScoreArgs),
    /// Explain a firm, person, account or loan, or a ring.
    Show(ShowArgs),
    /// The shortest paths between two entities, hop by hop.
    Path(PathArgs),
    /// The subgraph around an entity, for Gephi, Cytoscape or Graphviz.
    Neighborhood(NeighborhoodArgs),
    /// Small and micro firms around core enterprises, ranked for lending, with reasons.
    Prospects(ProspectsArgs),
    /// The whole graph for a graph database: Neo4j admin-import CSVs or a Kùzu-loadable folder.
    Export(ExportArgs),
    /// The investigator's workbench: a local web view of a scored graph (alerts, entities, rings
    /// drawn, neighbourhoods, paths) and its JSON API.
    Serve(ServeArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// PageRank (column `pagerank`).
    Pagerank,
    /// Personalized PageRank from seeds, by default the defaulted firms (column `ppr`).
    Ppr,
    /// Weakly connected components (column `component`, 0 = largest).
    Wcc,
    /// Strongly connected components (column `component`, 0 = largest).
    Scc,
    /// Label propagation, LDBC Graphalytics CDLP (column `community`, 0 = largest).
    Lpa,
    /// Louvain modularity communities (column `community`, 0 = largest).
    Louvain,
    /// Leiden modularity communities, each connected (column `community`, 0 = largest).
    Leiden,
    /// Triangles and local clustering on the undirected view (columns `triangles`, `clustering`).
    Triangles,
    /// Core number on the undirected view (column `core`).
    Kcore,
    /// Integrated ownership, beneficial owners and actual controllers (ownership.parquet,
    /// ownership_ubo.parquet).
    Ownership,
    /// Related-party group customers (groups.parquet).
    Groups,
    /// Guarantee circles, chains and contingent liabilities (guarantees.parquet,
    /// guarantee_circles.parquet).
    Guarantees,
    /// DebtRank distress from a shock, and systemic importance of the largest firms
    /// (debtrank.parquet).
    Debtrank,
    /// Monte Carlo default cascades: contagion-inclusive default probability (cascade.parquet).
    Cascade,
    /// Fraud rings of every kind, scored, with evidence (rings.parquet, ring_edges.parquet,
    /// ring_nodes.parquet).
    Rings,
}

/// The loss-absorbing buffer of a firm in DebtRank and cascades.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferColumn {
    RegisteredCapital,
    Exposure,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The algorithm.
    #[arg(value_enum)]
    pub algorithm: Algorithm,
    /// Snapshot file or dataset folder.
    #[arg(long)]
    pub graph: PathBuf,
    /// Relations to run on, comma-separated (e.g. transfers,guarantees); default: all.
    #[arg(long, value_delimiter = ',', value_parser = parse_relation)]
    pub relations: Vec<Relation>,
    /// Follow every relation in both directions.
    #[arg(long)]
    pub undirected: bool,
    /// Weight edges by amount, share or volume.
    #[arg(long)]
    pub weighted: bool,
    #[command(flatten)]
    pub pagerank: crate::params::pagerank::PageRankArgs,
    #[command(flatten)]
    pub communities: crate::params::communities::CommunityArgs,
    /// Random seed for louvain, leiden and cascade (the same seed gives the same result).
    #[arg(long, default_value_t = ekg_algorithms::DEFAULT_SEED)]
    pub seed: u64,
    /// Seed ids for ppr, one per line (default: firms with defaulted = true).
    #[arg(long)]
    pub seeds: Option<PathBuf>,
    #[command(flatten)]
    pub ownership: crate::params::ownership::OwnershipArgs,
    #[command(flatten)]
    pub groups: crate::params::ownership::GroupArgs,
    #[command(flatten)]
    pub contagion: crate::params::contagion::ContagionArgs,
    /// debtrank, cascade: the firm column that absorbs losses.
    #[arg(long, value_enum, default_value_t = BufferColumn::RegisteredCapital)]
    pub buffer_column: BufferColumn,
    /// debtrank: shock the firms of this industry (instead of the defaulted firms).
    #[arg(long)]
    pub shock_industry: Option<String>,
    /// debtrank: shock the firms of this region (with --shock-industry: both must match).
    #[arg(long)]
    pub shock_region: Option<String>,
    /// debtrank: initial distress of shocked firms in an industry or region scenario.
    #[arg(long, default_value_t = 1.0)]
    pub psi: f64,
    #[command(flatten)]
    pub rings: crate::params::rings::RingArgs,
    /// rings: a generator truth/ folder; recall and precision per kind go into the summary.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// rings: cases a team reviews a day, per lead kind: the first this many of each kind's queue
    /// are marked in_capacity in cases.parquet (and precision is measured there with --truth).
    #[arg(long, default_value_t = crate::cases::DEFAULT_CAPACITY)]
    pub capacity: usize,
    /// Output folder; tables are written as OUT/NAME.parquet, each replaced atomically (only
    /// tables ekg wrote are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output even if ekg did not write it (refused by default, exit 73).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// Dataset folder or snapshot file.
    #[arg(required_unless_present_any = ["replay", "print_config"])]
    pub input: Option<PathBuf>,
    /// Output folder (replaced atomically, only if ekg wrote it or it is empty; OUT.lock keeps a
    /// second run out).
    #[arg(long, required_unless_present_any = ["replay", "print_config"])]
    pub out: Option<PathBuf>,
    /// Print the configuration (every key of score.toml with its value and meaning: the
    /// defaults, or --config's values) and exit.
    #[arg(long, conflicts_with_all = ["replay", "input", "out"])]
    pub print_config: bool,
    /// Run again what an earlier run's manifest.json records (its input, checked by hash, load
    /// options, configuration and as-of instant), into --out or the recorded folder.
    #[arg(long, value_name = "MANIFEST", conflicts_with_all = ["input", "config", "as_of", "format", "encoding", "on_error", "memory_limit"])]
    pub replay: Option<PathBuf>,
    /// score.toml: analyses and parameters (default: all analyses, default parameters).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Score the graph as it stood then (YYYY-MM-DD or RFC 3339): later transfers and guarantees
    /// are left out. Default: the latest transfer in the data.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Input layout (datasets).
    #[arg(long, value_enum, default_value_t = InputFormat::Contract)]
    pub format: InputFormat,
    /// Text encoding of CSV files.
    #[arg(long, value_enum, default_value_t = EncodingArg::Utf8)]
    pub encoding: EncodingArg,
    /// What to do with rows that break the contract.
    #[arg(long, value_enum, default_value_t = OnErrorArg::Fail)]
    pub on_error: OnErrorArg,
    /// Memory the load may use, e.g. 8G (default: what the machine has available).
    #[arg(long)]
    pub memory_limit: Option<String>,
    /// Load even when the estimate exceeds the memory available, and replace an output folder
    /// that ekg did not write.
    #[arg(long)]
    pub force: bool,
    /// The previous night's output folder: rings and flags continue (first_seen, nights_seen,
    /// previous_ring_id), communities and groups keep their ids, and changes.parquet says what is
    /// new, changed or gone. Its as-of must be earlier than tonight's.
    #[arg(long, value_name = "DIR")]
    pub previous: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Run the distributed stages on N processes of this machine, which talk over localhost TCP
    /// as a cluster's hosts would (timely dataflow; `--threads` workers each). Writes their
    /// feature columns only: see the README's "Beyond one machine".
    #[arg(long, value_name = "N", conflicts_with_all = ["replay", "previous", "hosts"])]
    pub processes: Option<usize>,
    /// A cluster's host file: one host:port per line, process 0 first. Run the same command on
    /// every host with its --process; process 0 writes the outputs.
    #[arg(long, value_name = "FILE", requires = "process", conflicts_with_all = ["replay", "previous"])]
    pub hosts: Option<PathBuf>,
    /// This process's line in --hosts, from 0.
    #[arg(long, value_name = "I", requires = "hosts")]
    pub process: Option<usize>,
    /// Seconds to wait for every process of --processes or --hosts to connect.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub connect_timeout: u64,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(subcommand)]
    pub what: ShowWhat,
    /// Snapshot file or dataset folder.
    #[arg(long, global = true, default_value = "sample-data")]
    pub graph: PathBuf,
    /// An `ekg score` (or `ekg run rings`) output folder: adds features, flags and rings.
    #[arg(long, global = true)]
    pub scores: Option<PathBuf>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Print one JSON object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// neo4j-admin import CSVs and import.sh.
    Neo4j,
    /// Parquet per node and relationship table, schema.cypher and copy.cypher.
    Kuzu,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Neo4j => "neo4j",
            ExportFormat::Kuzu => "kuzu",
        }
    }
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Snapshot file or dataset folder.
    pub graph: PathBuf,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Folder to write (replaced atomically, only if ekg export wrote it or it is empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output even if ekg did not write it (refused by default, exit 73).
    #[arg(long)]
    pub force: bool,
}

/// `ekg path` and the workbench: hops searched by default (ownership and guarantee chains of
/// interest are rarely longer) and shortest paths listed.
pub const DEFAULT_MAX_HOPS: usize = 6;
pub const DEFAULT_MAX_PATHS: usize = 5;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Snapshot file or dataset folder.
    pub graph: PathBuf,
    /// An `ekg score` output folder: alerts, rings, features (without it: entities, paths and
    /// neighbourhoods only).
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on; anything but a loopback address needs --token-file.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// A file holding the access token (16 characters or more) every request must carry.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Subcommand, Debug)]
pub enum ShowWhat {
    /// Attributes, ownership and control, top counterparties; with --scores also features,
    /// flags with reasons and rings.
    Node { id: String },
    /// A ring's members with their roles, its evidence in time order, its score and why.
    Ring { ring_id: String },
}

#[derive(Args, Debug)]
pub struct PathArgs {
    pub from: String,
    pub to: String,
    /// Snapshot file or dataset folder.
    #[arg(long)]
    pub graph: PathBuf,
    /// Relations to follow (either direction), comma-separated; default: all.
    #[arg(long, value_delimiter = ',', value_parser = parse_relation)]
    pub relations: Vec<Relation>,
    #[arg(long, default_value_t = DEFAULT_MAX_HOPS)]
    pub max_hops: usize,
    /// Shortest paths listed at most.
    #[arg(long, default_value_t = DEFAULT_MAX_PATHS)]
    pub max_paths: usize,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubgraphFormat {
    /// GraphML with typed attributes (Gephi, Cytoscape, networkx).
    Graphml,
    /// GEXF 1.3 with typed attributes (Gephi).
    Gexf,
    /// ekg's own JSON: nodes and edges with typed attributes.
    Json,
    /// The cytoscape.js elements format (Cytoscape, cytoscape.js, networkx's cytoscape_graph).
    Cytoscape,
    /// Graphviz, nodes shaped and coloured by kind.
    Dot,
}

#[derive(Args, Debug)]
pub struct NeighborhoodArgs {
    pub id: String,
    /// Snapshot file or dataset folder.
    #[arg(long)]
    pub graph: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub hops: usize,
    /// Relations to follow, comma-separated; default: all.
    #[arg(long, value_delimiter = ',', value_parser = parse_relation)]
    pub relations: Vec<Relation>,
    #[arg(long, value_enum, default_value_t = SubgraphFormat::Graphml)]
    pub format: SubgraphFormat,
    /// File to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output even if ekg did not write it (refused by default, exit 73).
    #[arg(long)]
    pub force: bool,
    /// An `ekg score` output folder: key scores and flag counts as node attributes.
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Stop collecting nodes at this many.
    #[arg(long, default_value_t = 5000)]
    pub max_nodes: usize,
}

#[derive(Args, Debug)]
pub struct ProspectsArgs {
    /// Snapshot file or dataset folder.
    #[arg(long)]
    pub graph: PathBuf,
    /// Core enterprises by id, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub core: Vec<String>,
    /// Or the N firms with the highest weighted supply-chain PageRank.
    #[arg(long)]
    pub core_top: Option<usize>,
    /// Or one industrial cluster (`cluster_id` of clusters.parquet, default score settings): its
    /// core, and its members at any distance in the cluster.
    #[arg(long, conflicts_with_all = ["core", "core_top"])]
    pub cluster: Option<u32>,
    /// Supply links from a core.
    #[arg(long, default_value_t = crate::whitelist::DEFAULT_HOPS)]
    pub hops: u32,
    /// Small and micro firms only: registered capital at most this.
    #[arg(long, default_value_t = crate::whitelist::DEFAULT_MAX_CAPITAL)]
    pub max_capital: f64,
    /// An `ekg score` output folder: its flags lower ranks (high-severity flags exclude).
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Keep the best N.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Parquet file to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output even if ekg did not write it (refused by default, exit 73).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Number of firms; persons, accounts, loans and relations scale with it.
    #[arg(long, default_value_t = 10_000)]
    pub firms: u32,
    /// Random seed: the same seed gives the same dataset.
    #[arg(long, default_value_t = crate::generate::GenConfig::DEFAULT_SEED)]
    pub seed: u64,
    /// Average ordinary transfers sent per firm.
    #[arg(long, default_value_t = crate::generate::GenConfig::DEFAULT_TRANSFERS_PER_FIRM)]
    pub transfers_per_firm: f64,
    /// Output folder (replaced atomically; only a folder ekg generated, or an empty one).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output even if ekg did not write it (refused by default, exit 73).
    #[arg(long)]
    pub force: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// ekg's own contract: one NAME.parquet or NAME.csv per table.
    Contract,
    /// The LDBC Financial Benchmark layout (pipe-delimited CSV).
    Finbench,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnErrorArg {
    /// Refuse to build and list the first problems.
    Fail,
    /// Drop bad rows and list them in rejects.csv.
    Skip,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodingArg {
    Utf8,
    /// GB18030 / GBK, as many Chinese bank systems export.
    Gb18030,
}

/// How to read a dataset.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Input layout.
    #[arg(long, value_enum, default_value_t = InputFormat::Contract)]
    pub format: InputFormat,
    /// The run's as-of date (YYYY-MM-DD): later timestamps are errors. Default: today.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Text encoding of CSV files.
    #[arg(long, value_enum, default_value_t = EncodingArg::Utf8)]
    pub encoding: EncodingArg,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Dataset folder.
    pub dataset: PathBuf,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Problems to print (all are counted).
    #[arg(long, default_value_t = 50)]
    pub show: usize,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Dataset folder.
    pub dataset: PathBuf,
    /// Snapshot file to write (replaced atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// What to do with rows that break the contract.
    #[arg(long, value_enum, default_value_t = OnErrorArg::Fail)]
    pub on_error: OnErrorArg,
    /// Only print the memory the build would need, then stop.
    #[arg(long)]
    pub estimate: bool,
    /// Build even when the estimate exceeds the memory available, and replace a file that is not
    /// an ekg snapshot.
    #[arg(long)]
    pub force: bool,
    /// Memory the build may use, e.g. 8G or 500M (default: what the machine has available).
    #[arg(long)]
    pub memory_limit: Option<String>,
    /// Replace person ids and identifier values by keyed HMAC-SHA256 pseudonyms (KEYFILE holds
    /// the secret key, at least 16 bytes), so outputs can be shared without raw PII.
    #[arg(long, value_name = "KEYFILE")]
    pub pseudonymize: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Snapshot file or dataset folder.
    pub graph: PathBuf,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Dataset folder (default: the bundled sample-data/).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The score folder to write (default: ekg-demo in the current folder; kept, and refused if
    /// something in it is not ekg's).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn parse_relation(name: &str) -> Result<Relation, String> {
    Relation::parse(name).ok_or_else(|| {
        let known: Vec<&str> = Relation::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown relation '{name}' (known: {})", known.join(", "))
    })
}

/// `--relations` as given, each once, in order; every relation when none is given.
pub fn relations_or_all(chosen: &[Relation]) -> Vec<Relation> {
    if chosen.is_empty() {
        return Relation::ALL.to_vec();
    }
    let mut out: Vec<Relation> = Vec::new();
    for &r in chosen {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}
