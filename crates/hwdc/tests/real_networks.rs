//! The network a corporate user has, where nothing leaves the machine: hwdc with its default
//! host names (no `--base-url`, no authority), over TLS from hw-sim's test CA, through squid
//! with basic authentication, which resolves the service's names to hw-sim's front on
//! 127.0.0.1:443. Run by `cargo xtask netns`, in a network namespace with only loopback whose
//! `/etc/hosts` also maps those names to 127.0.0.1 (for `NO_PROXY`); ignored elsewhere, where
//! port 443 and the names are the machine's own. Linux only: the namespaces are Linux's.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use hw_sim::{SimFront, SimHandle, SimTls};
use hw_workspace_tests::squid::{self, Squid};

const WHY: &str = "needs a network namespace with only loopback: cargo xtask netns";

/// Where the simulator's front and squid listen.
const FRONT: &str = "127.0.0.1:443";
const PROXY: &str = "127.0.0.1:3128";

/// The simulator, squid and a home for one test.
struct Network {
    sim: SimHandle,
    squid: Squid,
    ca: std::path::PathBuf,
    home: Scratch,
}

/// Fails unless only loopback is there: these tests must not run where they could reach
/// anything else, or where port 443 and the service's names are the machine's own.
fn only_loopback() {
    // /proc/net/dev is the calling process's network namespace (sysfs may be another's).
    let table = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
    let interfaces: Vec<&str> = table
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next().map(str::trim))
        .collect();
    assert_eq!(interfaces, ["lo"], "{WHY}");
}

async fn network(name: &str) -> Network {
    only_loopback();
    let home = Scratch::new(name);
    let ca = home.0.join("hw-sim-ca.pem");
    let front = SimFront::service_names(FRONT.parse().unwrap());
    let names = [front.api.clone(), front.token.clone(), front.blob.clone()];
    let sim = start(hw_sim::SimConfig {
        tls: Some(SimTls::new(&ca)),
        front: Some(front),
        ..quick()
    })
    .await;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let squid = Squid::start(PROXY.parse().unwrap(), "127.0.0.1", &names).unwrap();
    Network {
        sim,
        squid,
        ca,
        home,
    }
}

impl Network {
    /// hwdc with the app's credentials, the default host names, `proxy` and, when `trusted`,
    /// the test CA in `SSL_CERT_FILE`.
    fn hwdc(&self, proxy: Option<&str>, trusted: bool) -> std::process::Command {
        let app = self.sim.app().unwrap();
        let mut command = bare_command(&self.home.0);
        command
            .env("HW_TENANT_ID", &app.tenant_id)
            .env("HW_CLIENT_ID", &app.client_id)
            .env("HW_CLIENT_SECRET", &app.secret);
        if let Some(proxy) = proxy {
            command.env("HTTPS_PROXY", proxy);
        }
        if trusted {
            command.env("SSL_CERT_FILE", &self.ca);
        }
        command
    }

    /// A whole `submit` of a fresh package with `command`: its run.
    async fn submit(&self, command: std::process::Command, name: &str) -> Run {
        let package = self.home.file(&format!("{name}.cab"), 300_000, b"PK");
        let out = self.home.0.join(format!("{name}-signed.cab"));
        let args = [
            "--output",
            "json",
            "submit",
            "--no-check",
            package.to_str().unwrap(),
            "--create-product",
            name,
            "--name",
            "1.0",
            "--out",
            out.to_str().unwrap(),
            "--poll",
            "0.05",
        ];
        run(command, &args).await
    }
}

/// squid is there to run (from Debian's packages): `cargo xtask netns` runs this first, outside
/// the namespace, where the package registry can be reached.
#[test]
fn squid_is_installed() {
    hw_workspace_tests::debian::unpacked("squid", "usr/sbin/squid", "squid for the network tests")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a network namespace with only loopback: cargo xtask netns"]
async fn the_default_host_names_through_an_authenticating_proxy() {
    let net = network("real-proxy").await;
    let listed = run(
        net.hwdc(Some(&net.squid.url()), true),
        &["--output", "json", "products", "list"],
    )
    .await
    .ok();
    assert!(listed.json().is_array(), "{}", listed.stdout);
    let shipped = net
        .submit(net.hwdc(Some(&net.squid.url()), true), "Proxied")
        .await
        .ok();
    assert_eq!(shipped.json()["reached"], "delivered", "{}", shipped.stdout);
    for run in [&listed, &shipped] {
        assert!(
            !run.stderr.contains(squid::PASSWORD),
            "the proxy's password is printed: {}",
            run.stderr
        );
    }
    let log = net.squid.access_log();
    for host in [
        "login.microsoftonline.com:443",
        "manage.devcenter.microsoft.com:443",
        "hwsim.blob.core.windows.net:443",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains("TCP_TUNNEL/200") && l.contains(host)),
            "{host} not tunnelled:\n{log}"
        );
    }
    assert!(net.sim.requests("commitSubmission") >= 1);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a network namespace with only loopback: cargo xtask netns"]
async fn no_proxy_sends_the_blob_host_around_the_proxy() {
    let net = network("real-no-proxy").await;
    let mut command = net.hwdc(Some(&net.squid.url()), true);
    command.env("NO_PROXY", "hwsim.blob.core.windows.net");
    net.submit(command, "Around").await.ok();
    let log = net.squid.access_log();
    assert!(
        log.contains("manage.devcenter.microsoft.com:443"),
        "the API goes through the proxy:\n{log}"
    );
    assert!(
        !log.contains("blob.core.windows.net"),
        "blob storage goes around it:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a network namespace with only loopback: cargo xtask netns"]
async fn a_proxy_that_refuses_the_credentials_ends_with_exit_2() {
    let net = network("real-407").await;
    let proxy = net.squid.url_without_credentials();
    let refused = run(
        net.hwdc(Some(&proxy), true),
        &["--output", "json", "products", "list"],
    )
    .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let error: serde_json::Value = serde_json::from_str(refused.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "proxy", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&proxy) && message.contains("407"),
        "{message}"
    );
    assert!(net.squid.access_log().contains("TCP_DENIED/407"));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a network namespace with only loopback: cargo xtask netns"]
async fn a_proxy_that_refuses_the_destination_ends_with_exit_2() {
    let net = network("real-403").await;
    let mut command = net.hwdc(Some(&net.squid.url()), true);
    command.env(
        "HW_API_BASE_URL",
        format!("https://{}/v2.0/my", squid::DENIED_HOST),
    );
    let refused = run(command, &["products", "list"]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("refused to open a tunnel")
            && refused.stderr.contains("it answered 403")
            && refused.stderr.contains(squid::DENIED_HOST),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a network namespace with only loopback: cargo xtask netns"]
async fn an_untrusted_ca_through_the_proxy_ends_with_exit_2_naming_it() {
    let net = network("real-untrusted").await;
    let refused = run(
        net.hwdc(Some(&net.squid.url()), false),
        &["products", "list"],
    )
    .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    for says in [
        "login.microsoftonline.com",
        "CN=hw-sim test CA",
        "trust comes from the system store",
    ] {
        assert!(
            refused.stderr.contains(says),
            "{says:?}: {}",
            refused.stderr
        );
    }
}
