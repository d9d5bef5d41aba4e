//! Each worker's share of the input tables, decoded and checked row by row.
//!
//! Row groups (CSV: chunks) are dealt round-robin over the workers, starting at a different worker
//! per table so that small one-group tables do not all land on worker 0. The entity tables are
//! read whole; the relation tables stream ([`EdgeStream`]), a round's row groups at a time, so a
//! worker holds only a round's rows as text. Ids are normalised as the single-process loader does
//! (`normalized_id`), so both paths key an entity alike. The identifiers table is not read: no
//! distributed stage uses it yet.

use std::collections::VecDeque;
use std::ops::Range;

use ekg_loaders::load::normalized_id;
use ekg_loaders::source::{map_share, unit_rows, Chunk};
use ekg_loaders::values::{enum_position, BoolColumn, DateColumn, F64Column, TextColumn, TimestampColumn};
use ekg_loaders::{Dataset, Encoding, Problem, Rule, TableFile};
use ekg_schema::contract::{ColumnType, TableKind, TableRows};
use ekg_schema::{NodeKind, Relation, DATE_NULL, TS_NULL};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Where a row came from: the table (its place in `TABLES`) and the 1-based file row.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Origin {
    pub table: u8,
    pub row: u64,
}

/// A node row: its id and the dates that decide whether it exists as of the run's instant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeRow {
    pub id: String,
    pub kind: u8,
    /// Firms: founding day (or `DATE_NULL`).
    pub day: i32,
    /// Accounts: opened; loans: disbursed (or `TS_NULL`).
    pub instant: i64,
    /// Firms: flagged as defaulted, and the day of the default (or `DATE_NULL`): a firm counts as
    /// defaulted at an instant on or after that day.
    pub defaulted: bool,
    pub defaulted_on: i32,
    /// Firms: probability of default (NaN where unknown).
    pub pd: f64,
    pub origin: Origin,
}

/// An edge row with its endpoints still as external ids.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EdgeRow {
    pub src: String,
    pub dst: String,
    pub edge: EdgeValues,
}

impl crate::exchange::Wire for NodeRow {
    fn heap_bytes(&self) -> usize {
        self.id.len()
    }
}

impl crate::exchange::Wire for EdgeRow {
    fn heap_bytes(&self) -> usize {
        self.src.len() + self.dst.len()
    }
}

/// What an edge carries besides its endpoints.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct EdgeValues {
    pub relation: u8,
    /// The relation's weight attribute (`Relation::weight_attr`), NaN when absent.
    pub weight: f64,
    pub ts: i64,
    pub from: i32,
    pub to: i32,
    pub origin: Origin,
}

/// The columns naming an edge's source and target in the table it comes from.
pub fn endpoint_columns(relation: Relation) -> (&'static str, &'static str) {
    match relation {
        Relation::Shareholding => ("holder_id", "firm_id"),
        Relation::Officer => ("person_id", "firm_id"),
        Relation::Transfer => ("src_id", "dst_id"),
        Relation::Guarantee => ("guarantor_id", "borrower_id"),
        Relation::Supply => ("supplier_id", "customer_id"),
        Relation::AccountOwner => ("owner_id", "account_id"),
        Relation::LoanBorrower => ("borrower_id", "loan_id"),
        Relation::LoanDeposit => ("loan_id", "deposit_account_id"),
    }
}

pub fn table_kind(index: u8) -> TableKind {
    ekg_schema::contract::TABLES[index as usize].kind
}

fn table_index(kind: TableKind) -> u8 {
    ekg_schema::contract::TABLES.iter().position(|t| t.kind == kind).unwrap_or(0) as u8
}

/// What one worker read: rows, and the problems found in them (as printed).
#[derive(Default)]
pub struct Share {
    pub nodes: Vec<NodeRow>,
    pub edges: Vec<EdgeRow>,
    pub problems: Vec<String>,
}

/// Worker `index` of `peers`' share of a table: the units (row groups, CSV chunks) it deals to
/// this worker, those in `window` only when one is given.
fn read_units(file: &TableFile, encoding: Encoding, index: usize, peers: usize, window: Option<Range<usize>>) -> Result<Share, Error> {
    let table = table_index(file.kind);
    let mine = move |unit: usize| (unit + table as usize) % peers == index && window.as_ref().is_none_or(|w| w.contains(&unit));
    let spec = file.kind.spec();
    let wanted: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
    let (columns, parts) = map_share(file, &wanted, encoding, &mine, |chunk| decode(file, table, &chunk))?;
    for required in spec.columns.iter().filter(|c| c.required) {
        if !columns.iter().any(|c| c == required.name) {
            return Err(Error::Input(format!("{}: the required column `{}` is missing", file.path.display(), required.name)));
        }
    }
    let mut share = Share::default();
    for part in parts {
        let part = part?;
        share.nodes.extend(part.nodes);
        share.edges.extend(part.edges);
        share.problems.extend(part.problems);
    }
    Ok(share)
}

