//! The command line: global options and commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hw_package::driver_check::Mode;

/// Ship drivers through the Microsoft Hardware Dev Center.
///
/// Signing in (--auth, default auto): a client secret (HW_CLIENT_SECRET, a file given with
/// --client-secret-file, or the profile), a certificate (--client-certificate), a federated
/// token file, GitHub Actions or Azure Pipelines OIDC, a managed identity, or the Azure CLI.
/// The Azure SDK's variables (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
/// AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE, …) are read too. Settings come
/// from flags, then the environment, then the profile file, then defaults.
#[derive(Parser, Debug)]
#[command(name = "hwdc", version, about, after_help = crate::exit::Outcome::help())]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command.
#[derive(Args, Debug, Clone)]
pub(crate) struct Global {
    /// The API base URL, up to and including `/my`.
    #[arg(long, global = true, env = "HW_API_BASE_URL")]
    pub base_url: Option<String>,
    /// The Entra authority host (a sovereign cloud, or a simulator).
    #[arg(long, global = true, env = "HW_AUTHORITY_HOST")]
    pub authority_host: Option<String>,
    /// The Entra tenant id.
    #[arg(long, global = true, env = "HW_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// The Entra application (client) id.
    #[arg(long, global = true, env = "HW_CLIENT_ID")]
    pub client_id: Option<String>,
    /// A file holding the client secret (the secret itself is read only from HW_CLIENT_SECRET).
    #[arg(long, global = true, env = "HW_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// The Entra token endpoint version.
    #[arg(long, global = true, value_enum)]
    pub token_endpoint: Option<TokenEndpoint>,
    /// How to sign in (default auto: the first configured of secret, certificate, federated,
    /// github, azure-pipelines, managed-identity, azure-cli).
    #[arg(long, global = true, value_enum, env = "HW_AUTH")]
    pub auth: Option<AuthKind>,
    /// The app registration's certificate: a PEM file (certificate and private key) or a
    /// PFX/PKCS#12 file (also AZURE_CLIENT_CERTIFICATE_PATH).
    #[arg(long, global = true, value_name = "FILE")]
    #[arg(env = "HW_CLIENT_CERTIFICATE_PATH")]
    pub client_certificate: Option<PathBuf>,
    /// A file holding the PFX file's password (the password itself is read only from
    /// AZURE_CLIENT_CERTIFICATE_PASSWORD).
    #[arg(long, global = true, value_name = "FILE")]
    #[arg(env = "HW_CLIENT_CERTIFICATE_PASSWORD_FILE")]
    pub client_certificate_password_file: Option<PathBuf>,
    /// A federated token file, read afresh at every sign-in (also AZURE_FEDERATED_TOKEN_FILE).
    #[arg(long, global = true, value_name = "FILE")]
    #[arg(env = "HW_FEDERATED_TOKEN_FILE")]
    pub federated_token_file: Option<PathBuf>,
    /// The Azure Pipelines service connection to federate with (also
    /// AZURESUBSCRIPTION_SERVICE_CONNECTION_ID).
    #[arg(long, global = true, value_name = "ID")]
    #[arg(env = "HW_SERVICE_CONNECTION_ID")]
    pub service_connection_id: Option<String>,
    /// A user-assigned managed identity's own client id, for --auth managed-identity (not the
    /// app registration's --client-id; without it, the system-assigned identity).
    #[arg(long, global = true, value_name = "ID")]
    #[arg(env = "HW_MANAGED_IDENTITY_CLIENT_ID")]
    pub managed_identity_client_id: Option<String>,
    /// The profile of the configuration file to use.
    #[arg(long, global = true, env = "HWDC_PROFILE")]
    pub profile: Option<String>,
    /// The configuration file (default: config.toml in HWDC_CONFIG_DIR, else in hwdc's folder
    /// of the platform's configuration directory).
    #[arg(long, global = true, env = "HWDC_CONFIG")]
    pub config: Option<PathBuf>,
    /// How results are written to standard output.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// More log output on standard error (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on standard error.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// The most attempts per request (1 turns retries off).
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,
    /// The block size of uploads, in MiB (default 4; raised when a file would need more than
    /// 50,000 blocks), and of download ranges up to 4 MiB. Smaller blocks suit slow uplinks.
    #[arg(long, global = true, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4000))]
    pub block_size: Option<u64>,
    /// How many blocks of an upload are sent, or ranges of a download fetched, at once
    /// (default 4).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: Option<u16>,
    /// Seconds a transfer request may go without progress (the wait for its answer included)
    /// before it is tried again (default 60; there is no total time limit, so a slow link takes
    /// as long as it takes).
    #[arg(long, global = true, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub stall_timeout: Option<u64>,
    /// Write a trace of every exchange with the service (API, sign-in, blob storage) to FILE,
    /// one JSON line each, secrets removed as it is written: to attach to a report of a
    /// difference from the real service (`hw-sim --replay FILE` serves it again).
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// With --record: also replace ids (consistently, so that relations survive) and names.
    #[arg(long, global = true, requires = "record")]
    pub record_anonymize: bool,
}

