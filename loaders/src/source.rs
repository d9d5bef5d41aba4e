//! Table files into Arrow record batches: Parquet (row groups decoded in parallel, each task with
//! its own file handle) and delimited text (every field kept as text, typed later by the mapping
//! step, so that a bad value is reported by row and column rather than failing a whole batch).

use std::fs::File;
use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use crate::dataset::{FileFormat, TableFile};
use crate::error::{Error, Result};

/// Rows per batch for CSV and Parquet decoding.
pub const BATCH_ROWS: usize = 64 * 1024;
/// Values longer than this are refused before they reach the graph (bounded memory per row).
pub const MAX_FIELD_BYTES: usize = 1 << 20;

/// A batch and the 1-based file row of its first row.
pub struct Chunk {
    pub first_row: u64,
    pub batch: RecordBatch,
}

/// The text encoding of CSV inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    #[default]
    Utf8,
    /// GB18030 (a superset of GBK), common in Chinese bank exports.
    Gb18030,
}

/// Reads the columns named `wanted` (those present) from a table file and applies `map` to each
/// chunk, in parallel where the format allows; results come back in file order.
pub fn map_chunks<T, F>(file: &TableFile, wanted: &[&str], encoding: Encoding, map: F) -> Result<(Vec<String>, Vec<T>)>
where
    T: Send,
    F: Fn(Chunk) -> T + Sync + Send,
{
    map_share(file, wanted, encoding, &|_| true, map)
}

/// [`map_chunks`] over one process's share of a table: the Parquet row groups, or the CSV chunks
/// of [`BATCH_ROWS`] rows, whose index `share` accepts. A CSV file has no index to seek by, so
/// every process parses it and keeps its chunks.
pub fn map_share<T, F>(
    file: &TableFile,
    wanted: &[&str],
    encoding: Encoding,
    share: &(dyn Fn(usize) -> bool + Sync),
    map: F,
) -> Result<(Vec<String>, Vec<T>)>
where
    T: Send,
    F: Fn(Chunk) -> T + Sync + Send,
{
    match file.format {
        FileFormat::Parquet => map_parquet(&file.path, wanted, share, map),
        FileFormat::Csv { delimiter } => {
            let (columns, chunks) = read_csv(&file.path, delimiter, encoding)?;
            let mine: Vec<Chunk> = chunks.into_iter().enumerate().filter(|(i, _)| share(*i)).map(|(_, c)| c).collect();
            let out = mine.into_par_iter().map(&map).collect();
            Ok((columns, out))
        }
    }
}

/// Rows in each unit [`map_share`] deals out: the Parquet file's row groups; `None` for CSV,
/// whose chunks are known only once the file is parsed.
pub fn unit_rows(file: &TableFile) -> Result<Option<Vec<u64>>> {
    match file.format {
        FileFormat::Parquet => {
            let metadata = parquet_metadata(&file.path)?;
            Ok(Some(metadata.metadata().row_groups().iter().map(|rg| rg.num_rows().max(0) as u64).collect()))
        }
        FileFormat::Csv { .. } => Ok(None),
    }
}

/// Checks Parquet framing before the parquet crate sees the file: magic at both ends and a footer
/// length that fits inside the file.
pub fn check_parquet_framing(path: &Path) -> Result<u64> {
    use std::io::{Seek, SeekFrom};
    let not = |problem: String| Error::NotParquet { path: path.to_path_buf(), problem };
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len < 12 {
        return Err(not(format!("{len} bytes, shorter than the smallest Parquet file")));
    }
    let mut head = [0u8; 4];
    file.read_exact(&mut head).map_err(io)?;
    if &head != b"PAR1" {
        return Err(not("wrong magic bytes at the start".into()));
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).map_err(io)?;
    file.read_exact(&mut tail).map_err(io)?;
    if &tail[4..] != b"PAR1" {
        return Err(not("footer magic missing (truncated file?)".into()));
    }
    let footer = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if footer + 12 > len {
        return Err(not(format!("footer length {footer} beyond the file of {len} bytes")));
    }
    Ok(len)
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Checks the framing, then reads the footer. The parquet crate may panic on hostile metadata; a
/// panic becomes this file's error.
fn parquet_metadata(path: &Path) -> Result<ArrowReaderMetadata> {
    check_parquet_framing(path)?;
    let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    std::panic::catch_unwind(AssertUnwindSafe(|| ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())))
        .map_err(|p| Error::Internal { path: path.to_path_buf(), message: panic_message(p) })?
        .map_err(|e| Error::NotParquet { path: path.to_path_buf(), problem: format!("footer: {e}") })
}