/// This worker's share of the entity tables: the entities, and the edges their rows carry
/// (account owner, loan borrower, loan deposit account).
pub fn read_nodes(dataset: &Dataset, encoding: Encoding, index: usize, peers: usize) -> Result<Share, Error> {
    let mut share = Share::default();
    for file in dataset.tables.iter().filter(|f| matches!(f.kind.rows(), TableRows::Nodes(_))) {
        let part = read_units(file, encoding, index, peers, None)?;
        share.nodes.extend(part.nodes);
        share.edges.extend(part.edges);
        share.problems.extend(part.problems);
    }
    Ok(share)
}

/// The latest transfer instant in this worker's share (`TS_NULL` when none), from the `ts` column
/// alone: the run's default instant is the latest of every worker's.
pub fn latest_transfer(dataset: &Dataset, encoding: Encoding, index: usize, peers: usize) -> Result<i64, Error> {
    let Some(file) = dataset.tables.iter().find(|f| f.kind == TableKind::Transfers) else { return Ok(TS_NULL) };
    let table = table_index(file.kind);
    let mine = move |unit: usize| (unit + table as usize) % peers == index;
    let (_, parts) = map_share(file, &["ts"], encoding, &mine, |chunk| -> Result<i64, Error> {
        let Ok(i) = chunk.batch.schema().index_of("ts") else { return Ok(TS_NULL) };
        let times = TimestampColumn::new(&file.path, "ts", chunk.batch.column(i))?;
        Ok((0..chunk.batch.num_rows()).filter_map(|r| times.get(r).ok().flatten()).max().unwrap_or(TS_NULL))
    })?;
    let mut latest = TS_NULL;
    for part in parts {
        latest = latest.max(part?);
    }
    Ok(latest)
}

/// This worker's share of the relation tables, read a few row groups at a time so that only a
/// round's rows are held as text: memory stays bounded whatever the tables' size. A CSV file has
/// no row groups to seek, so its share is read at once.
pub struct EdgeStream<'a> {
    files: Vec<&'a TableFile>,
    encoding: Encoding,
    index: usize,
    peers: usize,
    /// Still to read: a file (its place in `files`) and a window of its units (`None`: all).
    windows: VecDeque<(usize, Option<Range<usize>>)>,
    held: Vec<EdgeRow>,
    /// Problems in the rows read so far.
    pub problems: Vec<String>,
}

impl<'a> EdgeStream<'a> {
    /// The relation tables of `dataset`, after `first` (edges already read), cut into windows of
    /// about `round_rows` of this worker's rows.
    pub fn new(
        dataset: &'a Dataset,
        encoding: Encoding,
        (index, peers): (usize, usize),
        first: Vec<EdgeRow>,
        round_rows: usize,
    ) -> Result<Self, Error> {
        let files: Vec<&TableFile> = dataset.tables.iter().filter(|f| matches!(f.kind.rows(), TableRows::Edges(_))).collect();
        let mut windows = VecDeque::new();
        for (place, file) in files.iter().enumerate() {
            let Some(rows) = unit_rows(file)? else {
                windows.push_back((place, None));
                continue;
            };
            let table = table_index(file.kind) as usize;
            let (mut start, mut held) = (0, 0u64);
            for (unit, &n) in rows.iter().enumerate() {
                if (unit + table) % peers != index {
                    continue;
                }
                held += n;
                if held >= round_rows as u64 {
                    windows.push_back((place, Some(start..unit + 1)));
                    (start, held) = (unit + 1, 0);
                }
            }
            if held > 0 {
                windows.push_back((place, Some(start..rows.len())));
            }
        }
        Ok(EdgeStream { files, encoding, index, peers, windows, held: first, problems: Vec::new() })
    }

    /// Rows already in memory, handed out in batches like a table's.
    pub fn held(rows: Vec<EdgeRow>) -> EdgeStream<'static> {
        EdgeStream {
            files: Vec::new(),
            encoding: Encoding::Utf8,
            index: 0,
            peers: 1,
            windows: VecDeque::new(),
            held: rows,
            problems: Vec::new(),
        }
    }

    /// The next at most `limit` rows, in file order; empty once every row has been handed out.
    pub fn next_batch(&mut self, limit: usize) -> Result<Vec<EdgeRow>, Error> {
        while self.held.len() < limit {
            let Some((place, window)) = self.windows.pop_front() else { break };
            let part = read_units(self.files[place], self.encoding, self.index, self.peers, window)?;
            self.held.extend(part.edges);
            self.problems.extend(part.problems);
        }
        let rest = if self.held.len() > limit { self.held.split_off(limit) } else { Vec::new() };
        Ok(std::mem::replace(&mut self.held, rest))
    }
}

