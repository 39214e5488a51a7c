//! Every way to sign in, end to end through `hwdc --auth …` against the simulator's token
//! endpoint, OIDC token services and managed-identity endpoints: success, each refusal with the
//! code Entra gives, the `auto` order and its error, and no secret in any output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use hw_sim::config::{FILE_SUBJECT, SERVICE_CONNECTION};
use hw_sim::{AppCredential, SimConfig, SimHandle};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/certs")
        .join(name)
}

/// The DER certificate of the PEM fixture `name`.
fn certificate_der(name: &str) -> Vec<u8> {
    let pem = std::fs::read(fixture(name)).unwrap();
    hw_sim::config::certificates_from_pem(&pem)
        .unwrap()
        .remove(0)
}

/// A simulator whose app has the `app` certificate registered.
async fn sim() -> SimHandle {
    start(SimConfig {
        apps: vec![AppCredential {
            certificates: vec![certificate_der("app.cert.pem")],
            ..AppCredential::default()
        }],
        ..quick()
    })
    .await
}

/// The command with the simulator's API, authority and app, and no secret.
fn secretless(sim: &SimHandle, home: &Path) -> Command {
    let mut command = command(sim, home);
    command.env_remove("HW_CLIENT_SECRET");
    command
}

/// A copy of fixture `name` that only its owner may read (hwdc warns about any other).
fn private_copy(home: &Scratch, name: &str) -> PathBuf {
    let path = home.0.join(name);
    std::fs::copy(fixture(name), &path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// Lists products with `command` and `args` before the command, logging everything (`-vvv`):
/// the run.
async fn list(command: Command, args: &[&str]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-vvv", "--output", "json", "products", "list"]);
    run(command, &all).await
}

/// Lists products signed in with the certificate file at `path`.
async fn with_certificate(command: Command, path: &Path) -> Run {
    let path = path.to_str().unwrap();
    list(
        command,
        &["--auth", "certificate", "--client-certificate", path],
    )
    .await
}

fn assert_refused(run: &Run, code: &str) {
    assert_eq!(
        run.code, 3,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains(code), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_signs_in_from_pem_and_pfx_files() {
    let sim = sim().await;
    let home = Scratch::new("certificate");
    let pem = private_copy(&home, "app.pem");
    let ok = with_certificate(secretless(&sim, &home.0), &pem).await.ok();
    assert!(
        ok.stderr.contains("credential=certificate"),
        "{}",
        ok.stderr
    );
    // No assertion (a JWT: `eyJ…`) and no key in any log line.
    assert!(!ok.stderr.contains("eyJ"), "{}", ok.stderr);
    assert!(!ok.stderr.contains("PRIVATE KEY"), "{}", ok.stderr);
    for pfx in ["app.pfx", "app-legacy.pfx"] {
        let path = private_copy(&home, pfx);
        let mut command = secretless(&sim, &home.0);
        command
            .env("AZURE_CLIENT_CERTIFICATE_PATH", &path)
            .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", "hw-test");
        let run = list(command, &["--auth", "certificate"]).await.ok();
        assert!(!run.stderr.contains("hw-test"), "{}", run.stderr);
    }
    // The PKCS#1 form of the same key.
    let pkcs1 = private_copy(&home, "app-pkcs1.pem");
    with_certificate(secretless(&sim, &home.0), &pkcs1)
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unregistered_certificate_or_a_wrong_password_is_refused_clearly() {
    let sim = sim().await;
    let home = Scratch::new("certificate-refused");
    let other = private_copy(&home, "other.pem");
    let refused = with_certificate(secretless(&sim, &home.0), &other).await;
    assert_refused(&refused, "AADSTS700027");
    assert!(
        refused.stderr.contains("not registered"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("PRIVATE KEY"),
        "{}",
        refused.stderr
    );
    let pfx = private_copy(&home, "app.pfx");
    let mut command = secretless(&sim, &home.0);
    command.env("AZURE_CLIENT_CERTIFICATE_PASSWORD", "not-the-password");
    let wrong = with_certificate(command, &pfx).await;
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("password"), "{}", wrong.stderr);
    assert!(
        !wrong.stderr.contains("not-the-password"),
        "{}",
        wrong.stderr
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_key_file_others_can_read_is_warned_about() {
    let sim = sim().await;
    let home = Scratch::new("certificate-mode");
    let pem = home.0.join("app.pem");
    std::fs::copy(fixture("app.pem"), &pem).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pem, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = with_certificate(secretless(&sim, &home.0), &pem).await.ok();
    assert!(
        run.stderr.contains("can be read by other users"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_federated_token_file_signs_in_and_a_foreign_subject_is_refused() {
    let sim = sim().await;
    let home = Scratch::new("federated");
    let file = home.0.join("token");
    let audience = "api://AzureADTokenExchange";
    let token = sim.federated_token(FILE_SUBJECT, audience, Duration::from_secs(300));
    std::fs::write(&file, &token).unwrap();
    let mut command = secretless(&sim, &home.0);
    command.env("AZURE_FEDERATED_TOKEN_FILE", &file);
    let ok = list(command, &["--auth", "federated"]).await.ok();
    assert!(ok.stderr.contains("credential=federated"), "{}", ok.stderr);
    let signature = token.rsplit('.').next().unwrap();
    assert!(!ok.stderr.contains(signature), "the token is never logged");
    assert!(!ok.stdout.contains(signature));
    std::fs::write(
        &file,
        sim.federated_token(
            "system:serviceaccount:ci:intruder",
            audience,
            Duration::from_secs(300),
        ),
    )
    .unwrap();
    let refused = list(
        secretless(&sim, &home.0),
        &[
            "--auth",
            "federated",
            "--federated-token-file",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_refused(&refused, "AADSTS70021");
    assert!(
        refused.stderr.contains("federated credential"),
        "{}",
        refused.stderr
    );
    std::fs::write(
        &file,
        sim.federated_token(
            FILE_SUBJECT,
            "api://somewhere-else",
            Duration::from_secs(300),
        ),
    )
    .unwrap();
    let mut command = secretless(&sim, &home.0);
    command.env("AZURE_FEDERATED_TOKEN_FILE", &file);
    assert_refused(
        &list(command, &["--auth", "federated"]).await,
        "AADSTS700212",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn github_actions_oidc_signs_in_and_a_bad_request_token_is_refused() {
    let sim = sim().await;
    let home = Scratch::new("github");
    let github = |token: &str| {
        let mut command = secretless(&sim, &home.0);
        command
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", sim.github_token_url())
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", token);
        command
    };
    let request_token = sim.config().oidc_request_token.clone();
    let ok = list(github(&request_token), &["--auth", "github"])
        .await
        .ok();
    assert!(!ok.stderr.contains(&request_token), "{}", ok.stderr);
    let refused = list(github("not-the-job-token"), &["--auth", "github"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("GitHub"), "{}", refused.stderr);
    assert!(refused.stderr.contains("401"), "{}", refused.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_pipelines_oidc_signs_in_for_its_service_connection_only() {
    let sim = sim().await;
    let home = Scratch::new("pipelines");
    let pipelines = |connection: &str| {
        let mut command = secretless(&sim, &home.0);
        command
            .env("SYSTEM_OIDCREQUESTURI", sim.pipelines_oidc_url())
            .env("SYSTEM_ACCESSTOKEN", &sim.config().oidc_request_token)
            .env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", connection);
        command
    };
    list(
        pipelines(SERVICE_CONNECTION),
        &["--auth", "azure-pipelines"],
    )
    .await
    .ok();
    let refused = list(
        pipelines("another-connection"),
        &["--auth", "azure-pipelines"],
    )
    .await;
    assert_refused(&refused, "AADSTS70021");
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_identities_sign_in_through_every_endpoint() {
    let sim = sim().await;
    let home = Scratch::new("managed");
    let app_service = |header: &str| {
        let mut command = secretless(&sim, &home.0);
        command
            .env_remove("HW_TENANT_ID")
            .env_remove("HW_CLIENT_ID")
            .env("IDENTITY_ENDPOINT", sim.identity_endpoint())
            .env("IDENTITY_HEADER", header);
        command
    };
    let header = sim.config().identity_header.clone();
    let ok = list(app_service(&header), &["--auth", "managed-identity"])
        .await
        .ok();
    assert!(!ok.stderr.contains(&header), "{}", ok.stderr);
    let refused = list(app_service("wrong"), &["--auth", "managed-identity"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    // Cloud Shell's endpoint, chosen by auto from MSI_ENDPOINT alone.
    let mut cloud_shell = secretless(&sim, &home.0);
    cloud_shell
        .env_remove("HW_TENANT_ID")
        .env_remove("HW_CLIENT_ID")
        .env("MSI_ENDPOINT", sim.cloud_shell_endpoint());
    let run = list(cloud_shell, &["-v"]).await.ok();
    assert!(
        run.stderr.contains("credential=managed-identity"),
        "{}",
        run.stderr
    );
    // The instance metadata service (chosen explicitly), with a user-assigned identity named
    // by its own setting; the app registration's client id never names one.
    let imds = |variable: &str, client: &str| {
        let mut command = secretless(&sim, &home.0);
        command
            .env_remove("HW_TENANT_ID")
            .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.authority_url())
            .env(variable, client);
        command
    };
    list(
        imds("HW_MANAGED_IDENTITY_CLIENT_ID", "hw-sim-user-identity"),
        &["--auth", "managed-identity"],
    )
    .await
    .ok();
    let unknown = list(
        imds("HW_MANAGED_IDENTITY_CLIENT_ID", "nobody"),
        &["--auth", "managed-identity"],
    )
    .await;
    assert_eq!(unknown.code, 3, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("Identity not found"),
        "{}",
        unknown.stderr
    );
    let flagged = list(
        imds("HW_CLIENT_ID", "nobody"),
        &[
            // The identity's own flag chooses managed identity by itself.
            "--managed-identity-client-id",
            "hw-sim-user-identity",
        ],
    )
    .await
    .ok();
    assert!(
        flagged.stderr.contains("credential=managed-identity")
            && flagged
                .stderr
                .contains("managed identity hw-sim-user-identity"),
        "{}",
        flagged.stderr
    );
    let system = list(
        imds("HW_CLIENT_ID", "nobody"),
        &["--auth", "managed-identity", "-v"],
    )
    .await
    .ok();
    assert!(
        system.stderr.contains("system-assigned"),
        "--client-id is the app's, not a managed identity's: {}",
        system.stderr
    );
}

/// A directory holding a stand-in `az` that prints `stdout` and exits with `code`; each run
/// adds a line to `runs` in the same directory.
fn fake_az(home: &Scratch, stdout: &str, code: i32) -> PathBuf {
    let dir = home.0.join(format!("bin-{code}"));
    std::fs::create_dir_all(&dir).unwrap();
    let json = home.0.join(format!("az-{code}.json"));
    std::fs::write(&json, stdout).unwrap();
    let runs = dir.join("runs");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("az");
        let stream = if code == 0 { "" } else { ">&2" };
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho run >> '{}'\ncat '{}' {stream}\nexit {code}\n",
                runs.display(),
                json.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    #[cfg(windows)]
    {
        let stream = if code == 0 { "" } else { "1>&2" };
        std::fs::write(
            dir.join("az.cmd"),
            format!(
                "@echo run>> \"{}\"\r\n@type \"{}\" {stream}\r\n@exit /b {code}\r\n",
                runs.display(),
                json.display()
            ),
        )
        .unwrap();
    }
    dir
}

/// A stand-in `az` signed in to `sim` (its directory), and the token it gives.
fn signed_in_az(sim: &SimHandle, home: &Scratch) -> (PathBuf, String) {
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3000;
    let token = sim.issue_token();
    let dir = fake_az(
        home,
        &format!(
            r#"{{"accessToken":"{token}","expiresOn":"2026-12-01 12:00:00.000000","expires_on":{expires},"tokenType":"Bearer"}}"#
        ),
        0,
    );
    (dir, token)
}

/// How many times the stand-in `az` in `dir` has run.
fn az_runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs"))
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

/// `PATH` with `dir` first.
fn with_path(dir: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_owned()).chain(std::env::split_paths(&rest)))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_azure_cli_signs_in_and_says_when_it_is_not_logged_in() {
    let sim = sim().await;
    let home = Scratch::new("azure-cli");
    let (signed_in, token) = signed_in_az(&sim, &home);
    let mut command = secretless(&sim, &home.0);
    command.env("PATH", with_path(&signed_in));
    let ok = list(command, &["--auth", "azure-cli"]).await.ok();
    assert!(!ok.stderr.contains(&token), "{}", ok.stderr);
    let logged_out = fake_az(&home, "ERROR: Please run 'az login' to setup account.", 1);
    let mut command = secretless(&sim, &home.0);
    command.env("PATH", with_path(&logged_out));
    let refused = list(command, &["--auth", "azure-cli"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("az login"), "{}", refused.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_takes_the_first_configured_in_order_and_lists_why_when_none_is() {
    let sim = sim().await;
    let home = Scratch::new("auto");
    let pem = private_copy(&home, "app.pem");
    // A secret and a certificate: the secret comes first.
    let mut both = command(&sim, &home.0);
    both.env("AZURE_CLIENT_CERTIFICATE_PATH", &pem);
    let run = list(both, &[]).await.ok();
    assert!(run.stderr.contains("credential=secret"), "{}", run.stderr);
    // Only GitHub's variables: GitHub.
    let mut github = secretless(&sim, &home.0);
    github
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", sim.github_token_url())
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            &sim.config().oidc_request_token,
        );
    let run = list(github, &[]).await.ok();
    assert!(run.stderr.contains("credential=github"), "{}", run.stderr);
    // Nothing: every kind, each with why.
    let mut nothing = secretless(&sim, &home.0);
    nothing.env("PATH", home.0.join("empty-bin"));
    let none = list(nothing, &[]).await;
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(
        none.stderr.contains("- azure-cli: az is not on PATH"),
        "{}",
        none.stderr
    );
    for kind in [
        "secret",
        "certificate",
        "federated",
        "github",
        "azure-pipelines",
        "managed-identity",
        "azure-cli",
    ] {
        assert!(
            none.stderr.contains(&format!("- {kind}: ")),
            "{kind}: {}",
            none.stderr
        );
    }
    assert!(none.stderr.contains("HW_CLIENT_SECRET"), "{}", none.stderr);
}

/// On a hosted runner whose job forgot its OIDC permission: an Azure VM without an identity and
/// an Azure CLI that is not signed in. `auto` decides from the configuration: the metadata
/// service is never asked, `az` is listed as not signed in, and the run ends with exit 2 and
/// the list. Chosen explicitly, the metadata service is asked (and says why it cannot).
#[tokio::test(flavor = "multi_thread")]
async fn auto_with_nothing_configured_asks_no_metadata_service() {
    let sim = sim().await;
    let home = Scratch::new("auto-nothing");
    let metadata = hw_workspace_tests::metadata::MetadataStandIn::start();
    let logged_out = fake_az(&home, "ERROR: Please run 'az login' to setup account.", 1);
    let runner = || {
        let mut command = secretless(&sim, &home.0);
        command
            .env_remove("HW_TENANT_ID")
            .env_remove("HW_CLIENT_ID")
            .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", metadata.url())
            .env("PATH", with_path(&logged_out));
        command
    };
    let none = list(runner(), &[]).await;
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(
        none.stderr.contains("no way to sign in is configured"),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr
            .contains("- azure-cli: az is not signed in (run `az login`)"),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr
            .contains("- managed-identity: neither IDENTITY_ENDPOINT"),
        "{}",
        none.stderr
    );
    assert_eq!(az_runs(&logged_out), 1, "az was asked for a token once");
    assert_eq!(
        metadata.connections(),
        0,
        "the metadata service received nothing"
    );
    // The stand-in does answer: chosen explicitly, managed identity asks it.
    let chosen = list(runner(), &["--auth", "managed-identity"]).await;
    assert_eq!(chosen.code, 3, "{}", chosen.stderr);
    assert!(
        chosen.stderr.contains("Identity not found"),
        "{}",
        chosen.stderr
    );
    assert!(metadata.connections() > 0);
}

/// A signed-in Azure CLI is chosen by `auto`, and the token that showed it is signed in is the
/// one used: `az` runs once.
#[tokio::test(flavor = "multi_thread")]
async fn auto_takes_a_signed_in_azure_cli_with_one_run_of_az() {
    let sim = sim().await;
    let home = Scratch::new("auto-az");
    let (signed_in, _token) = signed_in_az(&sim, &home);
    let mut command = secretless(&sim, &home.0);
    command.env("PATH", with_path(&signed_in));
    let run = list(command, &[]).await.ok();
    assert!(
        run.stderr.contains("credential=azure-cli"),
        "{}",
        run.stderr
    );
    assert_eq!(az_runs(&signed_in), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_stops_at_a_credential_that_is_set_up_but_broken_and_a_flag_chooses() {
    let sim = sim().await;
    let home = Scratch::new("auto-broken");
    // A certificate with a wrong password and GitHub's variables: the certificate's error, not
    // a sign-in through GitHub.
    let pfx = private_copy(&home, "app.pfx");
    let mut broken = secretless(&sim, &home.0);
    broken
        .env("AZURE_CLIENT_CERTIFICATE_PATH", &pfx)
        .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", "wrong")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", sim.github_token_url())
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            &sim.config().oidc_request_token,
        );
    let run = list(broken, &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot sign in with certificate"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("credential=github"), "{}", run.stderr);
    // A secret in the environment and --client-certificate, no --auth: the flag chooses.
    let pem = private_copy(&home, "app.pem");
    let mut flagged = command(&sim, &home.0);
    flagged.args(["--client-certificate", pem.to_str().unwrap()]);
    let run = list(flagged, &[]).await.ok();
    assert!(
        run.stderr.contains("credential=certificate"),
        "{}",
        run.stderr
    );
}

/// `--auth managed-identity-federation`: the managed identity's token for Entra's federation
/// audience is the app registration's client assertion. hw-sim's token endpoint takes it only
/// from the identity its federated credential names (the system-assigned one): a user-assigned
/// identity the app does not trust is refused, and so is the secret-less app without one.
#[tokio::test(flavor = "multi_thread")]
async fn a_managed_identity_federated_with_the_app_signs_in_as_the_app() {
    let sim = sim().await;
    let home = Scratch::new("mi-federation");
    let header = sim.config().identity_header.clone();
    let app_service = |user_assigned: Option<&str>| {
        let mut command = secretless(&sim, &home.0);
        command
            .env("IDENTITY_ENDPOINT", sim.identity_endpoint())
            .env("IDENTITY_HEADER", &header);
        if let Some(id) = user_assigned {
            command.env("HW_MANAGED_IDENTITY_CLIENT_ID", id);
        }
        command
    };
    let ok = list(
        app_service(None),
        &["--auth", "managed-identity-federation"],
    )
    .await
    .ok();
    assert!(ok.json().is_array(), "{}", ok.stdout);
    assert!(
        ok.stderr
            .contains("credential=managed-identity-federation identity=hw-sim-tenant/hw-sim-client through managed identity (system-assigned)"),
        "{}",
        ok.stderr
    );
    assert!(!ok.stderr.contains(&header), "{}", ok.stderr);
    // The app trusts the system-assigned identity only.
    let user = sim.config().managed_identities[0].clone();
    let untrusted = list(
        app_service(Some(&user)),
        &["--auth", "managed-identity-federation"],
    )
    .await;
    assert_refused(&untrusted, "AADSTS70021");
    // Without the app registration's ids there is nothing to sign in as.
    let mut no_app = app_service(None);
    no_app.env_remove("HW_TENANT_ID");
    let refused = list(no_app, &["--auth", "managed-identity-federation"]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("no tenant id"),
        "{}",
        refused.stderr
    );
}
