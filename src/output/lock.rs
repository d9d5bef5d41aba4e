//! One writer per output: `OUT.lock` beside the output, held with an advisory lock (`flock`) that
//! the kernel releases when the process ends, however it ends. A second run finds it held and stops
//! with exit 75 (temporary failure: retry later). The file holds the owner's pid for the message
//! only; a stale file left by a killed run is simply locked again. Removed on release.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::cleanup;
use crate::exit::{coded, CANT_CREATE, TEMPFAIL};

pub struct OutputLock {
    path: PathBuf,
    // Holds the lock; dropped (closed, unlocked) after the file is removed.
    _file: File,
}

impl OutputLock {
    /// Locks `out` (a file or folder yet to be written) through `OUT.lock` beside it.
    pub fn acquire(out: &Path) -> Result<OutputLock> {
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let path = parent.join(format!("{name}.lock"));
        // A finishing run removes its lock file while holding it; whoever locked that removed
        // file must try again on the new one, hence the loop and the identity check.
        for _ in 0..16 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| coded(CANT_CREATE, format!("cannot create the lock {}: {e}", path.display())))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let who = if holder.is_empty() { String::new() } else { format!(" (pid {holder})") };
                    return Err(coded(
                        TEMPFAIL,
                        format!(
                            "{} is being written by another ekg run{who}, lock {}; try again when it finishes",
                            out.display(),
                            path.display()
                        ),
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(coded(CANT_CREATE, format!("cannot lock {}: {e}", path.display())));
                }
            }
            if !same_file(&file, &path) {
                continue;
            }
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = writeln!(file, "{}", std::process::id());
            cleanup::register(&path);
            return Ok(OutputLock { path, _file: file });
        }
        Err(coded(TEMPFAIL, format!("cannot take the lock {}: other runs keep replacing it", path.display())))
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still held: a waiting run then fails the identity check and retries.
        let _ = std::fs::remove_file(&self.path);
        cleanup::unregister(&self.path);
    }
}
