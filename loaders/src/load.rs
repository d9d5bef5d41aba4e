//! The mapping step: table inputs (from any format) → validated rows → the graph builder.
//!
//! Node tables are loaded first, in kind order, interning ids sequentially in file order; then
//! each kind's nodes are renumbered in the order of their ids, so node numbers (and every result
//! that breaks a tie or draws by them) are the same for any order of the rows. Edge tables are
//! decoded and resolved in parallel, chunk by chunk, and appended in file order. Every problem names the file, row and column. Under
//! [`OnError::Fail`] any problem fails the load after all were collected; under
//! [`OnError::Skip`] bad rows are dropped and reported.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use ekg_schema::builder::{identifier_key, AttrVec, EdgeList, FirmRow, GraphBuilder};
use ekg_schema::contract::{ColumnSpec, ColumnType, TableKind, TableRows, TableSpec};
use ekg_schema::graph::{BOOL_FALSE, BOOL_NULL, BOOL_TRUE, DATE_NULL, TS_NULL};
use ekg_schema::{Graph, IdentifierKind, KindSet, NodeId, NodeKind, OfficerRole, Relation};
use rayon::prelude::*;

use crate::dataset::{Dataset, FileFormat};
use crate::error::{Error, Result};
use crate::problems::{Problem, ProblemLog, Rule};
use crate::source::{self, Chunk, Encoding};
use crate::values::{enum_position, normalize_code, BoolColumn, DateColumn, F64Column, TextColumn, TimestampColumn};
use ekg_schema::pii::mask_personal;

/// What to do with rows that break the contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// Refuse the whole load, listing the problems.
    #[default]
    Fail,
    /// Drop bad rows (and edges whose endpoint was dropped) and report them.
    Skip,
}

/// Tolerance on the sum of a firm's holders' shares.
pub const SHARE_SUM_TOLERANCE: f64 = 1e-6;
/// Longest accepted id or identifier value, in bytes.
pub const MAX_ID_BYTES: usize = 1024;

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub on_error: OnError,
    /// Timestamps after this instant (µs since epoch, UTC) are errors; the run's as-of date, not
    /// the wall clock, so that re-runs judge the same way.
    pub as_of: i64,
    pub encoding: Encoding,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { on_error: OnError::Fail, as_of: i64::MAX, encoding: Encoding::Utf8 }
    }
}

/// One table input: a file of the dataset, or batches an adapter (FinBench) made from a file.
pub struct TableInput {
    pub kind: TableKind,
    /// The file rows refer to.
    pub path: PathBuf,
    pub bytes: u64,
    pub data: InputData,
}

pub enum InputData {
    File(FileFormat),
    Chunks { columns: Vec<String>, chunks: Vec<Chunk> },
}

/// Per-input statistics for the manifest.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TableReport {
    pub table: &'static str,
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// What a load saw and did.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    pub tables: Vec<TableReport>,
    pub problems: ProblemLog,
    /// Ids or identifier values changed by trimming or NFKC normalisation.
    pub normalized_values: u64,
    /// Node rows identical to an earlier row with the same id, dropped with a warning.
    pub deduplicated_rows: u64,
    /// Self-loops kept, per relation (`Relation as usize`).
    pub self_loops: [u64; 8],
    pub ignored_files: Vec<PathBuf>,
}

impl LoadReport {
    pub fn rows_rejected(&self) -> u64 {
        self.tables.iter().map(|t| t.rejected).sum()
    }
}

/// Inputs for a dataset folder.
pub fn dataset_inputs(dataset: &Dataset) -> Vec<TableInput> {
    dataset
        .tables
        .iter()
        .map(|t| TableInput { kind: t.kind, path: t.path.clone(), bytes: t.bytes, data: InputData::File(t.format) })
        .collect()
}

/// Loads a dataset folder into a graph.
pub fn load_dataset(dataset: &Dataset, options: &LoadOptions) -> Result<(Graph, LoadReport)> {
    let mut report = LoadReport { ignored_files: dataset.ignored.clone(), ..LoadReport::default() };
    let graph = load_inputs(dataset_inputs(dataset), options, &mut report)?;
    Ok((graph, report))
}

