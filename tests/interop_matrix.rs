//! The interop matrix: one client per gRPC stack (`interop/<stack>/`), each
//! running the same cases (`interop/CASES.md`) against the real `yes-server`
//! binary on loopback, every stack × case against a fresh server. Prints a
//! line per stack × case, the table the README carries, and
//! `interop-matrix: S stacks, N passed, M failed, K not applicable`; any
//! failure fails the test.
//!
//! Each stack's `setup.sh OUT` builds its client into OUT (under
//! `YES_INTEROP_DIR`, which scripts/test.sh points at the target directory,
//! or this test's own temporary directory) and writes `OUT/run`, the
//! client's command, and `OUT/version`, its gRPC library's.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::certs::Certs;
use common::process::{log_field, ServerProcess};
use common::recipes::{path, read};
use yes_grpc::codec::Encoded;
use yes_grpc::stream::fc_limit;

/// A stack of the matrix: its folder under `interop/` and the name tables show.
struct Stack {
    folder: String,
    name: String,
}

/// The stacks, from `interop/stacks.txt`.
fn stacks() -> Vec<Stack> {
    read("interop/stacks.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (folder, name) = line
                .split_once(char::is_whitespace)
                .unwrap_or_else(|| panic!("interop/stacks.txt: {line:?} is not FOLDER NAME"));
            Stack {
                folder: folder.to_owned(),
                name: name.trim().to_owned(),
            }
        })
        .collect()
}

/// The cases, in the table's order: the first column of `interop/CASES.md`'s
/// table, which says what each does and when it passes.
fn cases() -> Vec<String> {
    let cases: Vec<String> = read("interop/CASES.md")
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(case, _)| case.to_owned()))
        .collect();
    assert!(!cases.is_empty(), "interop/CASES.md's table lists no case");
    cases
}

/// How long one client may take for one case (each gives up after 30 s).
const CASE_LIMIT: Duration = Duration::from_secs(90);

#[derive(Clone, Debug, PartialEq)]
enum Verdict {
    Pass(String),
    Fail(String),
    NotApplicable(String),
}

struct Client {
    name: String,
    version: String,
    run: PathBuf,
}