fn map_parquet<T, F>(path: &Path, wanted: &[&str], share: &(dyn Fn(usize) -> bool + Sync), map: F) -> Result<(Vec<String>, Vec<T>)>
where
    T: Send,
    F: Fn(Chunk) -> T + Sync + Send,
{
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let corrupt = |row_group: usize, problem: String| Error::CorruptParquet { path: path.to_path_buf(), row_group, problem };
    let metadata = parquet_metadata(path)?;
    let schema = metadata.schema().clone();
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let roots: Vec<usize> = columns.iter().enumerate().filter(|(_, name)| wanted.contains(&name.as_str())).map(|(i, _)| i).collect();
    let parquet_meta = metadata.metadata().clone();
    let mut starts = Vec::with_capacity(parquet_meta.num_row_groups());
    let mut row = 1u64;
    for rg in parquet_meta.row_groups() {
        starts.push(row);
        row += rg.num_rows().max(0) as u64;
    }
    let results: Vec<Result<Vec<T>>> = (0..parquet_meta.num_row_groups())
        .into_par_iter()
        .filter(|&rg| share(rg))
        .map(|rg| {
            // One handle per task: cloned handles would share one read position.
            let file = File::open(path).map_err(io)?;
            let read = std::panic::catch_unwind(AssertUnwindSafe(|| -> Result<Vec<T>> {
                let mask = ProjectionMask::roots(metadata.parquet_schema(), roots.iter().copied());
                let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
                    .with_row_groups(vec![rg])
                    .with_projection(mask)
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .map_err(|e| corrupt(rg, e.to_string()))?;
                let mut out = Vec::new();
                let mut first_row = starts[rg];
                for batch in reader {
                    let batch = batch.map_err(|e| corrupt(rg, e.to_string()))?;
                    let rows = batch.num_rows() as u64;
                    out.push(map(Chunk { first_row, batch }));
                    first_row += rows;
                }
                Ok(out)
            }));
            read.map_err(|p| Error::Internal { path: path.to_path_buf(), message: format!("row group {rg}: {}", panic_message(p)) })?
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok((columns, out))
}

/// A quoted field may span lines, but not more than this: a longer one is almost always a quote
/// that was never closed, swallowing the rest of the file. It also bounds what one line can hold
/// in memory before the field-size check sees it.
pub const MAX_QUOTED_OR_LINE_BYTES: usize = 16 << 20;

/// The bytes of a text table: decompressed when the name ends in `.gz`, decoded from GB18030 when
/// asked. GB18030 decoding holds the file; UTF-8 streams.
fn open_text(path: &Path, encoding: Encoding) -> Result<Box<dyn Read>> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io)?;
    let raw: Box<dyn Read> = if is_gzip(path) {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 20, file)))
    } else {
        Box::new(std::io::BufReader::with_capacity(1 << 20, file))
    };
    Ok(match encoding {
        Encoding::Utf8 => raw,
        Encoding::Gb18030 => {
            let mut bytes = Vec::new();
            { raw }.read_to_end(&mut bytes).map_err(io)?;
            let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
            Box::new(std::io::Cursor::new(text.into_owned().into_bytes()))
        }
    })
}

fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Watches the bytes a CSV reader consumes for what the csv crate accepts silently: a quote that
/// is never closed (the rest of the file becomes one field of the last record) and a line or
/// quoted field too long to hold. Quote parity is exact: an escaped quote (`""`) toggles twice.
struct QuoteGuard<R> {
    inner: R,
    line: u64,
    in_quotes: bool,
    quote_opened_line: u64,
    run: usize,
    fault: Option<(u64, String)>,
}

impl<R: Read> QuoteGuard<R> {
    fn new(inner: R) -> Self {
        QuoteGuard { inner, line: 1, in_quotes: false, quote_opened_line: 0, run: 0, fault: None }
    }
}

impl<R: Read> Read for QuoteGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            match b {
                b'"' => {
                    self.in_quotes = !self.in_quotes;
                    if self.in_quotes {
                        self.quote_opened_line = self.line;
                        self.run = 0;
                    }
                }
                b'\n' => {
                    self.line += 1;
                    if !self.in_quotes {
                        self.run = 0;
                    }
                }
                _ => {}
            }
            self.run += 1;
            if self.run > MAX_QUOTED_OR_LINE_BYTES {
                let (line, what) =
                    if self.in_quotes { (self.quote_opened_line, "a quoted field runs") } else { (self.line, "the line runs") };
                let problem = format!("{what} past {MAX_QUOTED_OR_LINE_BYTES} bytes (an unclosed quote?)");
                self.fault = Some((line, problem.clone()));
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, problem));
            }
        }
        Ok(n)
    }
}

