//! `hw-bench`: the measured programs of `cargo xtask bench`, the soak and the long fuzz run.

#[global_allocator]
static ALLOCATOR: hw_bench::alloc::Counting = hw_bench::alloc::Counting;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use hw_bench::{chaos, clients, fleet, fuzz, soak};

#[derive(Parser)]
#[command(about = "Benchmarks, soak and fuzzing of hw-api (run through cargo xtask)")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// P1: list every product through hw-api's pager (or `--floor`: a bare reqwest loop).
    List {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        floor: bool,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Create a product and submission; print the upload URL.
    Prepare {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token: String,
    },
    /// P2: upload a file to a SAS URL through hw-api.
    Upload {
        #[arg(long)]
        sas: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// P3: download a SAS URL through hw-api.
    Download {
        #[arg(long)]
        sas: String,
        #[arg(long)]
        out: PathBuf,
        /// Skip the MD5 check.
        #[arg(long)]
        no_verify: bool,
    },
    /// P4: the details of every submission of a product, with bounded concurrency.
    Fanout {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token: String,
        /// The product (by default, the first one listed).
        #[arg(long)]
        product: Option<u64>,
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
        concurrency: u16,
    },
    /// P9: `entries` small submit flows on one client, `concurrency` at once, with the adaptive
    /// rate or (`--unpaced`) without it.
    Fleet {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 200)]
        entries: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long)]
        unpaced: bool,
        /// Where the packages, journals and signed packages go (made afresh).
        #[arg(long)]
        work: PathBuf,
    },
    /// The fault soak; with `--kill`, the chaos soak of the `hwdc` binary beside this one.
    Soak {
        /// How many flows (default 200), or with `--kill` how many runs (default 100).
        #[arg(long)]
        flows: Option<usize>,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run `hwdc submit` processes and kill them at random moments (`--flows` runs, two
        /// per product).
        #[arg(long)]
        kill: bool,
    },
    /// A long fuzz run.
    Fuzz {
        #[arg(long, default_value_t = 300)]
        seconds: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let printed = match args.command {
        Command::List {
            base,
            token,
            floor: false,
            limit,
        } => clients::list_hw_api(&base, &token, limit)
            .await
            .map(|m| json(&m)),
        Command::List {
            base,
            token,
            floor: true,
            ..
        } => clients::list_floor(&base, &token).await.map(|m| json(&m)),
        Command::Prepare { base, token } => clients::prepare(&base, &token).await,
        Command::Upload { sas, file } => clients::upload(&sas, &file).await.map(|m| json(&m)),
        Command::Download {
            sas,
            out,
            no_verify,
        } => clients::download(&sas, &out, !no_verify)
            .await
            .map(|m| json(&m)),
        Command::Fanout {
            base,
            token,
            product,
            concurrency,
        } => clients::fanout(&base, &token, product, usize::from(concurrency))
            .await
            .map(|m| json(&m)),
        Command::Fleet {
            base,
            token,
            entries,
            concurrency,
            unpaced,
            work,
        } => fleet::run(&base, &token, entries, concurrency, !unpaced, &work)
            .await
            .map(|m| serde_json::to_string(&m).unwrap_or_default()),
        Command::Soak {
            flows,
            concurrency,
            seed,
            kill: true,
        } => {
            let scratch = std::env::temp_dir().join(format!("hw-chaos-{}", std::process::id()));
            let hwdc = std::env::current_exe()
                .map(|exe| exe.with_file_name(format!("hwdc{}", std::env::consts::EXE_SUFFIX)));
            match hwdc {
                Ok(hwdc) => match chaos::run(
                    flows.unwrap_or(100).div_ceil(2),
                    concurrency,
                    seed,
                    hwdc,
                    scratch,
                )
                .await
                {
                    Ok(report) => {
                        println!("{}", report.table());
                        if report.passed() {
                            Ok(String::from("chaos soak passed"))
                        } else {
                            Err("chaos soak failed".into())
                        }
                    }
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            }
        }
        Command::Soak {
            flows,
            concurrency,
            seed,
            kill: false,
        } => {
            let scratch = std::env::temp_dir().join(format!("hw-soak-{}", std::process::id()));
            match soak::run(flows.unwrap_or(200), concurrency, seed, scratch).await {
                Ok(report) => {
                    println!("{}", report.table());
                    if report.passed() {
                        Ok(String::from("soak passed"))
                    } else {
                        Err("soak failed".into())
                    }
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Command::Fuzz { seconds, seed } => match fuzz::run(Duration::from_secs(seconds), seed) {
            Ok(report) => Ok(format!("no findings in {seconds} s: {:?}", report.runs)),
            Err(finding) => Err(finding.to_string()),
        },
    };
    match printed {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hw-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn json(m: &clients::Measured) -> String {
    serde_json::to_string(m).unwrap_or_default()
}
