//! The output contract: every table ekg writes for others to read, its columns in order, their
//! types and what they mean, in one place. Tables are checked against it when written
//! (`Table::documented` in `table.rs`) and carry each column's meaning as Parquet field
//! metadata; `ekg score` writes it as `tables.md`; `tests/it/dictionary.rs` reads the files back.
//! `features.parquet` has its own dictionary (`features.md`), built as its columns are.

/// A column's type as a reader sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Text,
    U32,
    U64,
    F64,
    Bool,
    /// µs since the epoch, UTC.
    Timestamp,
    TextList,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Text => "text",
            Type::U32 => "u32",
            Type::U64 => "u64",
            Type::F64 => "f64",
            Type::Bool => "bool",
            Type::Timestamp => "timestamp (µs, UTC)",
            Type::TextList => "list of text",
        }
    }

    /// Whether an Arrow type is this type.
    pub fn matches(self, data_type: &arrow_schema::DataType) -> bool {
        use arrow_schema::DataType as D;
        match (self, data_type) {
            (Type::Text, D::Utf8)
            | (Type::U32, D::UInt32)
            | (Type::U64, D::UInt64)
            | (Type::F64, D::Float64)
            | (Type::Bool, D::Boolean) => true,
            (Type::Timestamp, D::Timestamp(arrow_schema::TimeUnit::Microsecond, _)) => true,
            (Type::TextList, D::List(item)) => item.data_type() == &D::Utf8,
            _ => false,
        }
    }
}

pub struct Column {
    pub name: &'static str,
    pub kind: Type,
    pub meaning: &'static str,
}

pub struct TableDoc {
    pub file: &'static str,
    pub about: &'static str,
    pub columns: &'static [Column],
}

const fn c(name: &'static str, kind: Type, meaning: &'static str) -> Column {
    Column { name, kind, meaning }
}

use Type::*;

/// The version of this contract, recorded in every manifest. Raised when a column changes type or
/// meaning, so that `ekg score --previous` refuses a folder it would misread.
pub const OUTPUT_CONTRACT: u32 = 2;

pub const FLAGS: TableDoc = TableDoc {
    file: "flags.parquet",
    about: "One row per (entity, flag): what an investigator should look at and why.",
    columns: &[
        c("node_id", Text, "the flagged entity (pseudonymised unless --reveal-pii)"),
        c("flag", Text, "the flag: a ring kind, contagion_risk, guarantees_defaulted, controls_defaulted_firms"),
        c("severity", Text, "high | medium | low"),
        c("reason", Text, "the fact in a sentence, with its numbers"),
        c("ring_id", Text, "the ring behind a ring flag (rings.parquet), else null"),
        c("path", Text, "the evidence path of a contagion or guarantee flag (ids joined by >), else null"),
        c("first_seen", Timestamp, "the as-of of the first night the entity had this flag (with --previous; else tonight's)"),
        c("nights_seen", U32, "nights with this flag, tonight included (with --previous; else 1)"),
    ],
};

pub const RINGS: TableDoc = TableDoc {
    file: "rings.parquet",
    about: "One row per ring a detector found, highest score first within a kind.",
    columns: &[
        c("ring_id", Text, "stable id: the same kind and members give the same id on every night: a hash of both, 13 base32 characters (-2, -3 for repeats)"),
        c("case_id", U64, "the review-queue case holding the ring (cases.parquet)"),
        c(
            "kind",
            Text,
            "shared_identifier, fund_cycle, fan_in, fan_out, scatter_gather, gather_scatter, dense_block, loan_diversion, guarantee_circle",
        ),
        c("score", F64, "higher is more suspicious; comparable within a kind (ekg show ring says how it is made)"),
        c("size", U32, "members"),
        c("members", TextList, "member ids, ascending by internal id"),
        c("first_ts", Timestamp, "the earliest timed evidence, null when untimed"),
        c("last_ts", Timestamp, "the latest timed evidence, null when untimed"),
        c("total_amount", F64, "money in motion in the evidence, null when the kind has none"),
        c("explanation", Text, "the ring's facts in a sentence, with its numbers"),
        c("first_seen", Timestamp, "the as-of of the first night this ring, or the ring it continues, was found (with --previous; else tonight's)"),
        c("nights_seen", U32, "nights this ring or the ring it continues was found, tonight included"),
        c(
            "previous_ring_id",
            Text,
            "the previous night's ring it continues when its members changed (same kind, Jaccard ≥ 0.5, best match), else null",
        ),
    ],
};

