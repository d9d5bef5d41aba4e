//! Errors of the loaders. Each names the file; data problems also name the row and column.

use std::path::PathBuf;

use crate::problems::ProblemLog;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required input (dataset folder or table) does not exist.
    #[error("input '{name}' not found: {path}")]
    Missing { name: String, path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file is not Parquet at all, or its framing is broken.
    #[error("{path}: not valid Parquet ({problem})")]
    NotParquet { path: PathBuf, problem: String },
    /// The Parquet reader rejected the file's internals.
    #[error("{path}: row group {row_group}: corrupt Parquet: {problem}")]
    CorruptParquet { path: PathBuf, row_group: usize, problem: String },
    /// CSV syntax: ragged rows, bad quoting, bad encoding.
    #[error("{path}: line {line}, field {field}: {problem}")]
    Csv { path: PathBuf, line: u64, field: usize, problem: String },
    /// A column's physical type cannot represent the contract's logical type.
    #[error("{path}: column '{column}' expected {expected}, found {found}")]
    ColumnType { path: PathBuf, column: String, expected: String, found: String },
    #[error("{path}: required column '{column}' is missing")]
    MissingColumn { path: PathBuf, column: String },
    #[error("{path}: required table '{table}' has no rows")]
    EmptyTable { path: PathBuf, table: String },
    #[error("table '{table}' given twice: {first} and {second}; keep one")]
    Ambiguous { first: PathBuf, second: PathBuf, table: String },
    /// A table given as a folder (Spark writes `NAME.parquet/part-*.parquet`).
    #[error("{path}: table '{table}' is a folder (of part files?); ekg reads one file per table: merge the parts into one file")]
    TableIsFolder { path: PathBuf, table: String },
    /// Two columns of one file have the same name, or differ only in case.
    #[error("{path}: columns '{first}' and '{second}' have the same name (up to case); rename one")]
    DuplicateColumn { path: PathBuf, first: String, second: String },
    /// A column that matches a contract column only when case is ignored.
    #[error("{path}: column '{found}' differs from the contract's '{expected}' only in case; rename it to '{expected}'")]
    ColumnCase { path: PathBuf, found: String, expected: String },
    /// Row-level problems under `--on-error fail`.
    #[error("{}", .0.summary())]
    Invalid(Box<ProblemLog>),
    /// A reader panicked on this file (a bug in a dependency or in ekg, caught).
    #[error("{path}: internal error while reading: {message}")]
    Internal { path: PathBuf, message: String },
    #[error(transparent)]
    Graph(#[from] ekg_schema::Error),
}

impl Error {
    /// Whether the error is about the input data (sysexits 65) rather than I/O or a missing file.
    pub fn is_bad_data(&self) -> bool {
        matches!(
            self,
            Error::NotParquet { .. }
                | Error::CorruptParquet { .. }
                | Error::Csv { .. }
                | Error::ColumnType { .. }
                | Error::MissingColumn { .. }
                | Error::EmptyTable { .. }
                | Error::Ambiguous { .. }
                | Error::TableIsFolder { .. }
                | Error::DuplicateColumn { .. }
                | Error::ColumnCase { .. }
                | Error::Invalid(_)
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
