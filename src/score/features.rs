//! The feature table: one row per node, typed columns, each with its description (the data
//! dictionary, written both as Parquet field metadata and as `features.md`).
//!
//! Transfer features of a firm or person are entity-level: its own transfers plus those of the
//! accounts it owns (money moves through accounts; a credit model scores the owner).

pub use ekg_algorithms::ownership::account_owner;
use ekg_schema::{Graph, NodeId, NodeKind, Relation, TS_NULL};
use rayon::prelude::*;

use crate::table::Table;
use ekg_schema::blocks::{BlockColumn, Cell};

pub use ekg_schema::MICROS_PER_DAY;

/// Nodes per slice of `features.parquet` written at a time (row groups are 2^19 rows). A slice's
/// Arrow copy of about 90 columns is ~40 MB: slices of 2^18 raised the 1M-firm job's peak by
/// 0.1 GiB, with the same values (pages end at slightly different rows).
const WRITE_SLICE_ROWS: u32 = 1 << 16;

/// One typed feature column, by node id; NaN and nulls as below. Held for every node until the
/// table is written, so compact: most columns apply to one kind of node and are null elsewhere,
/// and number columns are mostly zero besides (see [`BlockColumn`]).
pub enum Values {
    /// NaN is null.
    F64(BlockColumn<f64>),
    /// `u32::MAX` is null.
    U32(BlockColumn<u32>),
    /// Dictionary codes ([`NULL_CODE`] is null): text features are classes and bases that take
    /// few distinct values, or the ids of other nodes; not a `String` per node.
    Text {
        codes: Vec<u32>,
        dictionary: Vec<String>,
    },
    Bool(Vec<Option<bool>>),
}

/// The code of a null text value.
const NULL_CODE: u32 = u32::MAX;

pub struct Feature {
    pub name: String,
    pub description: String,
    /// Text and bool `values` hold nodes `start..start + len`, from the first to the last with a
    /// value; nodes outside are null (most features apply to one kind of node, and a kind's ids
    /// are consecutive). Number columns start at 0: their blocks of nulls hold nothing.
    pub start: usize,
    pub values: Values,
}

impl Feature {
    pub fn type_name(&self) -> &'static str {
        match self.values {
            Values::F64(_) => "float64",
            Values::U32(_) => "uint32",
            Values::Text { .. } => "utf8",
            Values::Bool(_) => "bool",
        }
    }

    fn len(&self) -> usize {
        match &self.values {
            Values::F64(v) => v.len(),
            Values::U32(v) => v.len(),
            Values::Text { codes, .. } => codes.len(),
            Values::Bool(v) => v.len(),
        }
    }
}

/// The nodes of a slice of a feature table, in row order.
#[derive(Clone)]
pub enum Rows<'a> {
    Range(std::ops::Range<u32>),
    List(&'a [u32]),
}

impl Rows<'_> {
    fn ids(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match self {
            Rows::Range(range) => Box::new(range.clone()),
            Rows::List(ids) => Box::new(ids.iter().copied()),
        }
    }

    /// The cells of these rows of `column` (block columns hold every node from 0).
    fn cells<T: Cell>(&self, column: &BlockColumn<T>) -> Vec<T> {
        match self {
            Rows::Range(range) => column.rows(range.start as usize..range.end as usize),
            Rows::List(ids) => ids.iter().map(|&v| column.get(v as usize)).collect(),
        }
    }
}

/// Cuts `values` to the span from their first to their last non-null one; returns its start.
fn keep_span<T>(values: &mut Vec<T>, is_null: impl Fn(&T) -> bool) -> usize {
    let end = values.iter().rposition(|x| !is_null(x)).map_or(0, |last| last + 1);
    values.truncate(end);
    let start = values.iter().position(|x| !is_null(x)).unwrap_or(0);
    values.drain(..start);
    values.shrink_to_fit();
    start
}

#[derive(Default)]
pub struct Features {
    pub columns: Vec<Feature>,
    /// Where number columns are moved to once added (see [`Features::spill_to`]).
    spill_dir: Option<std::path::PathBuf>,
}