/// Loads table inputs (node tables must precede edge tables, as [`TableKind`] orders them).
pub fn load_inputs(mut inputs: Vec<TableInput>, options: &LoadOptions, report: &mut LoadReport) -> Result<Graph> {
    inputs.sort_by_key(|i| i.kind);
    let mut state = State::new(options);
    // Size the id table once for all node tables, so interning never rehashes.
    let node_rows: u64 = inputs.iter().filter(|i| i.kind.is_node_table()).map(input_rows).sum();
    state.builder.reserve_nodes(node_rows as usize);
    let mut numbered = false;
    for input in inputs {
        if !input.kind.is_node_table() && !numbered {
            let started = std::time::Instant::now();
            state.number_nodes_by_id()?;
            tracing::info!(ms = started.elapsed().as_millis() as u64, "numbered the nodes by id");
            numbered = true;
        }
        let spec = input.kind.spec();
        let path_text: Arc<str> = Arc::from(input.path.display().to_string());
        let problems_before = state.problems.len();
        let started = std::time::Instant::now();
        // Columns first (Parquet footer or CSV header), so a missing column fails before decoding.
        let columns = input_columns(&input, options.encoding)?;
        check_column_names(&input.path, spec, &columns)?;
        for name in &columns {
            if spec.column(name).is_none() {
                report.problems.notice(format!("{}: column '{name}' is not in the contract; ignored", input.path.display()));
            }
        }
        for column in spec.columns.iter().filter(|c| c.required) {
            if !columns.iter().any(|c| c == column.name) {
                return Err(Error::MissingColumn { path: input.path.clone(), column: column.name.to_string() });
            }
        }
        let ctx = Ctx { spec, path: &input.path, path_text: path_text.clone() };
        // Node tables are interned sequentially (ids follow file order); edge and identifier
        // tables are decoded inside each row-group task, so their Arrow batches never pile up.
        let (rows, accepted, read_time) = match input.kind.rows() {
            TableRows::Nodes(kind) => {
                let chunks = read_chunks(&input, spec, options.encoding)?;
                let read_time = started.elapsed();
                let rows: u64 = chunks.iter().map(|c| c.batch.num_rows() as u64).sum();
                if rows == 0 && input.kind == TableKind::Firms {
                    return Err(Error::EmptyTable { path: input.path.clone(), table: spec.name.to_string() });
                }
                (rows, state.load_nodes(&ctx, kind, &chunks)?, read_time)
            }
            TableRows::Identifiers => {
                let builder = &state.builder;
                let decoded = map_input(&input, spec, options.encoding, |chunk| {
                    (chunk.batch.num_rows() as u64, decode_identifiers(&ctx, builder, &chunk))
                })?;
                let rows = decoded.iter().map(|d| d.0).sum();
                let read_time = started.elapsed();
                (rows, state.append_identifiers(decoded.into_iter().map(|d| d.1).collect())?, read_time)
            }
            TableRows::Edges(relation) => {
                let (builder, as_of) = (&state.builder, options.as_of);
                let decoded = map_input(&input, spec, options.encoding, |chunk| {
                    (chunk.batch.num_rows() as u64, decode_edges(&ctx, builder, relation, &chunk, as_of))
                })?;
                let rows = decoded.iter().map(|d| d.0).sum();
                let read_time = started.elapsed();
                (rows, state.append_edges(&ctx, relation, decoded.into_iter().map(|d| d.1).collect())?, read_time)
            }
        };
        if rows == 0 {
            report.problems.notice(format!("{}: table '{}' has no rows", input.path.display(), spec.name));
        }
        tracing::info!(
            table = spec.name,
            rows,
            read_ms = read_time.as_millis() as u64,
            map_ms = (started.elapsed() - read_time).as_millis() as u64,
            "loaded {}",
            input.path.display()
        );
        let mut rejected_rows: Vec<u64> = state.problems[problems_before..].iter().filter(|p| p.row > 0).map(|p| p.row).collect();
        rejected_rows.sort_unstable();
        rejected_rows.dedup();
        report.tables.push(TableReport {
            table: spec.name,
            path: input.path.clone(),
            bytes: input.bytes,
            rows,
            accepted,
            rejected: rejected_rows.len() as u64,
        });
    }
    if !numbered {
        state.number_nodes_by_id()?;
    }
    state.check_share_sums(report);
    state.finish_node_edges();
    report.normalized_values += state.normalized;
    report.deduplicated_rows += state.deduplicated;
    for relation in Relation::ALL {
        let edges = state.builder.edges(relation);
        report.self_loops[relation as usize] = edges.src.iter().zip(&edges.dst).filter(|(s, d)| s == d).count() as u64;
    }
    let problems = std::mem::take(&mut state.problems);
    report.problems.extend(problems);
    report.problems.sort();
    if options.on_error == OnError::Fail && !report.problems.is_empty() {
        return Err(Error::Invalid(Box::new(report.problems.clone())));
    }
    let started = std::time::Instant::now();
    let graph = state.builder.finish()?;
    tracing::info!(ms = started.elapsed().as_millis() as u64, "built adjacency");
    Ok(graph)
}

/// Refuses column names that would make a column silently lost or misread: two columns with one
/// name (up to case: readers differ in which one wins), or a contract column spelt in another case
/// (it would be ignored as unknown).
fn check_column_names(path: &Path, spec: &TableSpec, columns: &[String]) -> Result<()> {
    for (i, name) in columns.iter().enumerate() {
        if let Some(first) = columns[..i].iter().find(|c| c.eq_ignore_ascii_case(name)) {
            return Err(Error::DuplicateColumn { path: path.to_path_buf(), first: first.clone(), second: name.clone() });
        }
        if spec.column(name).is_none() {
            if let Some(expected) = spec.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)) {
                return Err(Error::ColumnCase { path: path.to_path_buf(), found: name.clone(), expected: expected.name.to_string() });
            }
        }
    }
    Ok(())
}

/// Rows of an input without decoding it (0 when unknown).
fn input_rows(input: &TableInput) -> u64 {
    match &input.data {
        InputData::File(format) => {
            let file = crate::dataset::TableFile { kind: input.kind, path: input.path.clone(), format: *format, bytes: input.bytes };
            source::count_rows(&file).unwrap_or(0)
        }
        InputData::Chunks { chunks, .. } => chunks.iter().map(|c| c.batch.num_rows() as u64).sum(),
    }
}

fn read_chunks(input: &TableInput, spec: &TableSpec, encoding: Encoding) -> Result<Vec<Chunk>> {
    map_input(input, spec, encoding, |chunk| chunk)
}

/// Applies `map` to each chunk of an input (in parallel for Parquet), results in file order.
fn map_input<T: Send>(input: &TableInput, spec: &TableSpec, encoding: Encoding, map: impl Fn(Chunk) -> T + Sync + Send) -> Result<Vec<T>> {
    match &input.data {
        InputData::File(format) => {
            let wanted: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
            let file = crate::dataset::TableFile { kind: input.kind, path: input.path.clone(), format: *format, bytes: input.bytes };
            Ok(source::map_chunks(&file, &wanted, encoding, map)?.1)
        }
        InputData::Chunks { chunks, .. } => {
            Ok(chunks.par_iter().map(|c| map(Chunk { first_row: c.first_row, batch: c.batch.clone() })).collect())
        }
    }
}

/// The column names of an input, without decoding its rows.
fn input_columns(input: &TableInput, encoding: Encoding) -> Result<Vec<String>> {
    match &input.data {
        InputData::File(format) => {
            let file = crate::dataset::TableFile { kind: input.kind, path: input.path.clone(), format: *format, bytes: input.bytes };
            source::column_names(&file, encoding)
        }
        InputData::Chunks { columns, .. } => Ok(columns.clone()),
    }
}