pub const CHANGES: TableDoc = TableDoc {
    file: "changes.parquet",
    about: "With --previous: what changed since the previous night, per ring, flag, community and group customer (groups of one firm on both nights left out).",
    columns: &[
        c("subject", Text, "ring | flag | community | group"),
        c("subject_id", Text, "the ring id, the flag's kind, the community or group id"),
        c("node_id", Text, "the flagged entity of a flag row, else null"),
        c("change", Text, "new | changed | gone | unchanged"),
        c(
            "previous_id",
            Text,
            "what it continues: the previous ring id, the previous community or group id (the same id, carried), a flag's previous ring; null when new",
        ),
        c("what", Text, "what changed, in a sentence: \"2 new members\", \"score 3.100 → 6.400\", \"now includes a defaulted firm (F12)\""),
    ],
};

pub const RING_EDGES: TableDoc = TableDoc {
    file: "ring_edges.parquet",
    about: "The evidence of every ring: one row per edge, in time order within a ring.",
    columns: &[
        c("ring_id", Text, "the ring (rings.parquet)"),
        c("src_id", Text, "source entity"),
        c("dst_id", Text, "target entity"),
        c("relation", Text, "transfer, shared_identifier, shared_legal_rep, guarantee, disbursement"),
        c("amount", F64, "the amount, null when the relation has none"),
        c("ts", Timestamp, "when, null when untimed"),
        c("identifier", Text, "what two entities share (kind:value, pseudonymised), else null"),
    ],
};

pub const RING_NODES: TableDoc = TableDoc {
    file: "ring_nodes.parquet",
    about: "One row per entity in at least one ring.",
    columns: &[
        c("node_id", Text, "the entity"),
        c("kind", Text, "firm, person, account or loan"),
        c("ring_count", U32, "rings it is a member of"),
        c("max_ring_score", F64, "its highest ring score (comparable within a kind only)"),
        c("ring_kinds", Text, "the kinds of its rings, comma-separated"),
    ],
};

pub const CASES: TableDoc = TableDoc {
    file: "cases.parquet",
    about: "The review queue: rings that are parts of one structure merged into one case.",
    columns: &[
        c("case_id", U64, "the case"),
        c(
            "lead_kind",
            Text,
            "kind of the ring that leads it (its most specific one above its flag threshold); null: below every threshold",
        ),
        c("rank", U32, "position in the lead kind's queue, 0 first; null when not queued"),
        c("in_capacity", Bool, "within a day's capacity of the lead kind's team"),
        c("lead_ring_id", Text, "the leading ring (rings.parquet)"),
        c("lead_score", F64, "the leading ring's score; null without a lead"),
        c("ring_kinds", Text, "kinds of all its rings, comma-separated"),
        c("ring_ids", TextList, "all its rings"),
        c("size", U32, "entities involved (accounts counted as their owners)"),
        c("entities", TextList, "the entities involved"),
        c("explanation", Text, "the leading ring's explanation and how many rings the structure has"),
    ],
};

pub const COMMUNITIES: TableDoc = TableDoc {
    file: "communities.parquet",
    about: "Communities of the risk network (holdings, officers, guarantees, supply links).",
    columns: &[
        c("node_id", Text, "the entity"),
        c("kind", Text, "firm, person, account or loan"),
        c("community", U32, "its community: with --previous the id of the previous night's community it overlaps most (new ones above every earlier id), else 0 = the largest"),
    ],
};

pub const GROUPS: TableDoc = TableDoc {
    file: "groups.parquet",
    about: "Group customers: firms under one control (and mutual guarantees when configured).",
    columns: &[
        c("node_id", Text, "the firm"),
        c("group_id", U32, "its group: with --previous the id of the previous night's group it overlaps most (new ones above every earlier id), else 0 = the largest"),
        c("group_size", U32, "firms in the group"),
        c("group_exposure", F64, "Σ exposure of the group's firms"),
        c("anchor_id", Text, "the group's anchor: the member with the most links (ties: the first)"),
        c("reason", Text, "the chain of links from the anchor to the firm"),
    ],
};