impl Features {
    /// Number columns added from now on are moved to unnamed files in `dir` (on the output's
    /// disk) and read back from there when the table is written: the matrix is written once and
    /// read once, at the end, and held in memory it was a fifth of the job's peak (0.5 GiB of
    /// 2.7 GiB at 1M firms).
    pub fn spill_to(&mut self, dir: &std::path::Path) {
        self.spill_dir = Some(dir.to_path_buf());
    }

    fn push(&mut self, name: &str, description: &str, start: usize, mut values: Values) {
        if let Some(dir) = &self.spill_dir {
            let spilled = match &mut values {
                Values::F64(x) => x.spill(dir),
                Values::U32(x) => x.spill(dir),
                Values::Text { .. } | Values::Bool(_) => Ok(()),
            };
            // Only memory is lost: the column stays where it is.
            if let Err(e) = spilled {
                tracing::warn!("cannot move feature {name} to {}: {e}; it stays in memory", dir.display());
            }
        }
        self.columns.push(Feature { name: name.into(), description: description.into(), start, values });
    }

    /// Takes the spilled columns' pages out of memory (see [`BlockColumn::evict`]).
    fn evict(&self) {
        for f in &self.columns {
            match &f.values {
                Values::F64(x) => x.evict(),
                Values::U32(x) => x.evict(),
                Values::Text { .. } | Values::Bool(_) => {}
            }
        }
    }

    pub fn f64(&mut self, name: &str, description: &str, values: Vec<f64>) {
        self.push(name, description, 0, Values::F64(BlockColumn::new(&values)));
    }

    /// `Some(u32::MAX)` is not a value a feature takes (see [`Cell`] for `u32`).
    pub fn u32(&mut self, name: &str, description: &str, values: Vec<Option<u32>>) {
        debug_assert!(!values.contains(&Some(u32::NULL)), "{name}: u32::MAX is the null of a u32 column");
        let cells: Vec<u32> = values.par_iter().map(|v| v.unwrap_or(u32::NULL)).collect();
        drop(values);
        self.push(name, description, 0, Values::U32(BlockColumn::new(&cells)));
    }

    pub fn text(&mut self, name: &str, description: &str, mut values: Vec<Option<String>>) {
        let start = keep_span(&mut values, Option::is_none);
        // Codes in order of first appearance: deterministic, and no sort of the dictionary.
        let mut dictionary: Vec<String> = Vec::new();
        let mut code_of: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let codes = values
            .into_iter()
            .map(|value| match value {
                None => NULL_CODE,
                Some(text) => *code_of.entry(text).or_insert_with_key(|text| {
                    dictionary.push(text.clone());
                    (dictionary.len() - 1) as u32
                }),
            })
            .collect();
        self.push(name, description, start, Values::Text { codes, dictionary });
    }

    pub fn bool(&mut self, name: &str, description: &str, mut values: Vec<Option<bool>>) {
        let start = keep_span(&mut values, Option::is_none);
        self.push(name, description, start, Values::Bool(values));
    }

    /// Bytes held by the number columns (the bulk of the matrix).
    pub fn byte_len(&self) -> usize {
        let numbers = |f: &Feature| match &f.values {
            Values::F64(x) => x.byte_len(),
            Values::U32(x) => x.byte_len(),
            Values::Text { .. } | Values::Bool(_) => 0,
        };
        self.columns.iter().map(numbers).sum()
    }

    /// The table: key columns first, then every feature in order, each described.
    /// The table's rows `rows` (node ids).
    pub fn table(&self, graph: &Graph, as_of: i64, rows: std::ops::Range<u32>) -> Table {
        let ids = || rows.clone();
        let t = Table::new()
            .utf8("node_id", ids().map(|v| graph.external_id(NodeId(v))))
            .describe("Entity key: the external id of the firm, person, account or loan.")
            .utf8("kind", ids().map(|v| graph.kind(NodeId(v)).as_str()))
            .describe("firm | person | account | loan.")
            .timestamp_opt("as_of", ids().map(|_| Some(as_of)))
            .describe("The instant the graph was scored as of (UTC).")
            .timestamp_opt("event_timestamp", ids().map(|_| Some(as_of)))
            .describe("Feast's event timestamp: the same instant as as_of.");
        t.append(self.columns_table(Rows::Range(rows)))
    }