/// The table being loaded, for problem reports.
struct Ctx<'a> {
    spec: &'static TableSpec,
    path: &'a Path,
    path_text: Arc<str>,
}

impl Ctx<'_> {
    fn problem(&self, row: u64, column: &'static str, rule: Rule, message: impl Into<String>) -> Problem {
        Problem { table: self.spec.name, path: self.path_text.clone(), row, column, rule, message: message.into() }
    }

    fn column_spec(&self, name: &str) -> &'static ColumnSpec {
        self.spec.column(name).unwrap_or(&self.spec.columns[0])
    }

    /// A column of the batch with its contract entry, looked up once per batch, not per row.
    fn field<T>(&self, batch: &RecordBatch, name: &str, decode: impl FnOnce(&Path, &str, &ArrayRef) -> Result<T>) -> Result<Field<T>> {
        let values = batch.schema().index_of(name).ok().map(|i| decode(self.path, name, batch.column(i))).transpose()?;
        Ok(Field { values, spec: self.column_spec(name) })
    }

    /// A column this table does not have.
    fn absent<T>(&self) -> Field<T> {
        Field { values: None, spec: &self.spec.columns[0] }
    }

    fn text(&self, batch: &RecordBatch, name: &str) -> Result<Field<TextColumn>> {
        self.field(batch, name, TextColumn::new)
    }

    fn f64(&self, batch: &RecordBatch, name: &str) -> Result<Field<F64Column>> {
        self.field(batch, name, F64Column::new)
    }

    fn timestamp(&self, batch: &RecordBatch, name: &str) -> Result<Field<TimestampColumn>> {
        self.field(batch, name, TimestampColumn::new)
    }

    fn date(&self, batch: &RecordBatch, name: &str) -> Result<Field<DateColumn>> {
        self.field(batch, name, DateColumn::new)
    }

    fn bool(&self, batch: &RecordBatch, name: &str) -> Result<Field<BoolColumn>> {
        self.field(batch, name, BoolColumn::new)
    }
}

/// A decoded column (None when the file lacks it) and its contract entry.
struct Field<T> {
    values: Option<T>,
    spec: &'static ColumnSpec,
}

/// Collects a row's problems and knows whether the row survived.
struct RowCheck<'c, 'a> {
    ctx: &'c Ctx<'a>,
    row: u64,
    problems: Vec<Problem>,
}

impl<'c, 'a> RowCheck<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>, row: u64) -> Self {
        RowCheck { ctx, row, problems: Vec::new() }
    }

    fn fail(&mut self, column: &'static str, rule: Rule, message: impl Into<String>) {
        self.problems.push(self.ctx.problem(self.row, column, rule, message));
    }

    fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// A required or optional id; normalised. `counter` counts normalisations.
    fn id<'b>(&mut self, field: &'b Field<TextColumn>, i: usize, normalized: &mut u64) -> Option<Cow<'b, str>> {
        let spec = field.spec;
        let Some(raw) = field.values.as_ref().and_then(|c| c.get(i)) else {
            if !spec.nullable {
                self.fail(spec.name, Rule::NullRequired, "null in a required column");
            }
            return None;
        };
        match normalized_id(raw) {
            Ok(Some((code, changed))) => {
                *normalized += u64::from(changed);
                Some(code)
            }
            Ok(None) => {
                if !spec.nullable {
                    self.fail(spec.name, Rule::NullRequired, "empty id in a required column");
                }
                None
            }
            Err((rule, message)) => {
                self.fail(spec.name, rule, message);
                None
            }
        }
    }

    fn f64(&mut self, field: &Field<F64Column>, i: usize) -> f64 {
        let spec = field.spec;
        match field.values.as_ref().map(|c| c.get(i)).unwrap_or(Ok(None)) {
            Ok(Some(v)) => {
                if let Some(rule) = spec.constraint.check(v) {
                    self.fail(spec.name, Rule::OutOfRange, format!("{v} {rule}"));
                }
                v
            }
            Ok(None) => {
                if !spec.nullable {
                    self.fail(spec.name, Rule::NullRequired, "null in a required column");
                }
                f64::NAN
            }
            Err(message) => {
                self.fail(spec.name, Rule::BadValue, message);
                f64::NAN
            }
        }
    }

    fn timestamp(&mut self, field: &Field<TimestampColumn>, i: usize, as_of: i64) -> i64 {
        let spec = field.spec;
        match field.values.as_ref().map(|c| c.get(i)).unwrap_or(Ok(None)) {
            Ok(Some(v)) => {
                if v > as_of {
                    self.fail(spec.name, Rule::FutureTimestamp, "timestamp after the run's as-of date");
                }
                v
            }
            Ok(None) => {
                if !spec.nullable {
                    self.fail(spec.name, Rule::NullRequired, "null in a required column");
                }
                TS_NULL
            }
            Err(message) => {
                self.fail(spec.name, Rule::BadValue, message);
                TS_NULL
            }
        }
    }

    fn date(&mut self, field: &Field<DateColumn>, i: usize) -> i32 {
        let spec = field.spec;
        match field.values.as_ref().map(|c| c.get(i)).unwrap_or(Ok(None)) {
            Ok(Some(v)) => v,
            Ok(None) => {
                if !spec.nullable {
                    self.fail(spec.name, Rule::NullRequired, "null in a required column");
                }
                DATE_NULL
            }
            Err(message) => {
                self.fail(spec.name, Rule::BadValue, message);
                DATE_NULL
            }
        }
    }

    fn bool(&mut self, field: &Field<BoolColumn>, i: usize) -> u8 {
        match field.values.as_ref().map(|c| c.get(i)).unwrap_or(Ok(None)) {
            Ok(Some(true)) => BOOL_TRUE,
            Ok(Some(false)) => BOOL_FALSE,
            Ok(None) => BOOL_NULL,
            Err(message) => {
                self.fail(field.spec.name, Rule::BadValue, message);
                BOOL_NULL
            }
        }
    }

    fn enumerated(&mut self, field: &Field<TextColumn>, i: usize) -> Option<usize> {
        let spec = field.spec;
        let ColumnType::Enum(names) = spec.ty else { return None };
        let Some(raw) = field.values.as_ref().and_then(|c| c.get(i)) else {
            self.fail(spec.name, Rule::NullRequired, "null in a required column");
            return None;
        };
        match enum_position(names, raw) {
            Ok(found) => Some(found),
            Err(message) => {
                self.fail(spec.name, Rule::UnknownEnum, message);
                None
            }
        }
    }

    fn text<'b>(&mut self, field: &'b Field<TextColumn>, i: usize) -> Option<&'b str> {
        let value = field.values.as_ref().and_then(|c| c.get(i))?;
        if value.len() > ekg_schema::strings::MAX_STRING_BYTES {
            self.fail(field.spec.name, Rule::TooLong, format!("text of {} bytes", value.len()));
            return None;
        }
        Some(value.trim())
    }
}