/// A number of seconds from 0.01 to 3600.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if (0.01..=3600.0).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0.01 to 3600"
        )),
    }
}

/// A CHID, in the form labels carry it.
fn chid(text: &str) -> Result<String, String> {
    hw_api::targeting::parse_chid(text).map_err(|e| e.0)
}

/// The Entra token endpoint versions.
#[derive(
    ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TokenEndpoint {
    /// `/oauth2/v2.0/token` with a scope.
    V2,
    /// `/oauth2/token` with a resource.
    V1,
}

/// How to sign in.
#[derive(
    ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AuthKind {
    /// The first configured, in the order below.
    Auto,
    /// The client secret.
    Secret,
    /// The app registration's certificate, signing a client assertion.
    Certificate,
    /// A federated token file (workload identity federation).
    Federated,
    /// GitHub Actions OIDC (a job with `permissions: id-token: write`).
    Github,
    /// Azure Pipelines OIDC (a service connection with workload identity federation).
    AzurePipelines,
    /// An Azure managed identity (App Service and the like, or a VM).
    ManagedIdentity,
    /// The Azure CLI (`az login`), for a developer's own machine.
    AzureCli,
    /// The app registration, proven by a managed identity it trusts (a federated credential of
    /// the app): Azure-hosted machines without a secret. Never chosen by auto.
    ManagedIdentityFederation,
}

impl AuthKind {
    /// The library's name for it.
    pub(crate) fn kind(self) -> hw_api::auth::CredentialKind {
        use hw_api::auth::CredentialKind as K;
        match self {
            AuthKind::Auto => K::Auto,
            AuthKind::Secret => K::Secret,
            AuthKind::Certificate => K::Certificate,
            AuthKind::Federated => K::Federated,
            AuthKind::Github => K::GitHub,
            AuthKind::AzurePipelines => K::AzurePipelines,
            AuthKind::ManagedIdentity => K::ManagedIdentity,
            AuthKind::AzureCli => K::AzureCli,
            AuthKind::ManagedIdentityFederation => K::ManagedIdentityFederation,
        }
    }
}

/// Output formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// Columns for a person.
    Table,
    /// JSON on standard output (lists as one array, written as items arrive).
    Json,
    /// A SARIF 2.1.0 log of the findings (`check`, `package`), for GitHub code scanning and
    /// Azure DevOps.
    Sarif,
    /// GitHub Actions annotations of the findings (`check`, `package`): `::error file=…`; with
    /// GITHUB_STEP_SUMMARY set, a Markdown summary is added to that file.
    Github,
    /// Azure Pipelines issues of the findings (`check`, `package`): `##vso[task.logissue …]`.
    Azure,
}

impl OutputFormat {
    /// Whether it is a format of findings for CI (only `check` and `package` print them).
    pub(crate) fn is_for_findings(self) -> bool {
        matches!(
            self,
            OutputFormat::Sarif | OutputFormat::Github | OutputFormat::Azure
        )
    }
}