pub const PROSPECTS: TableDoc = TableDoc {
    file: "prospects.parquet",
    about: "Small and micro firms around core enterprises, ranked for lending (ekg prospects).",
    columns: &[
        c("rank", U32, "1 = the best prospect"),
        c("node_id", Text, "the firm"),
        c("core_id", Text, "the core enterprise its supply chain leads to"),
        c("position", Text, "upstream (a supplier of the core, or of its suppliers), downstream (a customer, or a customer's customer) or cluster (linked by a chain that changes direction)"),
        c("hops", U32, "supply links to the core along the chain"),
        c("chain", Text, "the firms from this one to the core, with their names, joined by →"),
        c("supply_volume", F64, "volume of the firm's own link into the chain"),
        c("size_class", Text, "micro, small, medium or large by the 2011 SME classification standard; null when the firm has none of its sector's indicators"),
        c("size_basis", Text, "how the size was decided: the standard's sector and indicators, or the registered-capital fallback"),
        c("tenure_days", U32, "days since its first payment with the core's accounts, null when none"),
        c("ppr", F64, "risk rank: PageRank personalised to defaulted firms over the risk network (in ekg score, the ppr feature under the job's [pagerank] settings; 0 outside that network)"),
        c("ppr_percentile", F64, "share of firms with a lower risk rank"),
        c("flags", U32, "low and medium flags in --scores"),
        c("score", F64, "ln(1 + supply_volume) × (1 + tenure years / 5) × (1 − percentile) / (1 + flags) / hops"),
        c("reason", Text, "why it ranks where it does"),
        c("cluster_id", U32, "its industrial cluster (clusters.parquet), null when in none"),
    ],
};

pub const CLUSTERS: TableDoc = TableDoc {
    file: "clusters.parquet",
    about:
        "Industrial clusters: Louvain communities of the supply links between firms of one region, with at least 3 firms; largest first.",
    columns: &[
        c("cluster_id", U32, "0 = the largest"),
        c("region", Text, "the region of all its firms"),
        c("core_id", Text, "the core: the member with the most supply links inside the cluster (then volume, then smallest id)"),
        c("core_name", Text, "the core's name"),
        c("size", U32, "member firms"),
        c("links", U32, "supply links inside the cluster"),
        c("industries", Text, "its industries, most members first, with counts"),
        c("defaulted", U32, "members that defaulted (as of the run)"),
        c("default_rate", F64, "defaulted / size"),
        c("borrowers", U32, "members with at least one loan"),
        c("penetration", F64, "borrowers / size: how much of the cluster already borrows"),
        c("members", TextList, "member firm ids, ascending by internal id"),
    ],
};

/// `rejects.csv` beside a snapshot (`ekg build --on-error skip`).
pub const REJECTS: TableDoc = TableDoc {
    file: "rejects.csv",
    about: "Rows dropped by --on-error skip, one per broken rule.",
    columns: &[
        c("table", Text, "the contract table"),
        c("file", Text, "the input file"),
        c("row", U64, "the data row in the file, 1-based, the header not counted (0: a problem of several rows)"),
        c("column", Text, "the column that broke the rule"),
        c("rule", Text, "the rule"),
        c("reason", Text, "what was wrong, personal values masked"),
    ],
};

/// `ekg run ALGO` for a graph algorithm: one row per node of the projection.
const fn per_node(file: &'static str, about: &'static str, columns: &'static [Column]) -> TableDoc {
    TableDoc { file, about, columns }
}

const NODE: Column = c("node_id", Text, "the entity");
const KIND: Column = c("kind", Text, "firm, person, account or loan");
const COMMUNITY: Column = c("community", U32, "its community, 0 = the largest");
const COMPONENT: Column = c("component", U32, "its component, 0 = the largest (ties: the one with the smallest member)");

pub const PAGERANK: TableDoc = per_node(
    "pagerank.parquet",
    "ekg run pagerank: PageRank of every node of the projection.",
    &[NODE, KIND, c("pagerank", F64, "its PageRank; the column sums to 1")],
);
pub const PPR: TableDoc = per_node(
    "ppr.parquet",
    "ekg run ppr: PageRank personalised to the seeds (default: the defaulted firms).",
    &[NODE, KIND, c("ppr", F64, "its personalised PageRank; the column sums to 1")],
);
pub const WCC: TableDoc = per_node("wcc.parquet", "ekg run wcc: weakly connected components.", &[NODE, KIND, COMPONENT]);
pub const SCC: TableDoc = per_node("scc.parquet", "ekg run scc: strongly connected components.", &[NODE, KIND, COMPONENT]);
pub const LPA: TableDoc =
    per_node("lpa.parquet", "ekg run lpa: communities by label propagation (Graphalytics CDLP).", &[NODE, KIND, COMMUNITY]);
