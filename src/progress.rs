//! Progress on stderr: one spinner per phase, only when stderr is a terminal and not `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Phase {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Phase {
    pub fn start(quiet: bool, message: &str) -> Phase {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").unwrap_or_else(|_| ProgressStyle::default_spinner()));
            bar.set_message(message.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        tracing::info!("{message}");
        Phase { bar, started: Instant::now() }
    }

    /// Ends the phase; returns its duration.
    pub fn finish(self) -> Duration {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        self.started.elapsed()
    }
}