/// One chunk's columns, decoded as the contract types them.
struct Columns<'a> {
    file: &'a TableFile,
    table: u8,
    chunk: &'a Chunk,
    problems: Vec<String>,
}

impl<'a> Columns<'a> {
    fn column<T>(
        &self,
        name: &str,
        decode: fn(&std::path::Path, &str, &arrow_array::ArrayRef) -> ekg_loaders::Result<T>,
    ) -> Result<Option<T>, Error> {
        let batch = &self.chunk.batch;
        let Ok(i) = batch.schema().index_of(name) else { return Ok(None) };
        Ok(Some(decode(&self.file.path, name, batch.column(i))?))
    }

    fn problem(&mut self, i: usize, column: &'static str, rule: Rule, message: impl Into<String>) {
        let spec = self.file.kind.spec();
        let problem = Problem {
            table: spec.name,
            path: self.file.path.display().to_string().into(),
            row: self.chunk.first_row + i as u64,
            column,
            rule,
            message: message.into(),
        };
        self.problems.push(problem.to_string());
    }

    fn origin(&self, i: usize) -> Origin {
        Origin { table: self.table, row: self.chunk.first_row + i as u64 }
    }

    /// A normalised id; `None` (with a problem when `required`) when null, empty or bad.
    fn id(&mut self, values: &Option<TextColumn>, i: usize, column: &'static str, required: bool) -> Option<String> {
        let raw = values.as_ref().and_then(|c| c.get(i));
        match raw.map(normalized_id) {
            Some(Ok(Some((code, _)))) => Some(code.into_owned()),
            Some(Err((rule, message))) => {
                self.problem(i, column, rule, message);
                None
            }
            None | Some(Ok(None)) => {
                if required {
                    self.problem(i, column, Rule::NullRequired, "null in a required column");
                }
                None
            }
        }
    }

    /// Checks a value of an enumerated column (officers' `role`), as the loader does: a problem
    /// when null or not one of the contract's names (case aside).
    fn enumerated(&mut self, values: &Option<TextColumn>, i: usize, column: &'static str) {
        let Some(ColumnType::Enum(names)) = self.file.kind.spec().column(column).map(|c| c.ty) else { return };
        match values.as_ref().and_then(|c| c.get(i)).map(|raw| enum_position(names, raw)) {
            None => self.problem(i, column, Rule::NullRequired, "null in a required column"),
            Some(Err(message)) => self.problem(i, column, Rule::UnknownEnum, message),
            Some(Ok(_)) => {}
        }
    }

    fn f64(&mut self, values: &Option<F64Column>, i: usize, column: &'static str) -> f64 {
        let spec = self.file.kind.spec().column(column);
        match values.as_ref().map(|c| c.get(i)).unwrap_or(Ok(None)) {
            Ok(Some(v)) => {
                if let Some(rule) = spec.and_then(|s| s.constraint.check(v)) {
                    self.problem(i, column, Rule::OutOfRange, format!("{v} {rule}"));
                }
                v
            }
            Ok(None) => {
                if spec.is_some_and(|s| !s.nullable) {
                    self.problem(i, column, Rule::NullRequired, "null in a required column");
                }
                f64::NAN
            }
            Err(message) => {
                self.problem(i, column, Rule::BadValue, message);
                f64::NAN
            }
        }
    }

    fn instant(&mut self, values: &Option<TimestampColumn>, i: usize, column: &'static str, required: bool) -> i64 {
        match values.as_ref().map(|c| c.get(i)).unwrap_or(Ok(None)) {
            Ok(Some(v)) => v,
            Ok(None) => {
                if required {
                    self.problem(i, column, Rule::NullRequired, "null in a required column");
                }
                TS_NULL
            }
            Err(message) => {
                self.problem(i, column, Rule::BadValue, message);
                TS_NULL
            }
        }
    }

    fn flag(&mut self, values: &Option<BoolColumn>, i: usize, column: &'static str) -> bool {
        match values.as_ref().map(|c| c.get(i)).unwrap_or(Ok(None)) {
            Ok(v) => v.unwrap_or(false),
            Err(message) => {
                self.problem(i, column, Rule::BadValue, message);
                false
            }
        }
    }

    fn day(&mut self, values: &Option<DateColumn>, i: usize, column: &'static str) -> i32 {
        match values.as_ref().map(|c| c.get(i)).unwrap_or(Ok(None)) {
            Ok(Some(v)) => v,
            Ok(None) => DATE_NULL,
            Err(message) => {
                self.problem(i, column, Rule::BadValue, message);
                DATE_NULL
            }
        }
    }
}