/// Reads a delimited text file into chunks of text columns (empty field = null).
pub fn read_csv(path: &Path, delimiter: u8, encoding: Encoding) -> Result<(Vec<String>, Vec<Chunk>)> {
    let input = QuoteGuard::new(open_text(path, encoding)?);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).flexible(false).from_reader(input);
    let csv_error = |e: csv::Error, guard: &QuoteGuard<Box<dyn Read>>| -> Error {
        if let Some((line, problem)) = &guard.fault {
            return Error::Csv { path: path.to_path_buf(), line: *line, field: 0, problem: problem.clone() };
        }
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => Error::Csv {
                path: path.to_path_buf(),
                line,
                field: len as usize,
                problem: format!("{len} fields where the header has {expected_len}"),
            },
            csv::ErrorKind::Io(source) => Error::Io { path: path.to_path_buf(), source },
            other => Error::Csv { path: path.to_path_buf(), line, field: 0, problem: format!("{other:?}") },
        }
    };
    let headers = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(csv_error(e, reader.get_ref())),
    };
    let columns = header_names(path, &headers)?;
    let schema = Arc::new(Schema::new(columns.iter().map(|c| Field::new(c, DataType::Utf8, true)).collect::<Vec<_>>()));
    let mut chunks = Vec::new();
    let mut builders: Vec<StringBuilder> = columns.iter().map(|_| StringBuilder::new()).collect();
    let mut rows_in_chunk = 0usize;
    let mut first_row = 1u64;
    let mut record = csv::ByteRecord::new();
    let flush = |builders: &mut Vec<StringBuilder>| -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
        RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Error::Internal { path: path.to_path_buf(), message: e.to_string() })
    };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e, reader.get_ref())),
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        for (i, field) in record.iter().enumerate() {
            if field.len() > MAX_FIELD_BYTES {
                return Err(Error::Csv {
                    path: path.to_path_buf(),
                    line,
                    field: i + 1,
                    problem: format!("value of {} bytes exceeds the limit of {MAX_FIELD_BYTES}", field.len()),
                });
            }
            let text = std::str::from_utf8(field).map_err(|_| not_utf8(path, line, i + 1))?;
            if text.is_empty() {
                builders[i].append_null();
            } else {
                builders[i].append_value(text);
            }
        }
        rows_in_chunk += 1;
        if rows_in_chunk == BATCH_ROWS {
            chunks.push(Chunk { first_row, batch: flush(&mut builders)? });
            first_row += rows_in_chunk as u64;
            rows_in_chunk = 0;
        }
    }
    let guard = reader.get_ref();
    if guard.in_quotes {
        return Err(Error::Csv {
            path: path.to_path_buf(),
            line: guard.quote_opened_line,
            field: 0,
            problem: "a quote opened here is never closed: every later row would be read as one value".into(),
        });
    }
    if rows_in_chunk > 0 || chunks.is_empty() {
        chunks.push(Chunk { first_row, batch: flush(&mut builders)? });
    }
    Ok((columns, chunks))
}

/// Header fields as column names: UTF-8, trimmed, without a byte-order mark (Excel exports).
fn header_names(path: &Path, headers: &csv::ByteRecord) -> Result<Vec<String>> {
    let mut columns = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let text = std::str::from_utf8(h).map_err(|_| not_utf8(path, 1, i + 1))?;
        let text = if i == 0 { text.trim_start_matches('\u{feff}') } else { text };
        columns.push(text.trim().to_string());
    }
    Ok(columns)
}

fn not_utf8(path: &Path, line: u64, field: usize) -> Error {
    Error::Csv {
        path: path.to_path_buf(),
        line,
        field,
        problem: "not valid UTF-8; the file looks like a GBK/GB18030 export: convert it to UTF-8 or pass `--encoding gb18030`".into(),
    }
}

/// The column names of a table file: the Parquet schema or the CSV header.
pub fn column_names(file: &TableFile, encoding: Encoding) -> Result<Vec<String>> {
    match file.format {
        FileFormat::Parquet => {
            let meta = parquet_metadata(&file.path)?;
            Ok(meta.schema().fields().iter().map(|f| f.name().clone()).collect())
        }
        FileFormat::Csv { delimiter } => {
            // The header is the first record; reading it alone keeps this cheap for large files.
            let input = QuoteGuard::new(open_text(&file.path, encoding)?);
            let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).from_reader(input);
            let headers =
                reader.byte_headers().map_err(|e| Error::Csv { path: file.path.clone(), line: 1, field: 0, problem: format!("{e}") })?;
            header_names(&file.path, headers)
        }
    }
}

/// Rows in a table file without decoding it: Parquet metadata, or newlines for CSV.
pub fn count_rows(file: &TableFile) -> Result<u64> {
    let io = |source| Error::Io { path: file.path.clone(), source };
    match file.format {
        FileFormat::Parquet => {
            let meta = parquet_metadata(&file.path)?;
            Ok(meta.metadata().file_metadata().num_rows().max(0) as u64)
        }
        FileFormat::Csv { .. } => {
            let mut f = open_text(&file.path, Encoding::Utf8)?;
            let mut buf = vec![0u8; 1 << 20];
            let mut lines = 0u64;
            loop {
                let n = f.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            }
            Ok(lines.saturating_sub(1))
        }
    }
}
