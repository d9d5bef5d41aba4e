//! One writer per output root: `OUT.lock` beside the output folder, created exclusively with the
//! owner's pid. A second run finds it and stops with exit 75 (temporary failure: retry later); a
//! lock left by a killed run (its pid gone) is taken over. Released on drop.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::exit::{coded, TEMPFAIL};

pub struct OutputLock {
    path: PathBuf,
}

impl OutputLock {
    pub fn acquire(out: &Path) -> Result<OutputLock> {
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        let path = parent.join(format!("{name}.lock"));
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    let _ = file.sync_all();
                    return Ok(OutputLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder: Option<u32> = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse().ok());
                    let alive = holder.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    if alive {
                        return Err(coded(
                            TEMPFAIL,
                            format!(
                                "{} is being written by another ekg run (pid {}, lock {}); try again when it finishes",
                                out.display(),
                                holder.unwrap_or(0),
                                path.display()
                            ),
                        ));
                    }
                    // A killed run's lock: take it over.
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(e).with_context(|| format!("cannot create lock {}", path.display())),
            }
        }
        Err(coded(TEMPFAIL, format!("cannot take the lock {}", path.display())))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