/// The commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Products (drivers).
    #[command(subcommand)]
    Products(Products),
    /// Submissions of a product.
    #[command(subcommand)]
    Submissions(Submissions),
    /// Upload a package to a submission (resumes an interrupted upload).
    Upload(Upload),
    /// Download a file of a submission (resumes an interrupted download).
    Download(Download),
    /// Shipping labels of a submission.
    #[command(subcommand)]
    Labels(Labels),
    /// Audiences labels can be restricted to.
    #[command(subcommand)]
    Audiences(Audiences),
    /// Pre-production signing: an EV-signed CAB signed for testing, without a product or a
    /// submission.
    #[command(subcommand)]
    Preprod(Preprod),
    /// The whole flow for one package: create the product if asked, create the submission,
    /// upload, commit, wait, download the signed package. A re-run resumes.
    Submit(Submit),
    /// Ship many packages at once from a TOML manifest (`[[package]]` tables), each with its own
    /// journal: a re-run resumes every unfinished entry and skips the finished ones. Exits 0
    /// when every entry succeeded, else with the code of the most serious failure.
    Batch(Batch),
    /// Run the whole flow against a built-in simulator of the service, explained step by step.
    Demo(Demo),
    /// Check a driver folder, a .cab or an .hlkx against the package rules before uploading it
    /// (exit 5 when a finding is an error).
    Check(Check),
    /// Compare a signed package Microsoft returned with the package submitted: the same
    /// driver folders and files, every file but the catalog byte-identical, every PE file the
    /// same code once its signature is set aside, and signed (exit 5 when one is not).
    Verify(Verify),
    /// Build the attestation CAB from driver folders (checked first; reproducible: the same
    /// folders give the same bytes).
    Package(Package),
    /// The configuration file: write a profile, show where it is, or show it (secrets
    /// redacted).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the JSON Schema of what a command prints with `--output json` (every object has
    /// `schema_version`), of the error object, of the batch manifest or of the configuration
    /// file; without NAME, list the names (docs/schemas/ holds them all).
    Schema {
        /// The schema's name (`product`, `submit`, `error`, `manifest`, …).
        name: Option<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to standard output.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print hwdc's man page (roff) to standard output.
    Man,
    /// Every known OS code (a product's requested signatures, a label's OS): its Windows
    /// version, architecture, whether it is a Server code and whether attestation accepts it
    /// (no API lists them; `docs/os-codes.md` says where each comes from).
    OsCodes(OsCodes),
    /// Check the configuration end to end without changing anything: the settings, the
    /// sign-in, the API (the first page of products), the clock against the service's, and the
    /// proxy settings. Exits with the code of the first check that failed.
    Doctor,
}

/// `os-codes`.
#[derive(Args, Debug)]
pub(crate) struct OsCodes {
    /// Only codes of this architecture.
    #[arg(long, value_enum)]
    pub arch: Option<OsArch>,
    /// Only Windows Server codes.
    #[arg(long, conflicts_with = "client")]
    pub server: bool,
    /// Only client codes.
    #[arg(long)]
    pub client: bool,
    /// Only codes an attestation product may request (Windows 10 and later, client).
    #[arg(long)]
    pub attestation: bool,
}

/// Architectures of OS codes.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OsArch {
    /// 32-bit x86.
    X86,
    /// x64.
    X64,
    /// 32-bit Arm (Windows RT).
    Arm,
    /// Arm64.
    Arm64,
    /// Itanium.
    Ia64,
}

/// `check`.
#[derive(Args, Debug)]
pub(crate) struct Check {
    /// A driver folder (the one holding the INF files), a .cab or an .hlkx.
    pub path: PathBuf,
    #[command(flatten)]
    pub targets: Targets,
}

/// `verify`.
#[derive(Args, Debug)]
pub(crate) struct Verify {
    /// The signed package (the ZIP `submit` or `download` saved).
    pub signed: PathBuf,
    /// The package submitted: a driver folder, a .cab or a .zip.
    #[arg(long, value_name = "PACKAGE_OR_DRIVER_DIR")]
    pub against: PathBuf,
}

/// The architectures a package must cover.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct Targets {
    /// An OS code the product requests a signature for (repeatable), e.g.
    /// WINDOWS_v100_X64_GE_FULL, or a family of them (win11-x64; `hwdc os-codes`): every INF
    /// must cover its architecture.
    #[arg(long = "signature", value_name = "OS_CODE")]
    pub signatures: Vec<String>,
    /// Check against the requested signatures of this product (signs in to read them).
    #[arg(long, value_name = "ID", conflicts_with = "signatures")]
    pub product: Option<u64>,
    /// The InfVerif rule set every INF is held to (docs/package-rules.md, "Modes").
    #[arg(long, default_value = "submission", value_parser = mode_parser())]
    pub mode: Mode,
}

