//! `deploy/Dockerfile` built and run for real: podman builds the runtime
//! image (on a Debian base made by `deploy/podman/setup.sh`, from the
//! binaries cargo built), starts it with the arguments `deploy/k8s.yaml`
//! gives the container and the restrictions its securityContext sets, and
//! everything is checked from outside: the user it runs as, the health
//! probes the manifest declares, a flowing and a paused stream, `podman
//! stop` (SIGTERM to PID 1, then the manifest's grace) ending open streams
//! with UNAVAILABLE and an exit 0, and three replicas behind round_robin
//! handing a stopped one's streams to the others. Prints one `container:`
//! line with the figures.
//!
//! A machine where podman cannot run containers fails this test with the
//! reason; `YES_GRPC_SKIP_CONTAINER=1` skips it there (CI never sets it).

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use grpcio::RpcStatusCode;
use grpcio_health::proto::{HealthCheckRequest, ServingStatus};
use grpcio_health::HealthClient;

use common::metrics::{codes_at_end, flowing_and_paused, metric};
use common::podman::{output, podman, run, skipped};
use common::process::{ServerProcess, BIN};
use common::recipes::{k8s_args, k8s_grpc_probes, k8s_number, on_loopback, path};
use common::replicas::{open, open_on_every_replica, read_until_unavailable, round_robin};
use common::*;
use yes_grpc::proto::yes_grpc::SayYesClient;

const SKIP: &str = "YES_GRPC_SKIP_CONTAINER";
const BASE: &str = "localhost/yes-grpc-base:bookworm";
const SETUP: &str = "deploy/podman/setup.sh";

/// Whether podman can run a container here; the one line that says why not.
fn podman_works() -> Result<(), String> {
    output(podman(&["--version"]))?;
    output(podman(&["image", "exists", BASE]))
        .map_err(|_| format!("the base image {BASE} is missing (made by {SETUP})"))?;
    output(podman(&["run", "--rm", "--network", "host", BASE, "true"]))?;
    Ok(())
}

/// The runtime image built from `deploy/Dockerfile` with the binaries cargo
/// built (stripped, as the Dockerfile's build stage does), removed on drop.
struct Image {
    tag: String,
    bytes: u64,
    built_in: Duration,
    /// The build's intermediate stages, left untagged by podman.
    stages: Vec<String>,
}

impl Image {
    fn build() -> Image {
        let context = std::env::temp_dir().join(format!("yes-grpc-image-{}", std::process::id()));
        let bin = context.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for (name, path) in [
            ("yes-server", BIN),
            ("yes-client", env!("CARGO_BIN_EXE_yes-client")),
        ] {
            let mut strip = Command::new("strip");
            strip.arg("-o").arg(bin.join(name)).arg(path);
            run(strip);
        }
        let tag = format!("localhost/yes-server:test-{}", std::process::id());
        let started = Instant::now();
        let dangling_before = dangling_images();
        // Docker's image format: OCI images have no HEALTHCHECK.
        let mut build = podman(&["build", "--quiet", "--format", "docker"]);
        build
            .args(["--network", "host", "--tag", &tag])
            .arg("--file")
            .arg(path("deploy/Dockerfile"))
            .args(["--build-arg", &format!("RUNTIME_IMAGE={BASE}")])
            .args(["--build-arg", "BINARIES=prebuilt"])
            .arg(&context);
        let built = output(build);
        let built_in = started.elapsed();
        let _ = std::fs::remove_dir_all(&context);
        if let Err(e) = built {
            panic!("container: the image did not build: {e}");
        }
        let bytes = run(podman(&["image", "inspect", "--format", "{{.Size}}", &tag]));
        // The build's stages stay behind as untagged images: the ones that
        // were not there before go with the image.
        let stages = dangling_images()
            .into_iter()
            .filter(|id| !dangling_before.contains(id))
            .collect();
        Image {
            bytes: bytes.parse().unwrap(),
            tag,
            built_in,
            stages,
        }
    }
}

