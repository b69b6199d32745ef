//! The container recipe and the Kubernetes example stay consistent with the
//! server: every flag they pass exists, the server starts with them, and the
//! pod's termination grace covers preStop plus the server's drain. And the
//! manifest is what a cluster would admit under the restricted Pod Security
//! Standard.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::process::{run_to_exit, ServerProcess, BIN};
use common::recipes::*;

fn flags(args: &[String]) -> Vec<&str> {
    args.iter()
        .map(String::as_str)
        .filter(|a| a.starts_with("--"))
        .collect()
}

#[test]
fn every_flag_in_the_recipes_exists() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let (docker, k8s) = (dockerfile_args(), k8s_args());
    assert!(
        flags(&docker).len() >= 3 && flags(&k8s).len() >= 6,
        "{docker:?} {k8s:?}"
    );
    for flag in flags(&docker).into_iter().chain(flags(&k8s)) {
        assert!(
            help.contains(&format!("{flag} ")),
            "{flag} is not in --help"
        );
    }
}

/// The server starts with each recipe's arguments (addresses moved to free
/// loopback ports) and drains cleanly. The images run the pinned C-core; on
/// one without a connection limit the server must refuse
/// `--max-connections` (exit 1, saying why), and starts without it.
#[test]
fn the_server_starts_with_the_recipes_arguments() {
    for args in [dockerfile_args(), k8s_args()] {
        let mut local = on_loopback(&args);
        if yes_grpc::ccore::major() < yes_grpc::server::MAX_CONNECTIONS_CORE {
            if let Some(at) = local.iter().position(|a| a == "--max-connections") {
                let refused = run_to_exit(&local.iter().map(String::as_str).collect::<Vec<_>>());
                let stderr = String::from_utf8_lossy(&refused.stderr);
                assert_eq!(refused.status.code(), Some(1), "{stderr}");
                assert!(stderr.contains("needs gRPC C-core 1.63"), "{stderr}");
                local.drain(at..at + 2);
            }
        }
        let args: Vec<&str> = local.iter().map(String::as_str).collect();
        let mut server = ServerProcess::spawn(&args);
        let client = server.client();
        let mut stream = client.yes_with_fc(&common::request("k8s")).unwrap();
        assert_eq!(common::read(&mut stream, 1), ["k8s"]);
        drop(stream);
        server.stop();
    }
}

#[test]
fn termination_grace_covers_pre_stop_and_drain() {
    let yaml = read("deploy/k8s.yaml");
    let termination = k8s_number("terminationGracePeriodSeconds");
    let pre_stop: u64 = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("command: [\"sleep\", \""))
        .and_then(|rest| rest.split('"').next())
        .expect("a preStop sleep")
        .parse()
        .unwrap();
    let args = k8s_args();
    let grace = seconds(flag_value(&args, "--grace-period").expect("--grace-period in the args"));
    assert!(
        pre_stop + grace < termination,
        "preStop {pre_stop} s + grace {grace} s must fit in {termination} s"
    );
}

/// The manifest checks of `deploy/k8s-check/setup.sh`, installed (once per
/// target directory) under this test's temporary directory.
fn k8s_check() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("k8s-check");
    let status = Command::new("bash")
        .arg(path("deploy/k8s-check/setup.sh"))
        .arg(&out)
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "deploy/k8s-check/setup.sh failed: it needs python3-venv (scripts/setup-debian.sh) and PyPI"
    );
    out
}

fn run(tool: &Path, manifest: &Path) -> (Output, String) {
    let output = Command::new(tool).arg(manifest).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output, text)
}

/// The manifest as a cluster would take it: every resource valid against
/// Kubernetes' own schemas with no unknown field (kubernetes-validate,
/// strict, offline), the pod template within the restricted Pod Security
/// Standard (and the check proven to catch a pod without a seccomp
/// profile, as this manifest was before), no service-account token, the
/// image by the crate's version, and a NetworkPolicy admitting only the
/// gRPC and metrics ports.
#[test]
fn the_kubernetes_manifest_is_valid_and_restricted() {
    let tools = k8s_check();
    let manifest = path("deploy/k8s.yaml");

    let (output, text) = run(&tools.join("validate"), &manifest);
    assert!(output.status.success(), "kubernetes-validate: {text}");
    for resource in ["deployment", "service", "networkpolicy"] {
        assert!(
            text.contains(&format!("passed for resource {resource}/yes-server")),
            "{resource} not validated: {text}"
        );
    }

    let (output, text) = run(&tools.join("restricted"), &manifest);
    assert!(output.status.success(), "restricted profile: {text}");
    assert!(text.contains("PASS"), "{text}");

    let yaml = read("deploy/k8s.yaml");
    let weakened: String = yaml
        .lines()
        .filter(|l| !matches!(l.trim(), "seccompProfile:" | "type: RuntimeDefault"))
        .map(|l| format!("{l}\n"))
        .collect();
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join("k8s-without-seccomp.yaml");
    std::fs::write(&copy, weakened).unwrap();
    let (output, text) = run(&tools.join("restricted"), &copy);
    assert!(
        !output.status.success() && text.contains("seccompProfile"),
        "the check let a pod without a seccomp profile pass: {text}"
    );

    assert!(
        yaml.lines()
            .any(|l| l.trim() == "automountServiceAccountToken: false"),
        "the pod mounts a service-account token"
    );
    let image = format!("image: yes-server:{}", env!("CARGO_PKG_VERSION"));
    assert!(
        yaml.lines().any(|l| l.trim() == image),
        "the image is not referenced as {image:?}"
    );
    let policy = yaml
        .split("\n---\n")
        .find(|doc| doc.contains("kind: NetworkPolicy"))
        .expect("a NetworkPolicy");
    let ports: Vec<&str> = policy
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- port: "))
        .collect();
    assert_eq!(ports, ["9090", "9464"], "{policy}");
    assert!(policy.contains("app: yes-server"), "{policy}");
}