/// The parser of `--mode`: the names of [`Mode::ALL`], listed in `--help`.
fn mode_parser() -> impl clap::builder::TypedValueParser<Value = Mode> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Mode::ALL.map(Mode::name)).map(|name| {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.name() == name)
            .unwrap_or_default()
    })
}

/// `package`.
#[derive(Args, Debug)]
pub(crate) struct Package {
    /// The driver folders, each holding its INF files; each becomes a folder of the cabinet.
    #[arg(required = true, value_name = "DRIVER_DIR")]
    pub folders: Vec<PathBuf>,
    /// Where to write the CAB.
    #[arg(long, short = 'o', value_name = "FILE.cab")]
    pub out: PathBuf,
    #[command(flatten)]
    pub targets: Targets,
    /// Write the CAB even when the check finds errors.
    #[arg(long)]
    pub no_check: bool,
}

/// `config`.
#[derive(Subcommand, Debug)]
pub(crate) enum ConfigCommand {
    /// Write a profile: tenant, client and, unless --no-secret, the client secret (asked for
    /// without echo, or read from standard input when it is not a terminal). Other profiles are
    /// kept (comments and layout are not). On Unix the file is made readable by its owner only
    /// (mode 0600); on Windows it takes the access list of its folder, the user's own by default.
    Init(ConfigInit),
    /// Print the configuration file's path.
    Path,
    /// Print the profile in use, with where each setting comes from (secrets redacted).
    Show,
}

/// `config init`.
#[derive(Args, Debug)]
pub(crate) struct ConfigInit {
    /// Keep no secret in the file (sign in with a certificate, federation, a managed identity
    /// or the Azure CLI, or give HW_CLIENT_SECRET at run time).
    #[arg(long)]
    pub no_secret: bool,
    /// Replace the profile if it exists.
    #[arg(long)]
    pub force: bool,
}

/// How many items of a list to show.
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct Limit {
    /// Stop after this many items.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Product commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Products {
    /// List every product.
    List(Limit),
    /// Show a product.
    Get {
        /// The product id.
        product: u64,
    },
    /// Create a product.
    Create(CreateProduct),
    /// Change a product's name, marketing names or announcement date.
    Update(UpdateProduct),
}

/// `products create`.
#[derive(Args, Debug)]
pub(crate) struct CreateProduct {
    /// The product's name.
    #[arg(long)]
    pub name: String,
    /// The test harness.
    #[arg(long, value_enum, default_value_t = Harness::Hlk)]
    pub harness: Harness,
    /// An operating system to sign for (repeatable), e.g. WINDOWS_v100_X64_RS5_FULL, or a
    /// family of codes (win11-x64; `hwdc os-codes` and docs/os-codes.md list them).
    #[arg(long = "signature")]
    pub signatures: Vec<String>,
    /// A marketing name (repeatable).
    #[arg(long = "marketing-name")]
    pub marketing_names: Vec<String>,
    /// The device type.
    #[arg(long, default_value = "internal")]
    pub device_type: String,
    /// The announcement date (ISO 8601).
    #[arg(long)]
    pub announcement_date: Option<String>,
    /// Test-sign the driver.
    #[arg(long)]
    pub test_sign: bool,
    /// Send it without the pre-flight rules (docs/package-rules.md).
    #[arg(long)]
    pub no_check: bool,
}

/// Test harnesses.
#[derive(
    ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Harness {
    /// Hardware Lab Kit.
    Hlk,
    /// Hardware Certification Kit.
    Hck,
    /// Attestation signing.
    Attestation,
}

/// `products update`.
#[derive(Args, Debug)]
pub(crate) struct UpdateProduct {
    /// The product id.
    pub product: u64,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// New marketing names (repeatable).
    #[arg(long = "marketing-name")]
    pub marketing_names: Vec<String>,
    /// A new announcement date.
    #[arg(long)]
    pub announcement_date: Option<String>,
}

