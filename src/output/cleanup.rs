//! What a run leaves behind when it is stopped: SIGTERM, SIGINT and SIGHUP remove the run's
//! staging folders, temporary files and output locks, then end the process (exit 128 + signal),
//! so an operator's `kill` leaves the previous outputs as they were and nothing of the stopped run.
//! A SIGKILL cannot be caught: the next run sweeps what it left (see `Target::claim`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Paths to remove if the process is stopped by a signal.
static REGISTRY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub fn register(path: &Path) {
    if let Ok(mut paths) = REGISTRY.lock() {
        paths.push(path.to_path_buf());
    }
}

pub fn unregister(path: &Path) {
    if let Ok(mut paths) = REGISTRY.lock() {
        if let Some(i) = paths.iter().rposition(|p| p == path) {
            paths.swap_remove(i);
        }
    }
}

/// Runs `f` (renames that move outputs into place) with the registry held, so a signal's cleanup
/// waits until the outputs are whole again rather than removing a folder half way through.
pub fn critical<T>(f: impl FnOnce() -> T) -> T {
    let _held = REGISTRY.lock();
    f()
}

/// Starts the thread that cleans up and exits on SIGTERM, SIGINT and SIGHUP.
pub fn install() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) else { return };
    let _ = std::thread::Builder::new().name("ekg-signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let paths = match REGISTRY.lock() {
                Ok(paths) => paths,
                Err(poisoned) => poisoned.into_inner(),
            };
            for path in paths.iter() {
                remove(path);
            }
            eprintln!("ekg: stopped by signal {signal}; nothing was written");
            std::process::exit(128 + signal);
        }
    });
}

fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}
