//! `ekg`: enterprise knowledge graph and graph-risk analytics. `main` only parses the command
//! line, runs the command and turns its result into an exit code (see `exit`).

mod cases;
mod cli;
mod commands;
mod dictionary;
mod exit;
mod explain;
mod findings;
mod generate;
mod input;
mod memory;
mod output;
mod params;
mod pii;
mod progress;
mod query;
mod score;
mod serve;
mod table;
mod tables;
mod whitelist;

use clap::Parser;

/// Large arrays (id tables, CSRs, sort keys, per-node values) on transparent huge pages: fewer
/// TLB misses on random access and fewer page faults when they are first written.
#[global_allocator]
static ALLOCATOR: ekg_schema::memory::HugePageAlloc = ekg_schema::memory::HugePageAlloc;

fn main() -> std::process::ExitCode {
    ekg_schema::memory::tune_malloc();
    restore_sigpipe();
    let args = cli::Cli::parse();
    output::cleanup::install();
    pii::configure(args.global.reveal_pii, args.global.pii_key.clone());
    let filter = if args.global.verbose { "info" } else { "warn" };
    // Colour only on a terminal: a redirected log must not fill with escape codes.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("EKG_LOG").unwrap_or_else(|_| filter.into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    if let Some(threads) = args.global.threads {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    }
    // A panic anywhere (a rayon worker's is re-raised here) is a bug: report it as one, exit 70.
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        eprintln!("error: internal error (a bug in ekg, please report it): {message}{location}");
    }));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commands::run(args))) {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(error)) => {
            let code = exit::code_for(&error);
            eprintln!("error: {}", exit::describe(&error));
            std::process::ExitCode::from(code)
        }
        Err(_) => std::process::ExitCode::from(exit::INTERNAL),
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