/// The ids of the untagged images in podman's storage.
fn dangling_images() -> Vec<String> {
    let ids = run(podman(&["images", "--quiet", "--filter", "dangling=true"]));
    ids.lines().map(str::to_owned).collect()
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman(&["rmi", "--force", &self.tag]).output();
        for stage in &self.stages {
            let _ = podman(&["rmi", stage]).output();
        }
    }
}

/// One container of the image, run in the foreground by `podman run` (so
/// its output is the server's, and `podman run` exits with the server's
/// status), on the host's network (ports on loopback, picked by the server).
struct Container {
    name: String,
    server: ServerProcess,
}

impl Container {
    /// Starts the image the way `deploy/k8s.yaml` runs it: its arguments
    /// (addresses moved to free loopback ports) and its securityContext.
    fn start(image: &Image) -> Container {
        let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
        args.extend(on_loopback(&k8s_args()));
        Container::run(image, "host", &args)
    }

    /// Runs the image with the manifest's securityContext (read-only root,
    /// no capabilities, no new privileges) on `network`, with `args` for
    /// the server (none: the image's own).
    fn run(image: &Image, network: &str, args: &[String]) -> Container {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "yes-grpc-test-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let mut command = podman(&["run", "--rm", "--name", &name, "--network", network]);
        command
            .args(["--read-only", "--cap-drop", "all"])
            .args(["--security-opt", "no-new-privileges", &image.tag])
            .args(args);
        Container {
            name,
            server: ServerProcess::spawn_command(command),
        }
    }

    /// The server's process id on this host.
    fn host_pid(&self) -> u32 {
        let pid = run(podman(&[
            "inspect",
            "--format",
            "{{.State.Pid}}",
            &self.name,
        ]));
        pid.parse().unwrap()
    }

    /// `podman stop` with the manifest's grace: SIGTERM to PID 1, SIGKILL
    /// after `grace`. Returns how long the container took to exit.
    fn stop(&mut self, grace: u64) -> Duration {
        let started = Instant::now();
        run(podman(&["stop", "--time", &grace.to_string(), &self.name]));
        let status = self.server.wait(PATIENCE);
        let took = started.elapsed();
        assert!(
            status.success(),
            "the container exited with {status:?}: {:#?}",
            self.server.rest_of_log()
        );
        took
    }

    fn client(&self) -> SayYesClient {
        SayYesClient::new(channel_to(&self.server.addr, |b| b))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // A failed test must not leave its container running.
        let _ = podman(&["rm", "--force", "--time", "0", &self.name]).output();
    }
}

/// A `/proc/PID/status` field's values.
fn status_field(pid: u32, field: &str) -> Vec<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect()
}

