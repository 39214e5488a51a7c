//! `hwdc`: ship drivers through the Microsoft Hardware Dev Center.

mod ci_findings;
mod cli;
mod commands;
mod config;
mod exit;
mod output;
mod progress;
mod results;
mod rows;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, OutputFormat};
use commands::Ctx;
use exit::{Failure, Outcome};
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
        Command::Preprod(c) => commands::preprod::run(ctx, c).await,
        Command::Submit(c) => commands::submit::run(ctx, c).await,
        Command::Batch(c) => commands::batch::run(ctx, c).await,
        Command::Demo(c) => commands::demo::run(ctx, c).await,
        Command::Check(c) => commands::check::run(ctx, c).await,
        Command::Verify(c) => commands::verify::run(ctx, c).await,
        Command::Package(c) => commands::package::run(ctx, c).await,
        Command::Config(c) => commands::settings::run(ctx, c).await,
        Command::Completions { shell } => {
            // Rendered in memory: clap_complete panics when its writer fails (a closed pipe).
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "hwdc", &mut script);
            output::emit(&String::from_utf8_lossy(&script));
            Ok(())
        }
        Command::Doctor => commands::doctor::run(ctx).await,
        Command::OsCodes(c) => commands::os_codes::run(ctx, c).await,
        Command::Schema { name } => commands::schema::run(ctx, name).await,
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| Failure::Local {
                    kind: hw_api::ErrorKind::LocalIo,
                    message: format!("cannot render the man page: {e}"),
                })?;
            output::emit(&String::from_utf8_lossy(&page));
            Ok(())
        }
    }
}

/// The parsed command line; a usage error is reported (as JSON when `--output json` was asked
/// for) and ends the process with code 2.
fn parse() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            let args: Vec<String> = std::env::args().collect();
            let json = args
                .windows(2)
                .any(|w| w[0] == "--output" && w[1] == "json")
                || args.iter().any(|a| a == "--output=json");
            if json {
                let message = e.kind().to_string();
                let detail = e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_owned();
                let value = exit::ErrorEnvelope {
                    error: exit::ErrorObject {
                        schema_version: exit::SCHEMA_VERSION,
                        kind: hw_api::ErrorKind::Config.as_str().to_owned(),
                        name: "usage".into(),
                        message: detail,
                        exit_code: exit::Outcome::Usage.code(),
                        status: None,
                        code: None,
                        activity_id: None,
                        request_id: None,
                        candidates: Vec::new(),
                        detail: Some(message),
                    },
                };
                eprintln!("{}", serde_json::to_string(&value).unwrap_or_default());
            } else {
                let _ = e.print();
            }
            Err(ExitCode::from(2))
        }
    }
}

/// Keeps the `cab` crate's panics off standard error: it panics on some malformed cabinets,
/// which `hw_package::cabinet` catches and reports as a typed error, so their message is only noise.
/// Every other panic is shown as usual.
fn quiet_cab_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let from_cab = info.location().is_some_and(|l| {
            let file = l.file();
            file.contains("/cab-") || file.contains("\\cab-")
        });
        if !from_cab {
            default(info);
        }
    }));
}

/// The trace `--record` asks for, created afresh.
fn start_recording(global: &cli::Global) -> Result<Option<hw_api::Recorder>, Failure> {
    let Some(path) = &global.record else {
        return Ok(None);
    };
    let options = hw_api::RecordOptions::default()
        .with_anonymize(global.record_anonymize)
        .with_tool(concat!("hwdc ", env!("CARGO_PKG_VERSION")));
    hw_api::Recorder::create(path, options)
        .map(Some)
        .map_err(|e| Failure::Local {
            kind: hw_api::ErrorKind::LocalIo,
            message: format!("cannot write the trace {}: {e}", path.display()),
        })
}

/// Says where the trace is, or that it is incomplete.
fn finish_recording(ctx: &Ctx) {
    let (Some(recorder), Some(path)) = (&ctx.recorder, &ctx.global.record) else {
        return;
    };
    match recorder.finish() {
        Ok(()) => ctx.say(&format!(
            "the trace is in {}: plain JSON lines without secrets; read it before you share it",
            path.display()
        )),
        Err(e) => eprintln!("warning: the trace {} is incomplete: {e}", path.display()),
    }
}

/// Resolves when the person (or the CI runner) interrupts: Ctrl-C, and on Windows also
/// Ctrl-Break, which is what reaches a process started in a group of its own. A handler that
/// cannot be installed never resolves: it must not read as an interruption.
async fn interrupted() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(windows)]
    {
        let ctrl_break = async {
            match tokio::signal::windows::ctrl_break() {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = ctrl_break => {}
        }
    }
    #[cfg(not(windows))]
    ctrl_c.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    quiet_cab_panics();
    let mut cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    commands::os_codes::expand_command(&mut cli.command, cli.global.quiet);
    let findings_only = !matches!(cli.command, Command::Check(_) | Command::Package(_));
    if cli.global.output.is_for_findings() && findings_only {
        let format = clap::ValueEnum::to_possible_value(&cli.global.output)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default();
        eprintln!("error: --output {format} prints findings: it is for `check` and `package`");
        return ExitCode::from(Outcome::Usage.code());
    }
    init_logging(cli.global.verbose, cli.global.quiet);
    let progress = cli.global.output == OutputFormat::Table
        && !cli.global.no_progress
        && !cli.global.quiet
        && std::io::stderr().is_terminal();
    let out = Output {
        format: cli.global.output,
        progress,
    };
    let recorder = match start_recording(&cli.global) {
        Ok(recorder) => recorder,
        Err(failure) => {
            out.error(&failure);
            return ExitCode::from(failure.code());
        }
    };
    let ctx = Ctx {
        out,
        global: cli.global,
        recorder,
    };
    let outcome = tokio::select! {
        outcome = run(&ctx, cli.command) => outcome,
        () = interrupted() => Err(Failure::Interrupted),
    };
    finish_recording(&ctx);
    if matches!(outcome, Err(Failure::Interrupted)) {
        output::close_open_list();
    }
    let outcome = match outcome {
        Ok(()) if output::write_failed() => Err(Failure::Local {
            kind: hw_api::ErrorKind::LocalIo,
            message: "the result could not be written to standard output".into(),
        }),
        other => other,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The result on standard output says where the flow stopped.
        Err(Failure::Pending) => ExitCode::from(Outcome::Pending.code()),
        Err(failure) => {
            ctx.out.error(&failure);
            ExitCode::from(failure.code())
        }
    }
}