/// Submission commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Submissions {
    /// List the submissions of a product.
    List {
        /// The product id.
        product: u64,
        #[command(flatten)]
        limit: Limit,
    },
    /// Show a submission with its workflow status and downloads.
    Get(SubmissionRef),
    /// Create a submission (an unclear outcome is settled: never two, never an older one).
    Create {
        /// The product id.
        product: u64,
        /// The submission's name.
        #[arg(long)]
        name: String,
        /// Initial or derived.
        #[arg(long = "type", value_enum, default_value_t = Kind::Initial)]
        kind: Kind,
        /// Send it without the pre-flight rules (docs/package-rules.md).
        #[arg(long)]
        no_check: bool,
    },
    /// Rename a submission.
    Update {
        #[command(flatten)]
        at: SubmissionRef,
        /// The new name.
        #[arg(long)]
        name: String,
    },
    /// Where a submission is: created, processing, completed or failed, with its commit status,
    /// step, state, whether it has a signed package, and the error report of a failed workflow
    /// (one JSON object with `--output json`).
    Status(SubmissionRef),
    /// Commit a submission after its package was uploaded.
    Commit(SubmissionRef),
    /// Wait until Microsoft has signed the submission.
    Wait {
        #[command(flatten)]
        at: SubmissionRef,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Ask the service to make the driver metadata of a submission a partner shared with you
    /// (it can take hours); with --wait, wait until the submission lists it.
    Metadata {
        #[command(flatten)]
        at: SubmissionRef,
        /// Wait until the driver metadata is there.
        #[arg(long = "wait")]
        wait_for_it: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// The ids in your account of a submission a partner shared with you (the partner's
    /// seller id, product id and submission id).
    Translate(Translate),
}

/// `submissions translate`.
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct Translate {
    /// The partner's seller (publisher) id.
    #[arg(long)]
    pub publisher: u64,
    /// The product id in the partner's account.
    #[arg(long = "partner-product", value_name = "ID")]
    pub product: u64,
    /// The submission id in the partner's account.
    #[arg(long = "partner-submission", value_name = "ID")]
    pub submission: u64,
}

/// Pre-production signing commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Preprod {
    /// Send an EV-signed CAB for pre-production signing, once: a journal beside it
    /// (`<file>.preprod.json`) keeps the package id, so a re-run continues with it. With --out,
    /// also wait for signing and download the signed files.
    Submit(PreprodSubmit),
    /// Show a package and its signing status.
    Get {
        /// The package id.
        package: String,
    },
    /// Wait until signing of a package succeeded (or failed).
    Wait {
        /// The package id.
        package: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List the signed assets of a package.
    Assets {
        /// The package id.
        package: String,
    },
    /// Download a signed asset (a zip of the signed files), checked against its SHA-256.
    Download(PreprodDownload),
}

/// `preprod submit`.
#[derive(Args, Debug)]
pub(crate) struct PreprodSubmit {
    /// The EV-signed CAB.
    pub file: PathBuf,
    /// The journal (default: beside the file, `<file>.preprod.json`).
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Send it again as a new package, whatever the journal says.
    #[arg(long)]
    pub restart: bool,
    /// Wait for signing and write the signed files (the package's only asset) here.
    #[arg(long, short = 'o', value_name = "FILE.zip")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `preprod download`.
#[derive(Args, Debug)]
pub(crate) struct PreprodDownload {
    /// The package id.
    pub package: String,
    /// The asset id (needed when the package has more than one).
    #[arg(long)]
    pub asset: Option<String>,
    /// Where to write it.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

/// A product id and a submission id.
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct SubmissionRef {
    /// The product id.
    pub product: u64,
    /// The submission id.
    pub submission: u64,
}

/// Submission types.
#[derive(
    ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// The product's first submission.
    Initial,
    /// A submission derived from the initial one.
    Derived,
}

/// How long to wait.
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct WaitArgs {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 86_400)]
    pub timeout: u64,
    /// The first pause between checks, in seconds (it grows to 60).
    #[arg(long, default_value_t = 5.0, value_parser = seconds)]
    pub poll: f64,
}

/// `upload`.
#[derive(Args, Debug)]
pub(crate) struct Upload {
    #[command(flatten)]
    pub at: SubmissionRef,
    /// The package file.
    pub file: PathBuf,
}

/// `download`.
#[derive(Args, Debug)]
pub(crate) struct Download {
    #[command(flatten)]
    pub at: SubmissionRef,
    /// Which file.
    #[arg(long, value_enum, default_value_t = FileKind::Signed)]
    pub kind: FileKind,
    /// Where to write it.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

/// The files of a submission.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// The package signed by Microsoft.
    Signed,
    /// The driver metadata document.
    Metadata,
    /// The error report of a failed submission.
    ErrorReport,
    /// The package as uploaded.
    Initial,
    /// The shell package of derived submissions.
    Derived,
}