#[test]
#[ignore = "builds a release image with podman: scripts/test.sh runs it (--release --ignored)"]
fn container_image_runs_as_the_manifest_says_and_drains_on_sigterm() {
    if skipped(SKIP) {
        eprintln!("container: skipped ({SKIP} is set)");
        return;
    }
    if let Err(why) = podman_works() {
        panic!(
            "container: podman cannot run containers here: {why}. {SETUP} installs podman and \
             makes the base image; {SKIP}=1 skips this test on machines that cannot run it."
        );
    }
    let grace = k8s_number("terminationGracePeriodSeconds");
    let image = Image::build();

    // One container: who it runs as, its probes, a flowing and a paused stream.
    let mut one = Container::start(&image);
    let pid = one.host_pid();
    let uid = status_field(pid, "Uid")[0];
    assert_ne!(uid, 0, "the server runs as root");
    assert_eq!(
        status_field(pid, "NSpid").last(),
        Some(&1),
        "yes-server is not PID 1 in its container"
    );
    let health = HealthClient::new(channel_to(&one.server.addr, |b| b));
    let probes = k8s_grpc_probes();
    assert!(probes.len() >= 2, "the manifest's gRPC probes: {probes:?}");
    for (probe, service) in &probes {
        let mut check = HealthCheckRequest::new();
        check.service = service.clone();
        let status = health
            .check(&check)
            .unwrap_or_else(|e| panic!("{probe}: {e}"));
        assert_eq!(
            status.status,
            ServingStatus::Serving,
            "{probe} ({service:?})"
        );
    }
    let metrics = one.server.metrics_addr();
    let client = one.client();
    let streams = flowing_and_paused(&client, metrics, "container ✓");
    let rss_mib = status_field(pid, "VmRSS")[0] as f64 / 1024.0;

    // podman stop: both streams end with UNAVAILABLE, the container exits 0.
    let readers = codes_at_end(streams);
    let took = one.stop(grace);
    assert_eq!(readers.join().unwrap(), [RpcStatusCode::UNAVAILABLE; 2]);
    assert!(
        took < Duration::from_secs(grace),
        "exited after {took:?}, the grace is {grace} s"
    );

    let (replicas, moved) = replicas_hand_over(&image, grace);
    let healthcheck = image_healthcheck(&image);
    println!(
        "container: image {:.0} MB built in {:.1} s; uid {uid}; health SERVING; streaming ok \
         (RSS {rss_mib:.1} MiB); SIGTERM -> exit 0 in {} ms; replicas {replicas}, {moved} streams moved; \
         HEALTHCHECK {healthcheck}",
        image.bytes as f64 / 1e6,
        image.built_in.as_secs_f64(),
        took.as_millis(),
    );
}

/// The image's own HEALTHCHECK (for podman and docker, which have no gRPC
/// probes), run as the image defines it: the container on a network of its
/// own, with the image's default address, so port 9090 is its own. The
/// check asks gRPC health through the image's yes-client. Returns podman's
/// verdict.
fn image_healthcheck(image: &Image) -> String {
    let mut container = Container::run(image, "none", &[]);
    let configured = run(podman(&[
        "inspect",
        "--format",
        "{{.Config.Healthcheck.Test}}",
        &container.name,
    ]));
    assert!(configured.contains("--health yes.SayYes"), "{configured}");
    let checked = output(podman(&["healthcheck", "run", &container.name]));
    let verdict = match &checked {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Err(e) => panic!("the image's HEALTHCHECK failed on a serving server: {e}"),
    };
    container.stop(k8s_number("terminationGracePeriodSeconds"));
    if verdict.is_empty() {
        "healthy".to_owned()
    } else {
        verdict
    }
}

/// Three containers behind one round_robin client; the first is stopped
/// while streams flow: its streams end with UNAVAILABLE and new ones go to
/// the others. Returns the replicas and how many streams moved.
fn replicas_hand_over(image: &Image, grace: u64) -> (usize, u64) {
    let mut replicas: Vec<Container> = (0..3).map(|_| Container::start(image)).collect();
    let metrics: Vec<_> = replicas
        .iter_mut()
        .map(|r| r.server.metrics_addr())
        .collect();
    let active = |i: usize| metric(metrics[i], "yes_active_streams{method=\"YesWithFc\"}") as u64;
    let addrs: Vec<String> = replicas.iter().map(|r| r.server.addr.clone()).collect();
    let client = round_robin(&addrs);
    let mut streams = open_on_every_replica(&client, 30, || (0..3).map(active).collect());
    let spread: Vec<u64> = (0..3).map(active).collect();
    assert_eq!(
        spread.iter().sum::<u64>(),
        streams.len() as u64,
        "{spread:?}"
    );

    let mut first = replicas.remove(0);
    let stopping = std::thread::spawn(move || first.stop(grace));
    read_until_unavailable(&mut streams, spread[0], Duration::from_secs(grace));
    stopping.join().unwrap();
    drop(streams);
    assert!(eventually(|| active(1) + active(2) == 0));
    let _again = open(&client, 20);
    let now = [active(1), active(2)];
    assert_eq!(now[0] + now[1], 20, "{now:?}");
    assert!(now.iter().all(|a| *a > 0), "not spread: {now:?}");
    (3, spread[0])
}