/// Why an id was refused: the rule and a message for the row's problem.
pub type IdProblem = (Rule, String);

/// An id as the graph keys it: trimmed and NFKC-normalised, at most [`MAX_ID_BYTES`], without
/// invisible characters. `Ok(None)` for an empty id; the flag says whether normalising changed it.
pub fn normalized_id(raw: &str) -> std::result::Result<Option<(Cow<'_, str>, bool)>, IdProblem> {
    let (code, changed) = normalize_code(raw);
    if code.is_empty() {
        return Ok(None);
    }
    if code.len() > MAX_ID_BYTES {
        return Err((Rule::TooLong, format!("id of {} bytes; at most {MAX_ID_BYTES}", code.len())));
    }
    // In ASCII the invisible characters are the controls: a byte test, no char decoding.
    let invisible =
        if code.is_ascii() { code.bytes().find(|b| b.is_ascii_control()).map(char::from) } else { code.chars().find(|&c| is_invisible(c)) };
    if let Some(c) = invisible {
        // `F001` and `F001` + U+200B would be two firms that print alike.
        return Err((Rule::BadValue, format!("id contains the invisible character U+{:04X}", c as u32)));
    }
    Ok(Some((code, changed)))
}

/// An endpoint resolved against the nodes loaded so far.
/// Control and format characters (zero-width spaces and joiners, direction marks, the BOM, soft
/// hyphens): invisible in every viewer, so an id holding one is a twin of another id.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}')
}

fn resolve(
    builder: &GraphBuilder,
    check: &mut RowCheck<'_, '_>,
    id: Option<Cow<'_, str>>,
    column: &'static str,
    allowed: KindSet,
) -> Option<NodeId> {
    let id = id?;
    let Some(node) = builder.lookup(&id) else {
        check.fail(column, Rule::DanglingEndpoint, format!("'{}' is not an entity of this dataset", mask_personal(&id)));
        return None;
    };
    let kind = builder.kind_of(node);
    if !allowed.contains(kind) {
        check.fail(column, Rule::WrongEndpointKind, format!("'{}' is a {kind}; expected {}", mask_personal(&id), allowed.describe()));
        return None;
    }
    Some(node)
}

/// A previous row's raw endpoint id and what it resolved to (and whether it was normalised).
type LastEndpoint<'b> = Option<(&'b str, NodeId, bool)>;

/// [`resolve`] for an edge endpoint, reusing the previous row's answer when the raw id repeats:
/// exports grouped by account or firm repeat the source id over runs of rows, and the answer
/// depends on the raw text alone. Only successes are remembered, so every failing row is
/// checked (and reported) in full.
fn resolve_repeating<'b>(
    last: &mut LastEndpoint<'b>,
    builder: &GraphBuilder,
    check: &mut RowCheck<'_, '_>,
    field: &'b Field<TextColumn>,
    i: usize,
    allowed: KindSet,
    normalized: &mut u64,
) -> Option<NodeId> {
    let raw = field.values.as_ref().and_then(|c| c.get(i));
    if let (Some(raw), Some((last_raw, node, changed))) = (raw, *last) {
        if raw == last_raw {
            *normalized += u64::from(changed);
            return Some(node);
        }
    }
    let before = *normalized;
    let id = check.id(field, i, normalized);
    let node = resolve(builder, check, id, field.spec.name, allowed);
    if let (Some(raw), Some(node)) = (raw, node) {
        *last = Some((raw, node, *normalized != before));
    }
    node
}

struct State<'o> {
    builder: GraphBuilder,
    options: &'o LoadOptions,
    problems: Vec<Problem>,
    normalized: u64,
    deduplicated: u64,
    /// Per account (by account ordinal): its owner; per loan: borrower and deposit account.
    account_owner: Vec<NodeId>,
    loan_borrower: Vec<NodeId>,
    loan_deposit: Vec<NodeId>,
    /// (path, row) of each shareholding edge, for the per-firm share-sum check.
    shareholding_rows: Vec<(Arc<str>, u64)>,
}

impl<'o> State<'o> {
    fn new(options: &'o LoadOptions) -> Self {
        State {
            builder: GraphBuilder::new(),
            options,
            problems: Vec::new(),
            normalized: 0,
            deduplicated: 0,
            account_owner: Vec::new(),
            loan_borrower: Vec::new(),
            loan_deposit: Vec::new(),
            shareholding_rows: Vec::new(),
        }
    }

    /// Numbers the nodes in the order of their ids (see [`GraphBuilder::number_nodes_by_id`]),
    /// with the accounts' owners and the loans' borrowers and deposit accounts.
    fn number_nodes_by_id(&mut self) -> Result<()> {
        let Some(new_of) = self.builder.number_nodes_by_id()? else { return Ok(()) };
        let remap = |v: NodeId| if v == NodeId::NONE { v } else { NodeId(new_of[v.index()]) };
        let (accounts, loans) = (self.builder.kind_start(NodeKind::Account), self.builder.kind_start(NodeKind::Loan));
        for (start, column) in [(accounts, &mut self.account_owner), (loans, &mut self.loan_borrower), (loans, &mut self.loan_deposit)] {
            let mut moved = vec![NodeId::NONE; column.len()];
            for (old, &v) in column.iter().enumerate() {
                moved[(new_of[start as usize + old] - start) as usize] = remap(v);
            }
            *column = moved;
        }
        Ok(())
    }

