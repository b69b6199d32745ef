//! What the repository's files say (`deploy/Dockerfile`, `deploy/k8s.yaml`,
//! the interop lists), read the simple way their tests need (not general
//! Dockerfile or YAML parsers).

use std::path::PathBuf;

/// Where a file of the repository is.
pub fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A file of the repository.
pub fn read(relative: &str) -> String {
    let path = path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The server arguments of the Dockerfile: its `ENV YES_SERVER_…=VALUE`
/// lines as the flags they stand for (`YES_SERVER_LISTEN` is `--listen`),
/// then its `CMD ["…", …]`.
pub fn dockerfile_args() -> Vec<String> {
    let dockerfile = read("deploy/Dockerfile");
    let mut args = Vec::new();
    for (name, value) in dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("ENV YES_SERVER_")?.split_once('='))
    {
        args.push(format!("--{}", name.to_lowercase().replace('_', "-")));
        args.push(value.trim().trim_matches('"').to_owned());
    }
    let cmd = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("a CMD line");
    args.extend(
        cmd.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(|a| a.trim().trim_matches('"').to_owned()),
    );
    args
}

/// The container's `args:` list in the Kubernetes example.
pub fn k8s_args() -> Vec<String> {
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

/// `args` with the gRPC address taken out and the metrics address moved to
/// a free loopback port: tests listen on loopback only, never on 9090.
pub fn on_loopback(args: &[String]) -> Vec<String> {
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
    local
}

/// The value of the first `key: value` line of the Kubernetes example.
pub fn k8s_number(key: &str) -> u64 {
    read("deploy/k8s.yaml")
        .lines()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {key}"))
        .trim()
        .parse()
        .unwrap()
}

/// The gRPC health service each probe (`readinessProbe`, `livenessProbe`,
/// …) of the Kubernetes example asks about ("" when it names none).
pub fn k8s_grpc_probes() -> Vec<(String, String)> {
    let yaml = read("deploy/k8s.yaml");
    let indent = |l: &str| l.len() - l.trim_start().len();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut probes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.trim().strip_suffix("Probe:") else {
            continue;
        };
        let block: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| indent(l) > indent(line))
            .copied()
            .collect();
        if block.iter().any(|l| l.trim() == "grpc:") {
            let service = block
                .iter()
                .find_map(|l| l.trim().strip_prefix("service:"))
                .map_or("", str::trim);
            probes.push((format!("{name}Probe"), service.to_owned()));
        }
    }
    probes
}

/// `10s` or `5m` in seconds.
pub fn seconds(text: &str) -> u64 {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let value: u64 = digits.parse().unwrap();
    match &text[digits.len()..] {
        "s" => value,
        "m" => value * 60,
        other => panic!("unexpected unit {other:?} in {text}"),
    }
}

/// The value after `flag` in `args`.
pub fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).map(String::as_str)
}
