//! `hwdc`: ship drivers through the Microsoft Hardware Dev Center.

mod cli;
mod commands;
mod config;
mod exit;
mod output;
mod progress;
mod rows;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, OutputFormat};
use commands::Ctx;
use exit::Failure;
use output::Output;

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn run(ctx: &Ctx, command: Command) -> Result<(), Failure> {
    match command {
        Command::Products(c) => commands::products::run(ctx, c).await,
        Command::Submissions(c) => commands::submissions::run(ctx, c).await,
        Command::Upload(c) => commands::transfer::run_upload(ctx, c).await,
        Command::Download(c) => commands::transfer::run_download(ctx, c).await,
        Command::Labels(c) => commands::labels::run(ctx, c).await,
        Command::Audiences(c) => commands::labels::audiences(ctx, c).await,
        Command::Submit(c) => commands::submit::run(ctx, c).await,
        Command::Demo(c) => commands::demo::run(ctx, c).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose, cli.global.quiet);
    let progress = cli.global.output == OutputFormat::Table
        && !cli.global.no_progress
        && !cli.global.quiet
        && std::io::stderr().is_terminal();
    let ctx = Ctx {
        out: Output {
            format: cli.global.output,
            progress,
        },
        global: cli.global,
    };
    let outcome = tokio::select! {
        outcome = run(&ctx, cli.command) => outcome,
        _ = tokio::signal::ctrl_c() => Err(Failure::Interrupted),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            ctx.out.error(&failure);
            ExitCode::from(failure.code())
        }
    }
}