    /// Node tables: sequential, so that ids are assigned in file order (and renumbered by id
    /// once every node table is read).
    fn load_nodes(&mut self, ctx: &Ctx<'_>, kind: NodeKind, chunks: &[Chunk]) -> Result<u64> {
        let key = ctx.spec.key.unwrap_or("id");
        let mut accepted = 0u64;
        for chunk in chunks {
            let b = &chunk.batch;
            let ids = ctx.text(b, key)?;
            // Firm columns.
            let (name, industry, region, status) =
                (ctx.text(b, "name")?, ctx.text(b, "industry")?, ctx.text(b, "region")?, ctx.text(b, "status")?);
            let (capital, founded, exposure, pd) =
                (ctx.f64(b, "registered_capital")?, ctx.date(b, "founded")?, ctx.f64(b, "exposure")?, ctx.f64(b, "pd")?);
            let (defaulted, defaulted_on) = (ctx.bool(b, "defaulted")?, ctx.date(b, "defaulted_on")?);
            let (employees, revenue, total_assets) = (ctx.f64(b, "employees")?, ctx.f64(b, "revenue")?, ctx.f64(b, "total_assets")?);
            // Account and loan columns.
            let (owner, opened, blocked) = (ctx.text(b, "owner_id")?, ctx.timestamp(b, "opened")?, ctx.bool(b, "blocked")?);
            let (borrower, amount, disbursed, deposit) =
                (ctx.text(b, "borrower_id")?, ctx.f64(b, "amount")?, ctx.timestamp(b, "disbursed")?, ctx.text(b, "deposit_account_id")?);
            for i in 0..b.num_rows() {
                prefetch_ids_ahead(&self.builder, &[&ids, &owner, &borrower, &deposit], i, b.num_rows());
                let row = chunk.first_row + i as u64;
                let mut check = RowCheck::new(ctx, row);
                let id = check.id(&ids, i, &mut self.normalized);
                let as_of = self.options.as_of;
                match kind {
                    NodeKind::Firm => {
                        let founded_day = check.date(&founded, i);
                        if founded_day != DATE_NULL && (founded_day as i64) * ekg_schema::MICROS_PER_DAY > as_of {
                            check.fail("founded", Rule::FutureTimestamp, "founding date after the run's as-of date");
                        }
                        let texts = [&name, &industry, &region, &status];
                        let mut values: [Option<&str>; 4] = Default::default();
                        for k in 0..4 {
                            values[k] = check.text(texts[k], i);
                        }
                        let firm = FirmRow {
                            name: values[0],
                            industry: values[1].filter(|s| !s.is_empty()),
                            region: values[2].filter(|s| !s.is_empty()),
                            registered_capital: check.f64(&capital, i),
                            founded: founded_day,
                            status: values[3].filter(|s| !s.is_empty()),
                            defaulted: check.bool(&defaulted, i),
                            defaulted_on: check.date(&defaulted_on, i),
                            exposure: check.f64(&exposure, i),
                            pd: check.f64(&pd, i),
                            employees: check.f64(&employees, i),
                            revenue: check.f64(&revenue, i),
                            total_assets: check.f64(&total_assets, i),
                        };
                        if let (true, Some(id)) = (check.ok(), id) {
                            match self.builder.add_node(kind, &id)? {
                                Ok(_) => {
                                    self.builder.push_firm(&firm);
                                    accepted += 1;
                                }
                                Err(existing) => {
                                    self.duplicate(&mut check, key, &id, existing, kind, firm_equal(&self.builder, existing, &firm))
                                }
                            }
                        }
                    }
                    NodeKind::Person => {
                        let person_name = check.text(&name, i);
                        if let (true, Some(id)) = (check.ok(), id) {
                            match self.builder.add_node(kind, &id)? {
                                Ok(_) => {
                                    self.builder.person_names.push(person_name.unwrap_or(""));
                                    accepted += 1;
                                }
                                Err(existing) => {
                                    let same = self.builder.kind_of(existing) == kind
                                        && self.builder.person_names.get_str((existing.0 - self.builder.kind_start(kind)) as usize)
                                            == person_name.unwrap_or("");
                                    self.duplicate(&mut check, key, &id, existing, kind, same)
                                }
                            }
                        }
                    }
                    NodeKind::Account => {
                        // An empty owner is an account whose owner is unknown: kept, without an owner.
                        let owner_node = match check.id(&owner, i, &mut self.normalized) {
                            Some(owner_id) => {
                                resolve(&self.builder, &mut check, Some(owner_id), "owner_id", Relation::AccountOwner.endpoint_kinds().0)
                            }
                            None => Some(NodeId::NONE),
                        };
                        let opened_ts = check.timestamp(&opened, i, as_of);
                        let blocked_flag = check.bool(&blocked, i);
                        if let (true, Some(id), Some(owner_node)) = (check.ok(), id, owner_node) {
                            match self.builder.add_node(kind, &id)? {
                                Ok(_) => {
                                    self.builder.account_opened.push(opened_ts);
                                    self.builder.account_blocked.push(blocked_flag);
                                    self.account_owner.push(owner_node);
                                    accepted += 1;
                                }
                                Err(existing) => {
                                    let k = existing.0.wrapping_sub(self.builder.kind_start(kind)) as usize;
                                    let same = self.builder.kind_of(existing) == kind
                                        && self.builder.account_opened.get(k) == Some(&opened_ts)
                                        && self.builder.account_blocked.get(k) == Some(&blocked_flag)
                                        && self.account_owner.get(k) == Some(&owner_node);
                                    self.duplicate(&mut check, key, &id, existing, kind, same)
                                }
                            }
                        }
                    }
                    NodeKind::Loan => {
                        let borrower_id = check.id(&borrower, i, &mut self.normalized);
                        let borrower_node =
                            resolve(&self.builder, &mut check, borrower_id, "borrower_id", Relation::LoanBorrower.endpoint_kinds().0);
                        let deposit_id = check.id(&deposit, i, &mut self.normalized);
                        let deposit_node = match deposit_id {
                            Some(d) => {
                                resolve(&self.builder, &mut check, Some(d), "deposit_account_id", Relation::LoanDeposit.endpoint_kinds().1)
                            }
                            None => Some(NodeId::NONE),
                        };
                        let loan_amount = check.f64(&amount, i);
                        let disbursed_ts = check.timestamp(&disbursed, i, as_of);
                        let loan_defaulted = check.bool(&defaulted, i);
                        let loan_defaulted_on = check.date(&defaulted_on, i);
                        if let (true, Some(id), Some(b), Some(d)) = (check.ok(), id, borrower_node, deposit_node) {
                            match self.builder.add_node(kind, &id)? {
                                Ok(_) => {
                                    self.builder.loan_amount.push(loan_amount);
                                    self.builder.loan_disbursed.push(disbursed_ts);
                                    self.builder.loan_defaulted.push(loan_defaulted);
                                    self.builder.loan_defaulted_on.push(loan_defaulted_on);
                                    self.loan_borrower.push(b);
                                    self.loan_deposit.push(d);
                                    accepted += 1;
                                }
                                Err(existing) => {
                                    let k = existing.0.wrapping_sub(self.builder.kind_start(kind)) as usize;
                                    let same = self.builder.kind_of(existing) == kind
                                        && self.builder.loan_amount.get(k).map(|a| a.to_bits()) == Some(loan_amount.to_bits())
                                        && self.builder.loan_disbursed.get(k) == Some(&disbursed_ts)
                                        && self.loan_borrower.get(k) == Some(&b)
                                        && self.loan_deposit.get(k) == Some(&d);
                                    self.duplicate(&mut check, key, &id, existing, kind, same)
                                }
                            }
                        }
                    }
                }
                self.problems.append(&mut check.problems);
            }
        }
        Ok(accepted)
    }

