//! One module per subcommand; `run` dispatches.

pub mod build;
mod demo;
mod export;
mod generate;
mod info;
mod prospects;
mod run;
mod validate;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    let quiet = cli.global.quiet;
    let threads = cli.global.threads;
    match cli.command {
        Command::Generate(args) => generate::run(&args, quiet),
        Command::Validate(args) => validate::run(&args),
        Command::Build(args) => build::run(&args, quiet),
        Command::Info(args) => info::run(&args),
        Command::Demo(args) => demo::run(&args, quiet),
        Command::Run(args) => run::run(&args, quiet),
        Command::Score(args) if args.processes.is_some() || args.hosts.is_some() => crate::score::distributed::run(&args, threads, quiet),
        Command::Score(args) => crate::score::run(&args, quiet),
        Command::Show(args) => crate::query::show::run(&args),
        Command::Path(args) => crate::query::path::run(&args),
        Command::Neighborhood(args) => crate::query::neighborhood::run(&args),
        Command::Prospects(args) => prospects::run(&args, quiet),
        Command::Serve(args) => crate::serve::run(&args, quiet),
        Command::Export(args) => export::run(&args, quiet),
    }
}
