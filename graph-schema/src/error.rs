//! Errors of the schema crate: building a graph and reading or writing snapshots.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{0}")]
    Build(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an ekg snapshot (bad magic bytes)")]
    NotSnapshot { path: PathBuf },
    #[error("{path}: snapshot format version {found}, this ekg reads version {expected}; rebuild it with `ekg build`")]
    SnapshotVersion { path: PathBuf, found: u32, expected: u32 },
    #[error("{path}: corrupt snapshot: {problem}")]
    CorruptSnapshot { path: PathBuf, problem: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