    /// Every feature column, each described, for the nodes `rows`, in that order.
    pub fn columns_table(&self, rows: Rows<'_>) -> Table {
        // Each column is built on its own, in parallel, and joined in order.
        let columns: Vec<Table> = self
            .columns
            .par_iter()
            .map(|f| {
                // Node v's place in the column's values, if it has one.
                let (start, len) = (f.start, f.len());
                let at = |v: u32| (v as usize).checked_sub(start).filter(|&k| k < len);
                let column = Table::new();
                match &f.values {
                    Values::F64(x) => column.f64_nan_null(&f.name, rows.cells(x)),
                    Values::U32(x) => column.u32_opt(&f.name, rows.cells(x).into_iter().map(|v| (v != u32::NULL).then_some(v))),
                    Values::Text { codes, dictionary } => column
                        .utf8_opt(&f.name, rows.ids().map(|v| at(v).and_then(|k| dictionary.get(codes[k] as usize)).map(String::as_str))),
                    Values::Bool(x) => column.bool_opt(&f.name, rows.ids().map(|v| at(v).and_then(|k| x[k]))),
                }
                .describe(&f.description)
            })
            .collect();
        columns.into_iter().fold(Table::new(), Table::append)
    }

    /// Writes `features.parquet` as `path` in slices of [`WRITE_SLICE_ROWS`] nodes (see
    /// [`write_in_slices`]). Returns the row count.
    pub fn write(&self, graph: &Graph, as_of: i64, path: &std::path::Path) -> anyhow::Result<usize> {
        let spilled = self
            .columns
            .iter()
            .filter(|f| matches!(&f.values, Values::F64(x) if x.is_spilled()) || matches!(&f.values, Values::U32(x) if x.is_spilled()))
            .count();
        tracing::debug!(columns = self.columns.len(), spilled, bytes = self.byte_len(), "feature matrix");
        write_in_slices(path, graph.node_count(), |rows| {
            let table = self.table(graph, as_of, rows.start as u32..rows.end as u32);
            // The slice is copied out: its pages need not stay.
            self.evict();
            Ok(table)
        })
    }

    /// `features.md`: the data dictionary, with the default labels each column reads.
    pub fn dictionary(&self) -> String {
        let mut out = String::from(
            "# features.parquet\n\nOne row per node of the graph. Key: `node_id`; `event_timestamp` = `as_of` (Feast's offline-store \
             layout). Nulls mean \"not applicable to this kind\" or \"analysis not run\". Each column's description is also stored \
             as Parquet field metadata (`description`).\n\nEvery column is computed on the graph as it stood at `as_of` (no entity, \
             relation or default dated later). The *labels* column says which columns read the default labels (`defaulted` \
             with `defaulted_on <= as_of`; a default without a date counts at every as_of): a model trained on them must \
             take its targets from a later period than its features.\n\n| column | type | labels | description |\n|---|---|---|---|\n\
             | node_id | utf8 | | Entity key: the external id of the firm, person, account or loan. |\n\
             | kind | utf8 | | firm \\| person \\| account \\| loan. |\n\
             | as_of | timestamp(µs, UTC) | | The instant the graph was scored as of. |\n\
             | event_timestamp | timestamp(µs, UTC) | | Feast's event timestamp: the same instant as as_of. |\n",
        );
        for f in &self.columns {
            let labels = label_use(&f.name).unwrap_or("");
            out.push_str(&format!("| {} | {} | {labels} | {} |\n", f.name, f.type_name(), f.description.replace('|', "\\|")));
        }
        out
    }
}

/// Writes a table of `rows` rows as `path`, built by `slice` [`WRITE_SLICE_ROWS`] rows at a time,
/// so the Arrow copy of the table is one slice, not every feature of every node a second time
/// (2.5 GB at 1M firms); replaces any previous file atomically. Returns the row count.
pub fn write_in_slices(
    path: &std::path::Path,
    rows: usize,
    mut slice: impl FnMut(std::ops::Range<usize>) -> anyhow::Result<Table>,
) -> anyhow::Result<usize> {
    let tmp = crate::output::TempFile::beside(path);
    let mut sink: Option<crate::output::ParquetSink> = None;
    let mut start = 0;
    loop {
        let end = (start + WRITE_SLICE_ROWS as usize).min(rows);
        let batch = slice(start..end)?.into_batch()?;
        let writer = match &mut sink {
            Some(writer) => writer,
            None => sink.insert(crate::output::ParquetSink::create(tmp.path(), batch.schema())?),
        };
        writer.write(&batch)?;
        if end == rows {
            break;
        }
        start = end;
    }
    if let Some(writer) = sink {
        writer.finish()?;
    }
    tmp.commit(path)?;
    Ok(rows)
}