/// Shipping label commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Labels {
    /// List the labels of a submission.
    List {
        #[command(flatten)]
        at: SubmissionRef,
        /// Include targeting.
        #[arg(long)]
        targeting: bool,
        #[command(flatten)]
        limit: Limit,
    },
    /// Show a label.
    Get {
        #[command(flatten)]
        at: SubmissionRef,
        /// The label id.
        label: u64,
        /// Include targeting.
        #[arg(long)]
        targeting: bool,
    },
    /// Create a label targeting the hardware ids of the driver metadata (filtered).
    Create(CreateLabel),
    /// Add or remove hardware ids, or change the audiences.
    Update(UpdateLabel),
    /// Cancel a label in Microsoft approval or gradual rollout.
    Cancel {
        #[command(flatten)]
        at: SubmissionRef,
        /// The label id.
        label: u64,
    },
    /// Wait for a label.
    Wait {
        #[command(flatten)]
        at: SubmissionRef,
        /// The label id.
        label: u64,
        /// Wait until Microsoft's approval, or until publishing is done.
        #[arg(long, value_enum, default_value_t = Until::Done)]
        until: Until,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// How far a label wait goes.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// Microsoft's approval (or sharing done).
    Approval,
    /// Publishing (or sharing) done.
    Done,
}

/// `labels create`.
#[derive(Args, Debug)]
pub(crate) struct CreateLabel {
    #[command(flatten)]
    pub at: SubmissionRef,
    /// The label's name.
    #[arg(long)]
    pub name: String,
    /// Share with this partner (seller id) instead of publishing to Windows Update.
    #[arg(long)]
    pub partner: Option<String>,
    /// Offer the driver only on request instead of installing it automatically.
    #[arg(long)]
    pub manual: bool,
    /// Only hardware ids of this INF (repeatable).
    #[arg(long = "inf")]
    pub infs: Vec<String>,
    /// Only hardware ids for this OS code (repeatable).
    #[arg(long = "os")]
    pub os_codes: Vec<String>,
    /// Only this hardware id (repeatable).
    #[arg(long = "hardware-id")]
    pub hardware_ids: Vec<String>,
    /// Restrict to this audience id (repeatable).
    #[arg(long = "audience")]
    pub audiences: Vec<String>,
    /// Target this CHID too (repeatable; a GUID; only for hardware ids of Windows 10 and
    /// later).
    #[arg(long = "chid", value_name = "GUID", value_parser = chid)]
    pub chids: Vec<String>,
    /// When to publish (ISO 8601).
    #[arg(long)]
    pub go_live: Option<String>,
    /// A Microsoft contact (for automatic updates).
    #[arg(long, default_value = "")]
    pub contact: String,
    /// Why the driver should be published (for automatic updates).
    #[arg(long, default_value = "")]
    pub justification: String,
    /// Send it without the pre-flight rules (docs/package-rules.md).
    #[arg(long)]
    pub no_check: bool,
}

/// `labels update`.
#[derive(Args, Debug)]
pub(crate) struct UpdateLabel {
    #[command(flatten)]
    pub at: SubmissionRef,
    /// The label id.
    pub label: u64,
    /// Add the metadata's combinations for this hardware id (repeatable).
    #[arg(long = "add-hardware-id")]
    pub add: Vec<String>,
    /// Remove the label's entries for this hardware id (repeatable).
    #[arg(long = "remove-hardware-id")]
    pub remove: Vec<String>,
    /// Add this CHID (repeatable; a GUID; only when every hardware id of the label targets
    /// Windows 10 or later).
    #[arg(long = "chid", value_name = "GUID", value_parser = chid)]
    pub add_chids: Vec<String>,
    /// Remove this CHID (repeatable).
    #[arg(long = "remove-chid", value_name = "GUID", value_parser = chid)]
    pub remove_chids: Vec<String>,
    /// The new audience list (repeatable; replaces the old one).
    #[arg(long = "audience")]
    pub audiences: Vec<String>,
    /// Remove every audience restriction.
    #[arg(long, conflicts_with = "audiences")]
    pub clear_audiences: bool,
    /// Why the change is needed.
    #[arg(long)]
    pub justification: Option<String>,
    /// Send it without the pre-flight rules (docs/package-rules.md).
    #[arg(long)]
    pub no_check: bool,
}

/// Audience commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Audiences {
    /// List the audiences.
    List(Limit),
}