/// Builds one stack's client with its `setup.sh`, and checks that the client
/// knows exactly the matrix's cases: it names them in its own language and
/// lists them with `RUN cases`.
fn set_up(stack: &Stack, cases: &[String]) -> Result<Client, String> {
    let (folder, name) = (&stack.folder, &stack.name);
    let dir = std::env::var_os("YES_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop"));
    let out = dir.join(folder);
    let started = Instant::now();
    let mut setup = Command::new("bash");
    setup
        .arg(path(&format!("interop/{folder}/setup.sh")))
        .arg(&out);
    // What cargo set for this test (its own variables, the library path,
    // .cargo/config.toml's [env]) would make the tonic client's cargo see a
    // different environment than a build from a shell, and rebuild.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let cargo_set = (key.starts_with("CARGO") && key != "CARGO_HOME")
            || matches!(
                &*key,
                "LD_LIBRARY_PATH" | "PKG_CONFIG" | "GRPCIO_SYS_USE_PKG_CONFIG" | "RUSTC"
            );
        if cargo_set {
            setup.env_remove(&*key);
        }
    }
    let output = setup.output().map_err(|e| format!("bash: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        return Err(format!(
            "interop/{folder}/setup.sh failed ({}):\n{}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    let version = std::fs::read_to_string(out.join("version"))
        .map_err(|e| format!("{}/version: {e}", out.display()))?;
    eprintln!(
        "interop-matrix: {name} client ready ({}) in {:.1} s",
        version.trim(),
        started.elapsed().as_secs_f64()
    );
    let run = out.join("run");
    let listed = Command::new(&run)
        .arg("cases")
        .output()
        .map_err(|e| format!("{} cases: {e}", run.display()))?;
    let mut known: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    known.sort();
    let mut expected = cases.to_vec();
    expected.sort();
    if !listed.status.success() || known != expected {
        let missing: Vec<_> = expected.iter().filter(|c| !known.contains(c)).collect();
        let extra: Vec<_> = known.iter().filter(|c| !expected.contains(c)).collect();
        return Err(format!(
            "the {name} client's cases are not interop/CASES.md's ({}): missing {missing:?}, \
             unknown {extra:?}",
            listed.status
        ));
    }
    Ok(Client {
        name: name.clone(),
        version: version.trim().to_owned(),
        run,
    })
}

/// Server flags every case uses: stream starts are logged too.
const LOG: &[&str] = &["--log-level", "info,yes_grpc::stream=debug"];

/// Runs one case: a fresh server, the client, SIGTERM to the server when
/// the client prints `streaming`, and the checks the runner owns.
fn run_case(client: &Client, case: &str) -> Verdict {
    let certs = (case == "tls").then(|| Certs::new("matrix"));
    let mut args: Vec<String> = LOG.iter().map(|a| a.to_string()).collect();
    if let Some(certs) = &certs {
        args.extend(["--tls-cert".into(), certs.arg("server.pem")]);
        args.extend(["--tls-key".into(), certs.arg("server.key")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = ServerProcess::spawn(&args);

    let mut command = Command::new(&client.run);
    command
        .args([case, &server.addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(certs) = &certs {
        command.env("YES_TLS_CA", certs.path("ca.pem"));
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Verdict::Fail(format!("{} does not start: {e}", client.run.display())),
    };
    let (tx, lines) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut { stderr }, &mut text);
        text
    });

    let deadline = Instant::now() + CASE_LIMIT;
    let mut signalled = false;
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.trim() == "streaming" && !signalled => {
                server.signal(libc::SIGTERM);
                signalled = true;
            }
            Ok(line) => last = Some(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                return Verdict::Fail(format!("no verdict within {CASE_LIMIT:?}"));
            }
        }
    }
    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap_or_default();
    let verdict = parse(case, last.as_deref(), status.success(), &stderr);
    if !matches!(verdict, Verdict::Pass(_)) {
        return verdict;
    }

    // What only the server can tell.
    let mut note = String::new();
    if case == "slow-reader" {
        let line = server.log_until(" ended: ");
        let held = log_field(&line, "max_held");
        let bound = fc_limit(Encoded::reply("slow").len()) as u64;
        if held > bound {
            return Verdict::Fail(format!("the server held {held} bytes, over {bound}"));
        }
        note = format!("; the server held at most {held} bytes (bound {bound})");
    }
    if signalled {
        let exit = server.wait(common::PATIENCE);
        if !exit.success() {
            return Verdict::Fail(format!("the server exited with {exit}"));
        }
    } else {
        server.stop();
    }
    match verdict {
        Verdict::Pass(detail) => Verdict::Pass(detail + &note),
        other => other,
    }
}

/// The client's verdict from its last line.
fn parse(case: &str, last: Option<&str>, exited_ok: bool, stderr: &str) -> Verdict {
    let last = last.unwrap_or("");
    let detail = |prefix: &str| {
        last.strip_prefix(&format!("{prefix} {case}: "))
            .map(str::to_owned)
    };
    if let (Some(detail), true) = (detail("PASS"), exited_ok) {
        Verdict::Pass(detail)
    } else if let (Some(reason), true) = (detail("N/A"), exited_ok) {
        Verdict::NotApplicable(reason)
    } else if let Some(why) = detail("FAIL") {
        Verdict::Fail(why)
    } else {
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        Verdict::Fail(format!(
            "no verdict (last line {last:?}); stderr: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ))
    }
}

#[test]
#[ignore = "builds six client stacks: scripts/test.sh runs it alone, showing each case"]
fn every_client_stack_runs_every_case() {
    let (stacks, cases) = (stacks(), cases());
    let mut results: Vec<(String, Vec<Verdict>)> = Vec::new();
    let mut setup_failures = Vec::new();
    // YES_INTEROP_STACKS=go,tonic runs only those (by folder).
    let only = std::env::var("YES_INTEROP_STACKS").unwrap_or_default();
    let chosen = |folder: &str| only.is_empty() || only.split(',').any(|f| f == folder);
    // A subset that names no stack (a typo) must not pass by running nothing.
    let unknown: Vec<&str> = only
        .split(',')
        .filter(|f| !f.is_empty() && !stacks.iter().any(|s| s.folder == *f))
        .collect();
    assert!(
        unknown.is_empty(),
        "YES_INTEROP_STACKS names no stack {unknown:?}; the stacks are {:?}",
        stacks.iter().map(|s| &s.folder).collect::<Vec<_>>()
    );
    for stack in stacks.iter().filter(|s| chosen(&s.folder)) {
        let client = match set_up(stack, &cases) {
            Ok(client) => client,
            Err(why) => {
                eprintln!("interop-matrix: {}: {why}", stack.name);
                setup_failures.push(stack.name.clone());
                let verdicts = cases
                    .iter()
                    .map(|_| Verdict::Fail("the client did not build".into()))
                    .collect();
                results.push((stack.name.clone(), verdicts));
                continue;
            }
        };
        let mut verdicts = Vec::new();
        for case in &cases {
            let verdict = run_case(&client, case);
            let (word, detail) = match &verdict {
                Verdict::Pass(d) => ("PASS", d),
                Verdict::Fail(d) => ("FAIL", d),
                Verdict::NotApplicable(d) => ("N/A ", d),
            };
            println!(
                "interop-matrix: {:<14} {case:<21} {word} {detail}",
                client.name
            );
            verdicts.push(verdict);
        }
        results.push((client.version.clone(), verdicts));
    }

    println!("\n{}", table(&cases, &results));
    let all: Vec<&Verdict> = results.iter().flat_map(|(_, v)| v).collect();
    let passed = all.iter().filter(|v| matches!(v, Verdict::Pass(_))).count();
    let failed = all.iter().filter(|v| matches!(v, Verdict::Fail(_))).count();
    let na = all.len() - passed - failed;
    println!(
        "interop-matrix: {} stacks, {passed} passed, {failed} failed, {na} not applicable",
        results.len()
    );
    assert!(
        failed == 0,
        "{failed} stack × case runs failed (lines above){}",
        if setup_failures.is_empty() {
            String::new()
        } else {
            format!("; clients that did not build: {setup_failures:?}")
        }
    );
}

/// The README's table: stacks down, cases across.
fn table(cases: &[String], results: &[(String, Vec<Verdict>)]) -> String {
    let mut out = format!("| stack | {} |\n", cases.join(" | "));
    out += &format!("|---|{}\n", "---|".repeat(cases.len()));
    for (stack, verdicts) in results {
        let cells: Vec<&str> = verdicts
            .iter()
            .map(|v| match v {
                Verdict::Pass(_) => "pass",
                Verdict::Fail(_) => "**FAIL**",
                Verdict::NotApplicable(_) => "n/a",
            })
            .collect();
        out += &format!("| {stack} | {} |\n", cells.join(" | "));
    }
    out
}

/// The README's table was printed by this test: its columns are the cases
/// of `interop/CASES.md` in order, and its rows the stacks of
/// `interop/stacks.txt`, each named as "NAME VERSION".
#[test]
fn the_readme_table_has_every_stack_and_case() {
    let (stacks, cases) = (stacks(), cases());
    let readme = read("README.md");
    let header = format!("| stack | {} |", cases.join(" | "));
    let at = readme.find(&header).unwrap_or_else(|| {
        panic!("README.md has no interop table whose header is {header:?}: paste the one the matrix test prints")
    });
    let rows: Vec<&str> = readme[at..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .collect();
    let names: Vec<&str> = stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        rows.len(),
        stacks.len(),
        "README rows {rows:#?} for stacks {names:?}"
    );
    for (row, name) in rows.iter().zip(&names) {
        assert!(
            row.starts_with(&format!("| {name} ")),
            "README row {row:?} is not the stack {name:?} (interop/stacks.txt's order)"
        );
        assert_eq!(
            row.matches(" | ").count(),
            cases.len(),
            "README row {row:?}"
        );
    }
}
