//! The container recipe and the Kubernetes example stay consistent with the
//! server: every flag they pass exists, the server starts with them, and the
//! pod's termination grace covers preStop plus the server's drain.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::process::{ServerProcess, BIN};

fn read(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The server arguments of the Dockerfile's `CMD ["…", …]`.
fn dockerfile_args() -> Vec<String> {
    let dockerfile = read("deploy/Dockerfile");
    let cmd = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("a CMD line");
    cmd.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|a| a.trim().trim_matches('"').to_owned())
        .collect()
}

/// The container's `args:` list in the Kubernetes example.
fn k8s_args() -> Vec<String> {
    let yaml = read("deploy/k8s.yaml");
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "args:").skip(1);
    let mut args = Vec::new();
    for line in lines.by_ref() {
        let item = line.trim();
        if item.starts_with('#') {
            continue;
        }
        let Some(value) = item.strip_prefix("- ") else {
            break;
        };
        args.push(value.trim_matches('"').to_owned());
    }
    args
}

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
        let mut local = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--listen" => drop(it.next()),
                "--metrics-listen" => {
                    it.next();
                    local.extend(["--metrics-listen".to_owned(), "127.0.0.1:0".to_owned()]);
                }
                _ => local.push(arg.clone()),
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
    let number = |key: &str| -> u64 {
        yaml.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key}"))
            .trim()
            .parse()
            .unwrap()
    };
    let termination = number("terminationGracePeriodSeconds:");
    let pre_stop: u64 = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("command: [\"sleep\", \""))
        .and_then(|rest| rest.split('"').next())
        .expect("a preStop sleep")
        .parse()
        .unwrap();
    let args = k8s_args();
    let grace = args
        .iter()
        .position(|a| a == "--grace-period")
        .map(|i| humantime_secs(&args[i + 1]))
        .expect("--grace-period in the args");
    assert!(
        pre_stop + grace < termination,
        "preStop {pre_stop} s + grace {grace} s must fit in {termination} s"
    );
}

fn humantime_secs(text: &str) -> u64 {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let value: u64 = digits.parse().unwrap();
    match &text[digits.len()..] {
        "s" => value,
        "m" => value * 60,
        other => panic!("unexpected unit {other:?} in {text}"),
    }
}