/// Node and edge rows of one chunk.
fn decode(file: &TableFile, table: u8, chunk: &Chunk) -> Result<Share, Error> {
    let mut c = Columns { file, table, chunk, problems: Vec::new() };
    let rows = chunk.batch.num_rows();
    let mut out = Share::default();
    match file.kind.rows() {
        TableRows::Nodes(kind) => {
            let key = file.kind.spec().key.unwrap_or("id");
            let ids = c.column(key, TextColumn::new)?;
            let founded = c.column("founded", DateColumn::new)?;
            let defaulted = c.column("defaulted", BoolColumn::new)?;
            let defaulted_on = c.column("defaulted_on", DateColumn::new)?;
            let pds = c.column("pd", F64Column::new)?;
            let opened = c.column("opened", TimestampColumn::new)?;
            let owners = c.column("owner_id", TextColumn::new)?;
            let borrowers = c.column("borrower_id", TextColumn::new)?;
            let disbursed = c.column("disbursed", TimestampColumn::new)?;
            let deposits = c.column("deposit_account_id", TextColumn::new)?;
            for i in 0..rows {
                let key_column = file.kind.spec().columns[0].name;
                let Some(id) = c.id(&ids, i, key_column, true) else { continue };
                let (mut day, mut instant, mut default) = (DATE_NULL, TS_NULL, (false, DATE_NULL));
                let mut pd = f64::NAN;
                let mut parents: Vec<(Relation, String, String)> = Vec::new();
                match kind {
                    NodeKind::Firm => {
                        day = c.day(&founded, i, "founded");
                        default = (c.flag(&defaulted, i, "defaulted"), c.day(&defaulted_on, i, "defaulted_on"));
                        pd = c.f64(&pds, i, "pd");
                    }
                    NodeKind::Person => {}
                    NodeKind::Account => {
                        instant = c.instant(&opened, i, "opened", false);
                        if let Some(owner) = c.id(&owners, i, "owner_id", false) {
                            parents.push((Relation::AccountOwner, owner, id.clone()));
                        }
                    }
                    NodeKind::Loan => {
                        instant = c.instant(&disbursed, i, "disbursed", true);
                        if let Some(borrower) = c.id(&borrowers, i, "borrower_id", true) {
                            parents.push((Relation::LoanBorrower, borrower, id.clone()));
                        }
                        if let Some(account) = c.id(&deposits, i, "deposit_account_id", false) {
                            parents.push((Relation::LoanDeposit, id.clone(), account));
                        }
                    }
                }
                for (relation, src, dst) in parents {
                    let edge = EdgeValues {
                        relation: relation as u8,
                        weight: f64::NAN,
                        ts: TS_NULL,
                        from: DATE_NULL,
                        to: DATE_NULL,
                        origin: c.origin(i),
                    };
                    out.edges.push(EdgeRow { src, dst, edge });
                }
                let (defaulted, defaulted_on) = default;
                out.nodes.push(NodeRow { id, kind: kind as u8, day, instant, defaulted, defaulted_on, pd, origin: c.origin(i) });
            }
        }
        TableRows::Edges(relation) => {
            let (src_column, dst_column) = endpoint_columns(relation);
            let sources = c.column(src_column, TextColumn::new)?;
            let targets = c.column(dst_column, TextColumn::new)?;
            let weight_column = relation.weight_attr();
            let weights = match weight_column {
                Some(name) => c.column(name, F64Column::new)?,
                None => None,
            };
            let times = c.column("ts", TimestampColumn::new)?;
            let (from_column, to_column) = if relation == Relation::Guarantee { ("start", "end") } else { ("valid_from", "valid_to") };
            let froms = c.column(from_column, DateColumn::new)?;
            let tos = c.column(to_column, DateColumn::new)?;
            let roles = if relation == Relation::Officer { c.column("role", TextColumn::new)? } else { None };
            for i in 0..rows {
                let src = c.id(&sources, i, src_column, true);
                let dst = c.id(&targets, i, dst_column, true);
                if relation == Relation::Officer {
                    c.enumerated(&roles, i, "role");
                }
                let weight = weight_column.map_or(f64::NAN, |name| c.f64(&weights, i, name));
                let ts = c.instant(&times, i, "ts", relation == Relation::Transfer);
                let (from, to) = (c.day(&froms, i, from_column), c.day(&tos, i, to_column));
                if from != DATE_NULL && to != DATE_NULL && to < from {
                    c.problem(i, to_column, Rule::EndBeforeStart, format!("{to_column} before {from_column}"));
                }
                if let (Some(src), Some(dst)) = (src, dst) {
                    let edge = EdgeValues { relation: relation as u8, weight, ts, from, to, origin: c.origin(i) };
                    out.edges.push(EdgeRow { src, dst, edge });
                }
            }
        }
        TableRows::Identifiers => {}
    }
    out.problems = c.problems;
    Ok(out)
}