/// Adds each account's value to its owner's (entity-level aggregation), in account order.
pub fn roll_up(values: &mut [f64], owner: &[u32]) {
    for a in 0..values.len() {
        let o = owner[a];
        if o != u32::MAX {
            let x = values[a];
            if x.is_finite() {
                values[o as usize] += x;
            }
        }
    }
}

/// Degrees per relation and direction, and weighted flows.
pub fn structure_features(graph: &Graph, features: &mut Features) {
    let n = graph.node_count() as u32;
    for relation in [Relation::Shareholding, Relation::Officer, Relation::Transfer, Relation::Guarantee, Relation::Supply] {
        let store = graph.relation(relation);
        let name = relation.as_str();
        features.u32(
            &format!("{name}_out"),
            &format!("Edges of {name} leaving the node (as holder, officer, payer, guarantor, supplier)."),
            (0..n).map(|v| Some(store.forward.degree(NodeId(v)) as u32)).collect(),
        );
        features.u32(
            &format!("{name}_in"),
            &format!("Edges of {name} entering the node (as held firm, run firm, payee, borrower, customer)."),
            (0..n).map(|v| Some(store.reverse.degree(NodeId(v)) as u32)).collect(),
        );
    }
    for (relation, out_name, in_name, what) in [
        (Relation::Guarantee, "guarantee_given_amount", "guarantee_received_amount", "guarantee amounts"),
        (Relation::Supply, "supply_sold_volume", "supply_bought_volume", "supply volumes"),
    ] {
        let store = graph.relation(relation);
        let w = relation.weight_attr().and_then(|a| store.f64_attr(a)).unwrap_or(&[]);
        let sum = |range: std::ops::Range<usize>, map: &dyn Fn(usize) -> usize| -> f64 {
            range.map(|i| w.get(map(i)).copied().filter(|x| x.is_finite()).unwrap_or(0.0)).fold(0.0, |a, b| a + b)
        };
        features.f64(
            out_name,
            &format!("Σ {what} out of the node."),
            (0..n).map(|v| sum(store.forward.range(NodeId(v)), &|i| i)).collect(),
        );
        features.f64(
            in_name,
            &format!("Σ {what} into the node."),
            (0..n).map(|v| sum(store.reverse.range(NodeId(v)), &|i| store.reverse_edge[i] as usize)).collect(),
        );
    }
}

/// How a feature column reads the default labels, if it does.
pub fn label_use(column: &str) -> Option<&'static str> {
    Some(match column {
        "ppr" => "seeds: the defaulted firms",
        "community_defaulted_share" | "defaulted_share_1hop" | "defaulted_share_2hop" => "counts defaulted firms",
        "guarantees_defaulted" => "a defaulted firm down the guarantee chain",
        "debtrank_distress" => "shock: the defaulted firms",
        "cascade_pd" | "cascade_lift" => "defaulted firms start at pd 1",
        "owned_firms_defaulted"
        | "run_firms_defaulted"
        | "controller_defaulted_share"
        | "officer_defaulted_share"
        | "network_defaulted_share" => "counts defaulted firms",
        _ => return None,
    })
}