/// `submit`.
#[derive(Args, Debug)]
pub(crate) struct Submit {
    /// The package file, or a driver folder: it is checked, packaged as a CAB beside the
    /// signed package's path (`<out>.upload.cab`) and submitted. Left out with `--state`, the
    /// journal alone is continued (once the package is uploaded).
    #[arg(
        value_name = "PACKAGE_OR_DRIVER_DIR",
        required_unless_present = "state"
    )]
    pub file: Option<PathBuf>,
    /// Submit without checking the package first (a driver folder, a .cab or an .hlkx is
    /// checked by default; other files never are), nor the pre-flight rules of the product and
    /// the submission.
    #[arg(long)]
    pub no_check: bool,
    /// The InfVerif rule set the package's INFs are held to (docs/package-rules.md, "Modes").
    #[arg(long, default_value = "submission", value_parser = mode_parser())]
    pub mode: Mode,
    /// The product to submit to.
    #[arg(
        long,
        conflicts_with = "create_product",
        required_unless_present_any = ["create_product", "state"]
    )]
    pub product: Option<u64>,
    /// The product of this name: the one that exists, or created (once) when none does.
    #[arg(long)]
    pub create_product: Option<String>,
    /// The test harness of a created product.
    #[arg(long, value_enum, default_value_t = Harness::Hlk)]
    pub harness: Harness,
    /// An operating system to sign for, for a created product (repeatable): an OS code or a
    /// family of them (win11-x64).
    #[arg(long = "signature")]
    pub signatures: Vec<String>,
    /// The submission's name.
    #[arg(long, required_unless_present = "state")]
    pub name: Option<String>,
    /// Initial or derived.
    #[arg(long = "type", value_enum, default_value_t = Kind::Initial)]
    pub kind: Kind,
    /// Where to write the signed package.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// The journal: where each step is recorded, so that a re-run continues the same work
    /// (default: beside the package, `<package>.hwdc.json`; removed when the flow finishes).
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Discard the journal and start over (a new submission).
    #[arg(long)]
    pub restart: bool,
    /// Continue with this submission of the product instead of making one (after an unclear
    /// create whose candidates a person has looked at: the same command with this added).
    #[arg(long)]
    pub submission: Option<u64>,
    /// Stop once this step is done, keeping the journal, with exit code 9 (pending): a later
    /// `submit` with the same journal continues, in a later CI job say (the package is not
    /// needed once it is uploaded).
    #[arg(long, value_enum)]
    pub until: Option<StopAfter>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Where `submit --until` and `batch --until` stop.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopAfter {
    /// The package is uploaded; nothing is committed.
    Uploaded,
    /// The submission is committed; Microsoft is at work.
    Committed,
    /// Microsoft signed it; the signed package is not downloaded.
    Signed,
}

impl StopAfter {
    /// The library's stage.
    pub(crate) fn stage(self) -> hw_api::ship::ShipStage {
        match self {
            StopAfter::Uploaded => hw_api::ship::ShipStage::Uploaded,
            StopAfter::Committed => hw_api::ship::ShipStage::Committed,
            StopAfter::Signed => hw_api::ship::ShipStage::Signed,
        }
    }
}

/// `batch`.
#[derive(Args, Debug)]
pub(crate) struct Batch {
    /// The manifest: `[[package]]` tables with `file` (a package or a driver folder), `name`,
    /// `product` or `create-product`, `harness`, `signatures`, `type`, `out` and optionally
    /// `submission`; relative paths are relative to the manifest.
    pub manifest: PathBuf,
    /// How many entries run at once (their requests share one paced rate).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Submit without checking the packages first.
    #[arg(long)]
    pub no_check: bool,
    /// Stop every entry once this step is done, keeping its journal; the batch exits 9
    /// (pending) when nothing worse happened, and a later run continues.
    #[arg(long, value_enum)]
    pub until: Option<StopAfter>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `demo`.
#[derive(Args, Debug)]
pub(crate) struct Demo {
    /// Milliseconds each simulated workflow step takes.
    #[arg(long, default_value_t = 400)]
    pub step_ms: u64,
    /// Size of the generated sample package, in KiB.
    #[arg(long, default_value_t = 6 * 1024, value_parser = clap::value_parser!(u64).range(1..=4 * 1024 * 1024))]
    pub package_kib: u64,
}
