//! The container recipe and the Kubernetes example stay consistent with the
//! server: every flag they pass exists, the server starts with them, and the
//! pod's termination grace covers preStop plus the server's drain.

mod common;

use std::process::Command;

use common::process::{ServerProcess, BIN};
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
/// loopback ports) and drains cleanly.
#[test]
fn the_server_starts_with_the_recipes_arguments() {
    for args in [dockerfile_args(), k8s_args()] {
        let local = on_loopback(&args);
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