pub const LOUVAIN: TableDoc = per_node("louvain.parquet", "ekg run louvain: communities by Louvain modularity.", &[NODE, KIND, COMMUNITY]);
pub const LEIDEN: TableDoc =
    per_node("leiden.parquet", "ekg run leiden: connected communities by Leiden modularity.", &[NODE, KIND, COMMUNITY]);
pub const TRIANGLES: TableDoc = per_node(
    "triangles.parquet",
    "ekg run triangles: triangles in the simple undirected view.",
    &[
        NODE,
        KIND,
        c("triangles", U64, "triangles through the node"),
        c("clustering", F64, "local clustering coefficient (0 below degree 2)"),
    ],
);
pub const KCORE: TableDoc = per_node(
    "kcore.parquet",
    "ekg run kcore: core numbers in the simple undirected view.",
    &[NODE, KIND, c("core", U32, "the largest k such that the node is in the k-core")],
);

pub const OWNERSHIP: TableDoc = TableDoc {
    file: "ownership.parquet",
    about: "ekg run ownership: each firm's beneficial owners and actual controller.",
    columns: &[
        c("node_id", Text, "the firm"),
        c("ubo_count", U32, "persons with integrated ownership at or above the UBO threshold"),
        c("top_ubo_id", Text, "the person of largest integrated ownership, null when none"),
        c("top_ubo_share", F64, "that person's integrated ownership (through every holding path)"),
        c("controller_id", Text, "the actual controller: majority chain, else the clear largest owner; null when none"),
        c("controller_kind", Text, "firm or person"),
        c("control_basis", Text, "majority | largest_owner | none"),
        c("control_path", Text, "the holding chain from the controller to the firm (ids joined by >; … for an elided stretch)"),
    ],
};

pub const OWNERSHIP_UBO: TableDoc = TableDoc {
    file: "ownership_ubo.parquet",
    about: "ekg run ownership: one row per (firm, beneficial owner).",
    columns: &[
        c("firm_id", Text, "the firm"),
        c("person_id", Text, "the beneficial owner"),
        c("share", F64, "integrated ownership: the sum over every holding path of the products of its shares"),
        c("path", Text, "the strongest holding path, person first, firm last (ids joined by >)"),
    ],
};

pub const GUARANTEES: TableDoc = TableDoc {
    file: "guarantees.parquet",
    about: "ekg run guarantees: every firm and every person who guarantees or is guaranteed.",
    columns: &[
        c("node_id", Text, "the entity"),
        c("kind", Text, "firm or person"),
        c("circle_id", U32, "its guarantee circle (guarantee_circles.parquet), null when in none"),
        c("mutual_pairs", U32, "entities it guarantees that guarantee it back"),
        c("chain_depth", U32, "longest guarantee chain ending at it, in links between circles (each circle one step)"),
        c("direct_liability", F64, "Σ amount it guarantees"),
        c("transitive_liability", F64, "Σ amount of every guarantee given by it or by anyone it guarantees, down the chain, each once"),
        c("exposed_to_default", Bool, "someone it guarantees, directly or down the chain (or a fellow circle member), defaulted"),
        c("defaulted", Bool, "it defaulted"),
    ],
};

pub const GUARANTEE_CIRCLES: TableDoc = TableDoc {
    file: "guarantee_circles.parquet",
    about: "ekg run guarantees: circles of entities that guarantee each other round (strongly connected, 2 or more).",
    columns: &[
        c("circle_id", U32, "0 = the largest"),
        c("size", U32, "members"),
        c("members", TextList, "the members"),
        c("total_amount", F64, "Σ amount of the guarantees inside the circle"),
        c("defaulted_count", U32, "members that defaulted"),
        c("defaulted_members", TextList, "those members"),
    ],
};

