//! Shared by the fuzz targets: a per-process scratch folder in /dev/shm (or the temp dir) that
//! each input is written into, because ekg's readers take paths, as the CLI does.

use std::path::PathBuf;

pub fn scratch(name: &str) -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let dir = base.join(format!("ekg-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Loads a contract dataset folder; any error is fine, a panic is the bug being hunted.
pub fn load(dir: &std::path::Path) {
    if let Ok(dataset) = ekg_loaders::Dataset::discover(dir) {
        let _ = ekg_loaders::load_dataset(&dataset, &ekg_loaders::LoadOptions::default());
    }
}
