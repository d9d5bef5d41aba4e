//! `ekg`: enterprise knowledge graph and graph-risk analytics. `main` only parses the command
//! line, runs the command and turns its result into an exit code (see `exit`).

mod cli;
mod commands;
mod exit;
mod generate;
mod input;
mod output;
mod progress;
mod pseudonym;
mod query;
mod score;
mod table;

use clap::Parser;

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    let args = cli::Cli::parse();
    let filter = if args.global.verbose { "info" } else { "warn" };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("EKG_LOG").unwrap_or_else(|_| filter.into()))
        .with_writer(std::io::stderr)
        .try_init();
    if let Some(threads) = args.global.threads {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    }
    match commands::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            let code = exit::code_for(&error);
            eprintln!("error: {}", exit::describe(&error));
            std::process::ExitCode::from(code)
        }
    }
}

/// `ekg show node X | head` must end quietly, as Unix tools do, not panic on a closed pipe: Rust
/// ignores SIGPIPE by default, so restore the default action (as ripgrep does).
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