    /// A repeated id: an identical row is dropped with a count; a different one is an error.
    fn duplicate(&mut self, check: &mut RowCheck<'_, '_>, key: &'static str, id: &str, existing: NodeId, kind: NodeKind, identical: bool) {
        let existing_kind = self.builder.kind_of(existing);
        if existing_kind != kind {
            check.fail(
                key,
                Rule::DuplicateId,
                format!("'{}' is already the id of a {existing_kind}; ids share one namespace", mask_personal(id)),
            );
        } else if identical {
            self.deduplicated += 1;
        } else {
            check.fail(key, Rule::DuplicateId, format!("duplicate id '{}' with values different from its first row", mask_personal(id)));
        }
    }

    /// Edge tables: decoded chunks (resolved in parallel) appended in file order.
    fn append_edges(&mut self, ctx: &Ctx<'_>, relation: Relation, decoded: Vec<Result<DecodedEdges>>) -> Result<u64> {
        let mut accepted = 0;
        let mut lists = Vec::with_capacity(decoded.len());
        for part in decoded {
            let (list, mut problems, rows, normalized) = part?;
            accepted += list.len() as u64;
            self.normalized += normalized;
            self.problems.append(&mut problems);
            self.shareholding_rows.extend(rows.into_iter().map(|r| (ctx.path_text.clone(), r)));
            lists.push(list);
        }
        self.builder.edges_mut(relation).append_all(lists);
        Ok(accepted)
    }

    fn append_identifiers(&mut self, decoded: Vec<Result<DecodedIdentifiers>>) -> Result<u64> {
        let mut accepted = 0;
        let total: usize = decoded.iter().map(|d| d.as_ref().map(|(links, ..)| links.len()).unwrap_or(0)).sum();
        self.builder.reserve_identifiers(total);
        for part in decoded {
            let (links, validity, mut problems, normalized) = part?;
            self.normalized += normalized;
            self.problems.append(&mut problems);
            accepted += links.len() as u64;
            for (i, (node, key)) in links.iter().enumerate() {
                if let Some((_, ahead)) = links.get(i + PREFETCH_ROWS) {
                    self.builder.prefetch_identifier(ahead);
                }
                let (from, to) = validity.get(i).copied().unwrap_or((DATE_NULL, DATE_NULL));
                self.builder.add_identifier_key_valid(*node, key, from, to);
            }
        }
        Ok(accepted)
    }

