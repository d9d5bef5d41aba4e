//! Finding a dataset's tables: one file per table, `NAME.parquet`, `NAME.csv` or `NAME.csv.gz`
//! (names match case-insensitively), in one folder. Files that are not tables (a README, a
//! `truth/` folder) are listed as ignored, so a summary can name them; a table name used twice or
//! given as a folder of part files is refused rather than half read.

use std::path::{Path, PathBuf};

use ekg_schema::contract::{TableKind, TABLES};

use crate::error::{Error, Result};

/// The physical format of a table file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Parquet,
    /// Delimited text with a header row.
    Csv {
        delimiter: u8,
    },
}

/// One table's file.
#[derive(Clone, Debug)]
pub struct TableFile {
    pub kind: TableKind,
    pub path: PathBuf,
    pub format: FileFormat,
    pub bytes: u64,
}

/// The tables found in a dataset folder, in load order.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub root: PathBuf,
    pub tables: Vec<TableFile>,
    /// Files present but not part of the contract.
    pub ignored: Vec<PathBuf>,
}

impl Dataset {
    /// Scans `root`. `firms` is required; every other table is optional.
    pub fn discover(root: &Path) -> Result<Dataset> {
        if !root.is_dir() {
            return Err(Error::Missing { name: "dataset".into(), path: root.to_path_buf() });
        }
        let io = |source| Error::Io { path: root.to_path_buf(), source };
        let mut ignored = Vec::new();
        let mut found: Vec<TableFile> = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for path in entries {
            let Some(name) = path.file_name().and_then(|s| s.to_str()) else {
                ignored.push(path);
                continue;
            };
            // Names match case-insensitively: `Transfers.parquet` is the transfers table.
            let lower = name.to_ascii_lowercase();
            let (stem, format) = if let Some(stem) = lower.strip_suffix(".parquet") {
                (stem, FileFormat::Parquet)
            } else if let Some(stem) = lower.strip_suffix(".csv").or_else(|| lower.strip_suffix(".csv.gz")) {
                (stem, FileFormat::Csv { delimiter: b',' })
            } else {
                ignored.push(path);
                continue;
            };
            let Some(kind) = TableKind::from_name(stem) else {
                ignored.push(path);
                continue;
            };
            if path.is_dir() {
                // A Spark-style folder of part files: reading one part would lose the others.
                return Err(Error::TableIsFolder { path, table: kind.spec().name.to_string() });
            }
            if let Some(other) = found.iter().find(|t| t.kind == kind) {
                return Err(Error::Ambiguous { first: other.path.clone(), second: path, table: kind.spec().name.to_string() });
            }
            let bytes = std::fs::metadata(&path).map_err(|source| Error::Io { path: path.clone(), source })?.len();
            found.push(TableFile { kind, path, format, bytes });
        }
        if !found.iter().any(|t| t.kind == TableKind::Firms) {
            return Err(Error::Missing { name: "firms".into(), path: root.join("firms.parquet") });
        }
        found.sort_by_key(|t| TABLES.iter().position(|s| s.kind == t.kind));
        Ok(Dataset { root: root.to_path_buf(), tables: found, ignored })
    }

    pub fn table(&self, kind: TableKind) -> Option<&TableFile> {
        self.tables.iter().find(|t| t.kind == kind)
    }
}
