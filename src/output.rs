//! Writing outputs safely: Parquet tables and whole output folders appear under their final names
//! only when complete (staged in a sibling folder, fsynced, renamed into place), so a reader — or
//! the next nightly run — never sees a half-written table.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use arrow_schema::Schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Streams record batches into one Parquet file.
pub struct ParquetSink {
    writer: ArrowWriter<File>,
    path: PathBuf,
}

impl ParquetSink {
    pub fn create(path: &Path, schema: Arc<Schema>) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(1 << 20))
            .set_created_by(format!("ekg {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(file, schema, Some(props)).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(ParquetSink { writer, path: path.to_path_buf() })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Finishes the footer and fsyncs the file.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let file = self.writer.into_inner().with_context(|| format!("cannot finish {}", path.display()))?;
        file.sync_all().with_context(|| format!("cannot sync {}", path.display()))
    }
}

/// Writes one batch as a complete Parquet file.
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    let mut sink = ParquetSink::create(path, batch.schema())?;
    sink.write(batch)?;
    sink.finish()
}

/// An output folder built in a staging folder beside its final place.
pub struct StagedDir {
    staging: PathBuf,
    target: PathBuf,
}

impl StagedDir {
    /// Starts staging `target`. Stale staging folders of killed runs are swept first.
    pub fn new(target: &Path) -> Result<Self> {
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        sweep_stale(parent, &name);
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
        Ok(StagedDir { staging, target: target.to_path_buf() })
    }

    /// Where to write files now.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Moves the staged folder into place: the previous folder is renamed aside, the new one
    /// renamed in, the old one removed. A crash between the renames leaves both complete folders.
    pub fn commit(self) -> Result<PathBuf> {
        sync_dir(&self.staging);
        let old = self.staging.with_extension("old");
        if self.target.exists() {
            std::fs::rename(&self.target, &old).with_context(|| format!("cannot move aside {}", self.target.display()))?;
        }
        std::fs::rename(&self.staging, &self.target).with_context(|| format!("cannot move {} into place", self.target.display()))?;
        if let Some(parent) = self.target.parent() {
            sync_dir(parent);
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(self.target.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        // Not committed (an error unwound): leave nothing half-written behind.
        if self.staging.exists() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes staging folders left by killed runs for the same target (whose process is gone).
fn sweep_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}.staging-");
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else { continue };
        let pid: Option<u32> = rest.split('.').next().and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