    /// A firm whose holders' shares sum above 1 is a group problem; under skip its holdings go.
    fn check_share_sums(&mut self, report: &mut LoadReport) {
        let edges = self.builder.edges(Relation::Shareholding);
        if edges.is_empty() {
            return;
        }
        let shares = match &edges.attrs[0] {
            ekg_schema::builder::AttrVec::F64(v) => v.clone(),
            _ => return,
        };
        let n = self.builder.node_count();
        let mut sums = vec![0.0f64; n];
        for (firm, share) in edges.dst.iter().zip(&shares) {
            sums[firm.index()] += share;
        }
        let mut over: Vec<bool> = sums.iter().map(|&s| s > 1.0 + SHARE_SUM_TOLERANCE).collect();
        if !over.iter().any(|&o| o) {
            return;
        }
        // Holdings with validity dates count only while they run together: a stake sold on one
        // day and bought the next is not two stakes at once.
        if let (Some(AttrVec::I32(from)), Some(AttrVec::I32(to))) = (edges.attrs.get(1), edges.attrs.get(2)) {
            let mut events: Vec<(u32, i64, f64)> = Vec::new();
            for (e, firm) in edges.dst.iter().enumerate() {
                if over[firm.index()] {
                    let start = from.get(e).copied().filter(|&d| d != DATE_NULL).map_or(i64::MIN, i64::from);
                    events.push((firm.0, start, shares[e]));
                    if let Some(&end) = to.get(e).filter(|&&d| d != DATE_NULL) {
                        events.push((firm.0, end as i64 + 1, -shares[e]));
                    }
                }
            }
            // Per firm, by day, removals before additions on the same day.
            events.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)));
            for group in events.chunk_by(|a, b| a.0 == b.0) {
                let (mut running, mut peak) = (0.0f64, 0.0f64);
                for &(_, _, delta) in group {
                    running += delta;
                    peak = peak.max(running);
                }
                let firm = group[0].0 as usize;
                sums[firm] = peak;
                over[firm] = peak > 1.0 + SHARE_SUM_TOLERANCE;
            }
            if !over.iter().any(|&o| o) {
                return;
            }
        }
        let mut keep = Vec::with_capacity(edges.len());
        let mut reported = vec![false; n];
        for (e, firm) in edges.dst.iter().enumerate() {
            let bad = over[firm.index()];
            keep.push(!bad);
            if bad {
                let (path, row) = self.shareholding_rows.get(e).cloned().unwrap_or_else(|| (Arc::from(""), 0));
                let first = !reported[firm.index()];
                reported[firm.index()] = true;
                let message = format!(
                    "holders of firm '{}' hold {:.6} in total at once, above 1{}",
                    self.builder.external_id(*firm),
                    sums[firm.index()],
                    if first { "" } else { " (same firm as above)" }
                );
                self.problems.push(Problem { table: "shareholdings", path, row, column: "share", rule: Rule::SharesAboveOne, message });
            }
        }
        let _ = report;
        let list = self.builder.edges_mut(Relation::Shareholding);
        retain_edges(list, &keep);
    }

    /// Account ownership and loan links become relations once all nodes are known.
    fn finish_node_edges(&mut self) {
        let accounts = self.builder.kind_start(NodeKind::Account);
        let owners = std::mem::take(&mut self.account_owner);
        let list = self.builder.edges_mut(Relation::AccountOwner);
        for (k, owner) in owners.into_iter().enumerate().filter(|(_, o)| *o != NodeId::NONE) {
            list.src.push(owner);
            list.dst.push(NodeId(accounts + k as u32));
        }
        let loans = self.builder.kind_start(NodeKind::Loan);
        let borrowers = std::mem::take(&mut self.loan_borrower);
        let deposits = std::mem::take(&mut self.loan_deposit);
        let list = self.builder.edges_mut(Relation::LoanBorrower);
        for (k, b) in borrowers.iter().enumerate() {
            list.src.push(*b);
            list.dst.push(NodeId(loans + k as u32));
        }
        let list = self.builder.edges_mut(Relation::LoanDeposit);
        for (k, d) in deposits.iter().enumerate().filter(|(_, d)| **d != NodeId::NONE) {
            list.src.push(NodeId(loans + k as u32));
            list.dst.push(*d);
        }
    }
}

fn retain_edges(list: &mut EdgeList, keep: &[bool]) {
    fn filter<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
        let mut i = 0;
        v.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    filter(&mut list.src, keep);
    filter(&mut list.dst, keep);
    for attr in &mut list.attrs {
        match attr {
            ekg_schema::builder::AttrVec::F64(v) => filter(v, keep),
            ekg_schema::builder::AttrVec::I64(v) => filter(v, keep),
            ekg_schema::builder::AttrVec::I32(v) => filter(v, keep),
            ekg_schema::builder::AttrVec::U8(v) => filter(v, keep),
        }
    }
}

fn firm_equal(builder: &GraphBuilder, existing: NodeId, row: &FirmRow<'_>) -> bool {
    let f = &builder.firms;
    let i = existing.index();
    if builder.kind_of(existing) != NodeKind::Firm || i >= f.registered_capital.len() {
        return false;
    }
    let same_f64 = |a: f64, b: f64| a.to_bits() == b.to_bits();
    f.name.get_str(i) == row.name.unwrap_or("")
        && f.industry.get(i) == row.industry
        && f.region.get(i) == row.region
        && f.status.get(i) == row.status
        && same_f64(f.registered_capital[i], row.registered_capital)
        && f.founded[i] == row.founded
        && f.defaulted[i] == row.defaulted
        && same_f64(f.exposure[i], row.exposure)
        && same_f64(f.pd[i], row.pd)
        && same_f64(f.employees[i], row.employees)
        && same_f64(f.revenue[i], row.revenue)
        && same_f64(f.total_assets[i], row.total_assets)
}

type DecodedEdges = (EdgeList, Vec<Problem>, Vec<u64>, u64);
/// Identifier values are copied once here: interning needs them after the batch is gone.
/// Rows ahead whose id-table slots are requested before they are looked up: the misses of
/// consecutive rows overlap instead of queueing.
const PREFETCH_ROWS: usize = 8;

/// Requests the id-table slots of the ids in `columns` at row `i + PREFETCH_ROWS` (of `rows`).
fn prefetch_ids_ahead(builder: &GraphBuilder, columns: &[&Field<TextColumn>], i: usize, rows: usize) {
    if i + PREFETCH_ROWS >= rows {
        return;
    }
    for ahead in columns.iter().filter_map(|f| f.values.as_ref()?.get(i + PREFETCH_ROWS)) {
        builder.prefetch_lookup(ahead.trim());
    }
}

/// Links as (entity, interned key of the value: see [`ekg_schema::builder::identifier_key`]).
/// and each link's (valid_from, valid_to) days.
type DecodedIdentifiers = (Vec<(NodeId, String)>, Vec<(i32, i32)>, Vec<Problem>, u64);

