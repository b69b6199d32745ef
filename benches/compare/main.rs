//! yes-server against the sample's grpc-java server (a faithful port in
//! interop/java), and against a floor: a minimal grpcio loop with no producer
//! and no stats, just the sink. Same machine, same clients, one run, the
//! servers alternating.
//!
//! `scripts/bench-compare.sh [--quick]` (or `cargo bench --bench compare`
//! after `interop/java/setup-debian.sh`). Prints a table and writes
//! `target/bench-compare/{results.csv,results.json,*.svg}`. `--ccores` and
//! `--pinning` (`scripts/bench-ccores.sh`) measure one stream only, beside
//! the floors on other C-cores; `--pinning` also with the server and the
//! client on a core each. `--stacks` (`scripts/bench-compare.sh --stacks`)
//! measures one stream of `"yes"` and of 1 KiB from yes-server and the Java
//! reference as read by every client stack of the interop matrix.
//! `--connections` measures what idle and silent connections cost
//! yes-server and the Java reference (`connections.rs`). `--streams`
//! measures 1 to 1,000 concurrent streams over one and eight connections
//! (`scaling.rs`). `--link` measures one stream over shaped links with
//! round trips, in network namespaces (`shaped.rs`, needs root).
//! `--floor-ab` measures yes-server's distance to the floor in alternating
//! rounds, fine enough to tell 5 % (`floor_ab.rs`).
//! `--charts` redraws the charts from the CSV files of an
//! earlier run.
//! `--fuse-filters` adds yes-server with C-core's `fuse_filters` experiment
//! (and only it) to `--ccores` and `--pinning`, side by side.
//!
//! The bench binary plays three roles: the harness (default), the floor
//! server (`YES_BENCH_ROLE=floor`), and the Rust load client
//! (`YES_BENCH_ROLE=client`), so that every server and client is a process
//! of its own and CPU can be read per process from /proc.
//!
//! Where to look: `figures.rs` says what is measured, `peers.rs` who runs
//! it (the servers, the load clients and how they are started), `report.rs`
//! how the figures are reported, `client.rs` is the Rust load client, and
//! `../floor/mod.rs` the floor server.

mod charts;
mod client;
mod connections;
mod figures;
mod floor_ab;
#[path = "../../tests/common/h2.rs"]
#[allow(dead_code)]
mod h2;
#[path = "../../tests/common/link.rs"]
mod link;
#[path = "../../tests/common/listening.rs"]
mod listening;
mod peers;
mod report;
mod scaling;
mod shaped;

use std::path::PathBuf;
use std::process::Command;

fn main() {
    match std::env::var("YES_BENCH_ROLE").as_deref() {
        Ok("floor") => floor_server(),
        Ok("client") => client::load_client(),
        _ => harness(),
    }
}

// The floor: a bare grpcio loop (`benches/floor/mod.rs`, shared with the
// floor built on C-core 1.46).
#[path = "../floor/mod.rs"]
mod floor;

fn floor_server() {
    floor::serve()
}

/// What every measurement needs: the Java classes and where to write.
pub struct Setup {
    pub java_classpath: String,
    pub out: PathBuf,
}

/// The harness: builds the Java peers, then runs the figures the flags ask
/// for (`--ccores`, `--pinning`, `--stacks`, or all of the default run).
fn harness() {
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::args().any(|a| a == "--charts") {
        return redraw_charts();
    }
    let (reps, seconds, slow_seconds) = if quick { (1, 2.0, 15) } else { (3, 5.0, 60) };
    // `--reps N` and `--seconds S` override the repetitions and the
    // seconds per measurement.
    let reps = flag_value("--reps").unwrap_or(reps);
    let seconds = flag_value("--seconds").unwrap_or(seconds);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = out_dir();
    std::fs::create_dir_all(&out).unwrap();
    let java_out = out.join("java");
    let built = Command::new("bash")
        .arg(root.join("interop/java/build.sh"))
        .arg(&java_out)
        .status()
        .unwrap();
    assert!(
        built.success(),
        "interop/java/build.sh failed (interop/java/setup-debian.sh?)"
    );
    let setup = Setup {
        java_classpath: std::fs::read_to_string(java_out.join("classpath"))
            .unwrap()
            .trim()
            .to_owned(),
        out,
    };
    if std::env::args().any(|a| a == "--ccores") {
        return figures::compare_ccores(&setup, reps, seconds);
    }
    if std::env::args().any(|a| a == "--floor-ab") {
        // Its own default: enough rounds to tell 5 %.
        let rounds = flag_value("--reps").unwrap_or(12);
        let streams = flag_value("--concurrent").unwrap_or(1);
        return floor_ab::compare_floor_ab(&setup, rounds, seconds, streams);
    }
    if std::env::args().any(|a| a == "--pinning") {
        return figures::compare_pinning(&setup, reps, seconds);
    }
    if std::env::args().any(|a| a == "--connections") {
        return connections::compare_connections(&setup, quick);
    }
    if std::env::args().any(|a| a == "--link") {
        return shaped::compare_link(&setup, seconds);
    }
    if std::env::args().any(|a| a == "--streams") {
        return scaling::compare_streams(&setup, reps, seconds);
    }
    if std::env::args().any(|a| a == "--stacks") {
        return figures::compare_stacks(&setup, reps, seconds);
    }
    figures::all(&setup, reps, seconds, slow_seconds);
}

/// Where the figures are written: `$CARGO_TARGET_DIR/bench-compare`.
fn out_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    target.join("bench-compare")
}

/// `--charts [DIR]`: prints the tables and draws the charts again from the
/// CSV files in DIR (by default the output folder), for the ones there.
fn redraw_charts() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .iter()
        .position(|a| a == "--charts")
        .and_then(|i| args.get(i + 1))
        .filter(|a| !a.starts_with("--"))
        .map_or_else(out_dir, PathBuf::from);
    let mut drawn = 0;
    if let Ok(text) = std::fs::read_to_string(dir.join(scaling::CSV)) {
        let samples = scaling::read_csv(&text);
        scaling::print_streams(&samples);
        scaling::draw(&dir, &samples);
        drawn += 1;
    }
    if let Ok(text) = std::fs::read_to_string(dir.join(shaped::CSV)) {
        let samples = shaped::read_csv(&text);
        shaped::print_link(&samples);
        shaped::draw(&dir, &samples);
        drawn += 1;
    }
    eprintln!("compare: drew {drawn} chart(s) in {}", dir.display());
}

/// The value after `flag` on the command line, if any.
fn flag_value<T: std::str::FromStr>(flag: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    let value = args.iter().position(|a| a == flag).map(|i| &args[i + 1])?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{flag} takes a number, not {value:?}")),
    )
}