/// Transfer amounts in total and over trailing windows ending at `as_of`, entity-level.
pub fn transfer_features(graph: &Graph, as_of: i64, owner: &[u32], features: &mut Features) {
    let store = graph.relation(Relation::Transfer);
    let amount = store.f64_attr("amount").unwrap_or(&[]);
    let ts = store.attr("ts").and_then(|c| c.as_i64()).unwrap_or(&[]);
    let n = graph.node_count();
    let windows = ekg_schema::contract::TRANSFER_WINDOW_DAYS;
    // Per node: [out total, out 30, out 90, out 365, in total, in 30, in 90, in 365], computed a
    // slice of nodes at a time as rows and kept as columns: the rows of every node besides the
    // columns would double the stage's peak (288 MB more at 1M firms).
    let row = |v: u32| {
        let mut x = [0.0; 8];
        let mut add = |base: usize, e: usize| {
            let a = amount.get(e).copied().filter(|a| a.is_finite()).unwrap_or(0.0);
            let t = ts.get(e).copied().unwrap_or(TS_NULL);
            for (k, days) in windows.iter().enumerate() {
                if k == 0 || (t != TS_NULL && t > as_of - days * MICROS_PER_DAY && t <= as_of) {
                    x[base + k] += a;
                }
            }
        };
        for e in store.forward.range(NodeId(v)) {
            add(0, e);
        }
        for i in store.reverse.range(NodeId(v)) {
            add(4, store.reverse_edge[i] as usize);
        }
        x
    };
    const SLICE_NODES: usize = 1 << 16;
    let mut columns: Vec<Vec<f64>> = (0..8).map(|_| Vec::with_capacity(n)).collect();
    for start in (0..n).step_by(SLICE_NODES) {
        let rows: Vec<[f64; 8]> = (start as u32..(start + SLICE_NODES).min(n) as u32).into_par_iter().map(row).collect();
        columns.par_iter_mut().enumerate().for_each(|(k, column)| column.extend(rows.iter().map(|x| x[k])));
    }
    columns.par_iter_mut().for_each(|column| roll_up(column, owner));
    let names = ekg_schema::contract::TRANSFER_AMOUNT_FEATURES;
    let trend: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|v| {
            let q = columns[2][v] + columns[6][v];
            let y = columns[3][v] + columns[7][v];
            if y > 0.0 {
                q * 365.0 / 90.0 / y
            } else {
                f64::NAN
            }
        })
        .collect();
    for ((name, description), values) in names.iter().zip(columns) {
        features.f64(name, description, values);
    }
    features.f64("transfer_trend_90d", "Last 90 days' volume (in + out), annualised, over the last 365 days' volume: > 1 growing.", trend);
    // Distinct counterparties, entity-level (an owner's own accounts are not counterparties).
    // One buffer per worker: a node's list can outgrow the allocator's per-thread cache, and
    // allocating it afresh per node then contends for the allocator's lock.
    let counterparties: Vec<Option<u32>> = (0..n as u32)
        .into_par_iter()
        .map_init(Vec::new, |c: &mut Vec<u32>, v| {
            c.clear();
            if graph.kind(NodeId(v)) == NodeKind::Account {
                c.extend_from_slice(store.forward.neighbor_ids(NodeId(v)));
                c.extend_from_slice(store.reverse.neighbor_ids(NodeId(v)));
                c.sort_unstable();
                c.dedup();
                return Some(c.len() as u32);
            }
            let accounts = graph.relation(Relation::AccountOwner).forward.neighbor_ids(NodeId(v));
            for &x in std::iter::once(&v).chain(accounts) {
                c.extend_from_slice(store.forward.neighbor_ids(NodeId(x)));
                c.extend_from_slice(store.reverse.neighbor_ids(NodeId(x)));
            }
            c.retain(|&y| y != v && owner[y as usize] != v);
            c.sort_unstable();
            c.dedup();
            Some(c.len() as u32)
        })
        .collect();
    features.u32("transfer_counterparties", "Distinct entities paid or paid by (own and owned accounts).", counterparties);
}

/// Share of defaulted firms among a node's neighbours in `adjacency` (1 hop), and the mean of its
/// neighbours' 1-hop shares (2 hops, path-weighted: linear time on any degree distribution).
pub fn defaulted_neighbourhood(graph: &Graph, projection: &ekg_algorithms::Projection, defaulted: &[bool]) -> (Vec<f64>, Vec<f64>) {
    let n = projection.node_count();
    let one: Vec<f64> = (0..n as u32)
        .into_par_iter()
        .map(|v| {
            let neighbours = projection.out_neighbors(v);
            if neighbours.is_empty() {
                return f64::NAN;
            }
            neighbours.iter().filter(|&&u| defaulted[u as usize]).count() as f64 / neighbours.len() as f64
        })
        .collect();
    let two: Vec<f64> = (0..n as u32)
        .into_par_iter()
        .map(|v| {
            let values: Vec<f64> = projection.out_neighbors(v).iter().map(|&u| one[u as usize]).filter(|x| x.is_finite()).collect();
            if values.is_empty() {
                f64::NAN
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            }
        })
        .collect();
    // Back to graph node ids.
    let mut one_by_node = vec![f64::NAN; graph.node_count()];
    let mut two_by_node = vec![f64::NAN; graph.node_count()];
    for (local, &node) in projection.nodes.iter().enumerate() {
        one_by_node[node.index()] = one[local];
        two_by_node[node.index()] = two[local];
    }
    (one_by_node, two_by_node)
}