fn decode_identifiers(ctx: &Ctx<'_>, builder: &GraphBuilder, chunk: &Chunk) -> Result<DecodedIdentifiers> {
    let b = &chunk.batch;
    let (entity, kind, value) = (ctx.text(b, "entity_id")?, ctx.text(b, "kind")?, ctx.text(b, "value")?);
    let (valid_from, valid_to) = (ctx.date(b, "valid_from")?, ctx.date(b, "valid_to")?);
    let mut out = Vec::with_capacity(b.num_rows());
    let mut validity = Vec::with_capacity(b.num_rows());
    let mut problems = Vec::new();
    let mut normalized = 0;
    let entities = KindSet::of(&[NodeKind::Firm, NodeKind::Person, NodeKind::Account]);
    for i in 0..b.num_rows() {
        prefetch_ids_ahead(builder, &[&entity], i, b.num_rows());
        let mut check = RowCheck::new(ctx, chunk.first_row + i as u64);
        let entity_id = check.id(&entity, i, &mut normalized);
        let node = resolve(builder, &mut check, entity_id, "entity_id", entities);
        let kind_code = check.enumerated(&kind, i);
        let text = check.id(&value, i, &mut normalized);
        let (from, to) = (check.date(&valid_from, i), check.date(&valid_to, i));
        check_validity(&mut check, from, to);
        match (check.ok(), node, kind_code, text) {
            (true, Some(node), Some(k), Some(text)) => {
                let kind = IdentifierKind::from_code(k as u8).unwrap_or(IdentifierKind::Other);
                out.push((node, identifier_key(kind, &text)));
                validity.push((from, to));
            }
            _ => problems.append(&mut check.problems),
        }
    }
    Ok((out, validity, problems, normalized))
}

/// A validity range must not end before it starts.
fn check_validity(check: &mut RowCheck<'_, '_>, from: i32, to: i32) {
    if from != DATE_NULL && to != DATE_NULL && to < from {
        check.fail("valid_to", Rule::EndBeforeStart, "valid_to is before valid_from");
    }
}

fn decode_edges(ctx: &Ctx<'_>, builder: &GraphBuilder, relation: Relation, chunk: &Chunk, as_of: i64) -> Result<DecodedEdges> {
    let b = &chunk.batch;
    let names: Vec<&'static str> = ctx.spec.columns.iter().map(|c| c.name).collect();
    let (src_col, dst_col) = (ctx.text(b, names[0])?, ctx.text(b, names[1])?);
    let (src_kinds, dst_kinds) = relation.endpoint_kinds();
    let mut list = EdgeList::new(relation);
    list.reserve(b.num_rows());
    let mut problems = Vec::new();
    // Input rows of accepted edges: only shareholdings need them (the share-sum check).
    let mut rows = Vec::new();
    let mut normalized = 0u64;
    let amount = match relation {
        Relation::Shareholding => ctx.f64(b, "share")?,
        Relation::Transfer | Relation::Guarantee => ctx.f64(b, "amount")?,
        Relation::Supply => ctx.f64(b, "volume")?,
        _ => ctx.absent(),
    };
    let role = if relation == Relation::Officer { ctx.text(b, "role")? } else { ctx.absent() };
    let ts = if relation == Relation::Transfer { ctx.timestamp(b, "ts")? } else { ctx.absent() };
    let (start, end) =
        if relation == Relation::Guarantee { (ctx.date(b, "start")?, ctx.date(b, "end")?) } else { (ctx.absent(), ctx.absent()) };
    let dated = matches!(relation, Relation::Shareholding | Relation::Officer | Relation::Supply);
    let (valid_from, valid_to) = if dated { (ctx.date(b, "valid_from")?, ctx.date(b, "valid_to")?) } else { (ctx.absent(), ctx.absent()) };
    let (mut last_src, mut last_dst) = (None, None);
    for i in 0..b.num_rows() {
        prefetch_ids_ahead(builder, &[&src_col, &dst_col], i, b.num_rows());
        let row = chunk.first_row + i as u64;
        let mut check = RowCheck::new(ctx, row);
        let src = resolve_repeating(&mut last_src, builder, &mut check, &src_col, i, src_kinds, &mut normalized);
        let dst = resolve_repeating(&mut last_dst, builder, &mut check, &dst_col, i, dst_kinds, &mut normalized);
        let value = if relation == Relation::Officer { f64::NAN } else { check.f64(&amount, i) };
        let role_code = if relation == Relation::Officer { check.enumerated(&role, i) } else { None };
        let when = if relation == Relation::Transfer { check.timestamp(&ts, i, as_of) } else { TS_NULL };
        let (from, to) =
            if relation == Relation::Guarantee { (check.date(&start, i), check.date(&end, i)) } else { (DATE_NULL, DATE_NULL) };
        if from != DATE_NULL && to != DATE_NULL && to < from {
            check.fail("end", Rule::EndBeforeStart, "guarantee ends before it starts");
        }
        if from != DATE_NULL && (from as i64) * ekg_schema::MICROS_PER_DAY > as_of {
            check.fail("start", Rule::FutureTimestamp, "guarantee starts after the run's as-of date");
        }
        let (valid_since, valid_until) =
            if dated { (check.date(&valid_from, i), check.date(&valid_to, i)) } else { (DATE_NULL, DATE_NULL) };
        check_validity(&mut check, valid_since, valid_until);
        let (Some(s), Some(d), true) = (src, dst, check.ok()) else {
            problems.append(&mut check.problems);
            continue;
        };
        list.src.push(s);
        list.dst.push(d);
        if relation == Relation::Shareholding {
            rows.push(row);
        }
        match relation {
            Relation::Shareholding | Relation::Supply => list.f64_attr_mut(0).push(value),
            Relation::Officer => list.u8_attr_mut(0).push(role_code.map(|r| OfficerRole::ALL[r] as u8).unwrap_or(0)),
            _ => {}
        }
        if dated {
            list.i32_attr_mut(1).push(valid_since);
            list.i32_attr_mut(2).push(valid_until);
        }
        match relation {
            Relation::Transfer => {
                list.f64_attr_mut(0).push(value);
                list.i64_attr_mut(1).push(when);
            }
            Relation::Guarantee => {
                list.f64_attr_mut(0).push(value);
                list.i32_attr_mut(1).push(from);
                list.i32_attr_mut(2).push(to);
            }
            _ => {}
        }
    }
    Ok((list, problems, rows, normalized))
}