pub const DEBTRANK: TableDoc = TableDoc {
    file: "debtrank.parquet",
    about: "ekg run debtrank: distress after the shock spreads over the loss network (Battiston et al. 2012).",
    columns: &[
        c("node_id", Text, "the firm"),
        c("distress", F64, "its distress at the end, 0 (untouched) to 1 (default)"),
        c("systemic_debtrank", F64, "the DebtRank its own default would cause, for the --top-k largest exposures, else null"),
    ],
};

pub const CASCADE: TableDoc = TableDoc {
    file: "cascade.parquet",
    about: "Monte Carlo default cascades over the loss network, per firm (ekg run cascade; ekg score when the cascade stage runs).",
    columns: &[
        c("node_id", Text, "the firm"),
        c("pd", F64, "its own default probability (1 when defaulted, 0 when unknown)"),
        c("cascade_pd", F64, "default probability with contagion: pd + the share of runs in which it defaulted by contagion only"),
        c("ci_low", F64, "lower end of the 95% Wilson interval of cascade_pd"),
        c("ci_high", F64, "upper end of the 95% Wilson interval of cascade_pd"),
        c("lift", F64, "cascade_pd / pd, null when pd is 0"),
        c("contagion_runs", U32, "runs in which it defaulted only through contagion"),
    ],
};

/// Every documented table.
pub const ALL: [&TableDoc; 26] = [
    &FLAGS,
    &RINGS,
    &CHANGES,
    &RING_EDGES,
    &RING_NODES,
    &CASES,
    &COMMUNITIES,
    &GROUPS,
    &PROSPECTS,
    &CLUSTERS,
    &REJECTS,
    &PAGERANK,
    &PPR,
    &WCC,
    &SCC,
    &LPA,
    &LOUVAIN,
    &LEIDEN,
    &TRIANGLES,
    &KCORE,
    &OWNERSHIP,
    &OWNERSHIP_UBO,
    &GUARANTEES,
    &GUARANTEE_CIRCLES,
    &DEBTRANK,
    &CASCADE,
];

/// The contract of the table written as `file`.
pub fn by_file(file: &str) -> Option<&'static TableDoc> {
    ALL.iter().copied().find(|d| d.file == file)
}

/// The tables of `names` as one Markdown data dictionary.
pub fn markdown(files: &[&str]) -> String {
    let docs: Vec<&TableDoc> = ALL.iter().copied().filter(|d| files.contains(&d.file)).collect();
    render("# Tables\n\nEvery table in this folder besides features.parquet (see features.md).\n", &docs)
}

/// Every output table, as `TABLES.md` at the top of the repository holds it (checked by a test).
#[cfg(test)]
pub fn markdown_all() -> String {
    render(
        "# Output tables\n\nEvery table ekg writes for others to read: its columns in order, their types and meanings. \
         Generated from `src/dictionary.rs` (the tables carry the same meanings as Parquet field metadata); \
         `features.parquet` is documented by the `features.md` each `ekg score` writes.\n",
        &ALL,
    )
}

fn render(header: &str, docs: &[&TableDoc]) -> String {
    let mut out = String::from(header);
    for doc in docs {
        out += &format!("\n## {}\n\n{}\n\n| column | type | meaning |\n|---|---|---|\n", doc.file, doc.about);
        for col in doc.columns {
            // A bare | would end the Markdown cell.
            out += &format!("| `{}` | {} | {} |\n", col.name, col.kind.as_str(), col.meaning.replace('|', "\\|"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// TABLES.md is the contract as the code holds it; `EKG_UPDATE_TABLES=1 cargo test` rewrites it.
    #[test]
    fn tables_md_is_the_contract() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("TABLES.md");
        let expected = super::markdown_all();
        if std::env::var_os("EKG_UPDATE_TABLES").is_some() {
            std::fs::write(&path, &expected).expect("write TABLES.md");
        }
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(found == expected, "TABLES.md differs from src/dictionary.rs: run EKG_UPDATE_TABLES=1 cargo test tables_md");
    }

    #[test]
    fn every_table_is_documented_once() {
        let mut files: Vec<&str> = super::ALL.iter().map(|d| d.file).collect();
        files.sort_unstable();
        files.dedup();
        assert_eq!(files.len(), super::ALL.len());
        assert!(super::ALL.iter().all(|d| !d.columns.is_empty() && d.columns.iter().all(|c| c.meaning.len() > 3)));
    }
}
