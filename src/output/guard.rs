//! What ekg may replace. An output path that already exists is replaced only if ekg wrote it: a
//! score folder with ekg's manifest, a generated dataset with ekg's marker, a snapshot with ekg's
//! magic, a Parquet table ekg created, an export with ekg's signature, or an empty folder.
//! Anything else is refused with exit 73, naming the first foreign file, unless `--force`: an
//! operator who points `--out` at the wrong folder must not lose it.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::exit::{coded, CANT_CREATE};

/// The marker file `ekg generate` leaves in a dataset folder it writes.
pub const DATASET_MARKER: &str = ".ekg-dataset";
/// The marker file `ekg export` leaves in the folder it writes.
pub const EXPORT_MARKER: &str = ".ekg-export";

/// What kind of output a path is about to receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// `ekg score --out`: a folder with `manifest.json`.
    ScoreDir,
    /// `ekg generate --out`: a dataset folder with [`DATASET_MARKER`].
    DatasetDir,
    /// `ekg build --out`: a snapshot file.
    Snapshot,
    /// A Parquet table (`ekg run`, `ekg prospects`).
    Parquet,
    /// `ekg neighborhood --out`: GraphML, GEXF, JSON or DOT.
    Export,
    /// `ekg export --out`: a graph-database load folder with [`EXPORT_MARKER`].
    GraphDbDir,
    /// `rejects.csv` beside a snapshot.
    Rejects,
    /// `ekg run --out`: a folder that receives tables beside others; never replaced whole, each
    /// table checked on its own.
    TableDir,
}

impl OutputKind {
    fn is_dir(self) -> bool {
        matches!(self, OutputKind::ScoreDir | OutputKind::DatasetDir | OutputKind::GraphDbDir)
    }

    fn describe(self) -> &'static str {
        match self {
            OutputKind::ScoreDir => "an ekg score folder",
            OutputKind::DatasetDir => "a dataset folder written by ekg generate",
            OutputKind::Snapshot => "an ekg snapshot",
            OutputKind::Parquet => "a Parquet table written by ekg",
            OutputKind::Export => "a graph export written by ekg",
            OutputKind::Rejects => "a rejects list written by ekg",
            OutputKind::GraphDbDir => "a graph-database export written by ekg export",
            OutputKind::TableDir => "a folder",
        }
    }
}

/// Refuses to replace `target` unless it is absent, an empty folder (for folder outputs), or
/// something ekg wrote of the same kind; `force` skips the ownership check, never the type check.
pub fn check_replaceable(target: &Path, kind: OutputKind, force: bool) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(target) else { return Ok(()) };
    let refuse = |why: String| {
        coded(
            CANT_CREATE,
            format!("refusing to replace {}: {why}; it is not {} (--force replaces it anyway)", target.display(), kind.describe()),
        )
    };
    if kind == OutputKind::TableDir {
        if !meta.is_dir() {
            return Err(coded(CANT_CREATE, format!("{} is a file, not a folder: choose another --out", target.display())));
        }
        return Ok(());
    }
    if kind.is_dir() {
        if !meta.is_dir() {
            return Err(coded(CANT_CREATE, format!("{} is a file, not a folder: choose another --out", target.display())));
        }
        if force {
            return Ok(());
        }
        let entries = list(target)?;
        if entries.is_empty() {
            return Ok(());
        }
        let ours = match kind {
            OutputKind::ScoreDir => is_score_manifest(&target.join("manifest.json")),
            OutputKind::GraphDbDir => target.join(EXPORT_MARKER).is_file(),
            _ => target.join(DATASET_MARKER).is_file(),
        };
        if !ours {
            return Err(refuse(format!("it holds {}, and ekg did not write this folder", super::file_name(&entries[0]))));
        }
        if let Some(foreign) = entries.iter().find(|e| !belongs_in(kind, e)) {
            return Err(refuse(format!("it holds {}, which ekg did not write", super::file_name(foreign))));
        }
        return Ok(());
    }
    if meta.is_dir() {
        return Err(coded(CANT_CREATE, format!("{} is a folder, not a file: choose another --out", target.display())));
    }
    if force {
        return Ok(());
    }
    let ours = match kind {
        OutputKind::Snapshot => ekg_schema::snapshot::is_snapshot(target),
        OutputKind::Parquet => is_ekg_parquet(target),
        OutputKind::Export => head_contains(target, &["written by ekg", "<creator>ekg</creator>", "\"generator\":\"ekg\""]),
        OutputKind::Rejects => head_contains(target, &["table,file,row,column,rule,reason"]),
        OutputKind::ScoreDir | OutputKind::DatasetDir | OutputKind::TableDir | OutputKind::GraphDbDir => false,
    };
    if ours {
        Ok(())
    } else {
        Err(refuse("ekg did not write this file".into()))
    }
}

fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| coded(CANT_CREATE, format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    Ok(entries)
}

/// Whether an entry of an ekg-written folder is one ekg puts there.
fn belongs_in(kind: OutputKind, entry: &Path) -> bool {
    let file_name = super::file_name(entry);
    let is_file = entry.is_file();
    match kind {
        OutputKind::ScoreDir => is_file && (file_name.ends_with(".parquet") || file_name.ends_with(".md") || file_name == "manifest.json"),
        OutputKind::DatasetDir => {
            (is_file && (file_name.ends_with(".parquet") || file_name == "README.md" || file_name == DATASET_MARKER))
                || (entry.is_dir() && file_name == "truth")
        }
        OutputKind::GraphDbDir => {
            is_file && [".csv", ".parquet", ".cypher", ".sh"].iter().any(|ext| file_name.ends_with(ext)) || file_name == EXPORT_MARKER
        }
        _ => false,
    }
}

fn is_score_manifest(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("ekg_version").is_some() && v.get("outputs").is_some())
}

fn is_ekg_parquet(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else { return false };
    // A hostile footer may panic the reader; such a file is simply not ours.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        parquet::file::reader::SerializedFileReader::new(file).ok().is_some_and(|r| {
            use parquet::file::reader::FileReader;
            r.metadata().file_metadata().created_by().is_some_and(|c| c.starts_with("ekg "))
        })
    }))
    .unwrap_or(false)
}

fn head_contains(path: &Path, signatures: &[&str]) -> bool {
    let mut head = Vec::with_capacity(4096);
    let Ok(file) = std::fs::File::open(path) else { return false };
    if file.take(4096).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    signatures.iter().any(|s| text.contains(s))
}
