//! Finding a dataset's tables: one file per table, `NAME.parquet` or `NAME.csv`, in one folder.
//! Files that are not tables (a README, a `truth/` folder) are ignored.

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
            let (Some(stem), Some(ext)) = (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|s| s.to_str())) else {
                ignored.push(path);
                continue;
            };
            let format = match ext.to_ascii_lowercase().as_str() {
                "parquet" => FileFormat::Parquet,
                "csv" => FileFormat::Csv { delimiter: b',' },
                _ => {
                    ignored.push(path);
                    continue;
                }
            };
            let Some(kind) = TableKind::from_name(stem) else {
                ignored.push(path);
                continue;
            };
            if path.is_dir() {
                ignored.push(path);
                continue;
            }
            if found.iter().any(|t| t.kind == kind) {
                return Err(Error::Ambiguous { path: root.to_path_buf(), table: stem.to_string() });
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