/// For persons: firms held and run, how many defaulted, mean pd of firms held.
pub fn person_features(graph: &Graph, features: &mut Features) {
    let n = graph.node_count();
    let persons = graph.kind_range(NodeKind::Person);
    let holdings = graph.relation(Relation::Shareholding);
    let officers = graph.relation(Relation::Officer);
    let pd: &[f64] = &graph.firms.pd;
    let defaulted = |firms: &[u32]| firms.iter().filter(|&&f| graph.is_defaulted(NodeId(f))).count() as u32;
    // (held, run, held defaulted, run defaulted, mean pd of the held) per person, in parallel.
    let per_person: Vec<(u32, u32, u32, u32, f64)> = persons
        .clone()
        .into_par_iter()
        .map(|p| {
            let held = holdings.forward.neighbor_ids(NodeId(p));
            let ran = officers.forward.neighbor_ids(NodeId(p));
            let (mut pd_sum, mut pd_count) = (0.0, 0usize);
            for x in held.iter().filter_map(|&f| pd.get(f as usize).copied()).filter(|x| x.is_finite()) {
                pd_sum += x;
                pd_count += 1;
            }
            let mean_pd = if pd_count > 0 { pd_sum / pd_count as f64 } else { f64::NAN };
            (held.len() as u32, ran.len() as u32, defaulted(held), defaulted(ran), mean_pd)
        })
        .collect();
    let mut owned = vec![None; n];
    let mut run = vec![None; n];
    let mut owned_defaulted = vec![None; n];
    let mut run_defaulted = vec![None; n];
    let mut owned_pd = vec![f64::NAN; n];
    for (p, (held, ran, held_defaulted, ran_defaulted, mean_pd)) in persons.zip(per_person) {
        let p = p as usize;
        owned[p] = Some(held);
        run[p] = Some(ran);
        owned_defaulted[p] = Some(held_defaulted);
        run_defaulted[p] = Some(ran_defaulted);
        owned_pd[p] = mean_pd;
    }
    features.u32("firms_owned", "Persons: firms they hold shares in.", owned);
    features.u32("firms_run", "Persons: firms they are an officer of.", run);
    features.u32("owned_firms_defaulted", "Persons: firms they hold that defaulted.", owned_defaulted);
    features.u32("run_firms_defaulted", "Persons: firms they run that defaulted.", run_defaulted);
    features.f64("owned_firms_mean_pd", "Persons: mean pd of the firms they hold (the owner's risk).", owned_pd);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_keeps_the_span_of_its_values() {
        let mut values = vec![f64::NAN, 1.0, f64::NAN, 2.0, f64::NAN];
        assert_eq!(keep_span(&mut values, |x| x.is_nan()), 1);
        assert_eq!(values.len(), 3);
        assert_eq!((values[0], values[2]), (1.0, 2.0));
        let mut all_null: Vec<Option<u32>> = vec![None; 4];
        assert_eq!(keep_span(&mut all_null, Option::is_none), 0);
        assert!(all_null.is_empty());
        let mut full = vec![Some(3u32), Some(4)];
        assert_eq!(keep_span(&mut full, Option::is_none), 0);
        assert_eq!(full, vec![Some(3), Some(4)]);
    }

    #[test]
    fn text_columns_are_coded_in_order_of_first_appearance() {
        let mut features = Features::default();
        let values = [None, Some("b"), Some("a"), None, Some("b"), None];
        features.text("t", "", values.iter().map(|v| v.map(str::to_string)).collect());
        let f = &features.columns[0];
        assert_eq!((f.start, f.len()), (1, 4));
        let Values::Text { codes, dictionary } = &f.values else { panic!("a text column") };
        assert_eq!(dictionary, &["b", "a"]);
        assert_eq!(codes, &[0, 1, NULL_CODE, 0]);
    }
}
