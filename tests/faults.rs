//! The fault suite (issue 7): soak, scale, churn, shutdown under load and
//! request fuzzing, against the real binary over loopback. The quick tier
//! runs with `cargo test` (and CI); the long tier is `scripts/faults-long.sh`
//! (release build, full counts). Each test prints `faults:` lines with its
//! figures and the tier they belong to. (Hostile bytes: tests/hostile.rs.)

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::StreamExt;
use grpcio::{CallOption, Channel, ChannelBuilder, MethodType, RpcStatusCode};
use grpcio_health::proto::{HealthCheckRequest, ServingStatus};
use grpcio_health::HealthClient;
use protobuf::Message;

use yes_grpc::codec::Request;
use yes_grpc::proto::yes::YesRequest;
use yes_grpc::proto::yes_grpc::SayYesClient;

use common::metrics::metric;
use common::noise::Noise;
use common::process::ServerProcess;
use common::tier::{alone, Tier};
use common::*;

const CLIENT: &str = env!("CARGO_BIN_EXE_yes-client");

/// How long waits that scale with load may take: 200 or 1,000 streams on a
/// debug build take a while (C-core is optimised, our side is not).
const SLOW: Duration = Duration::from_secs(90);

/// Stream starts are logged too, so the log tells live streams.
const LOG: &[&str] = &["--log-level", "info,yes_grpc::stream=debug"];

/// A channel on a connection of its own to a server process.
fn connection_channel(server: &ServerProcess) -> Channel {
    channel_to(&server.addr, |b| b)
}

/// A client on a connection of its own to a server process.
fn connection(server: &ServerProcess) -> SayYesClient {
    SayYesClient::new(connection_channel(server))
}

/// Mean of the samples in a window.
fn mean(samples: &[u64]) -> f64 {
    samples.iter().sum::<u64>() as f64 / samples.len().max(1) as f64
}

/// The tests of the fault suite's quick tier. They take minutes and print
/// figures, so plain `cargo test` lists them as ignored, saying why;
/// scripts/test.sh runs them alone (`--ignored --nocapture`).
mod fault_suite {
    use super::*;

    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn soak_slow_readers_and_fast_streams() {
        let _alone = alone();
        let tier = Tier::from_env();
        let mut args = LOG.to_vec();
        args.extend(["--metrics-listen", "127.0.0.1:0"]);
        let mut server = ServerProcess::spawn(&args);
        let metrics = server.metrics_addr();
        let paused = || metric(metrics, "yes_paused_streams{method=\"YesWithFc\"}") as usize;
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(AtomicU64::new(0));
        // A connection for the health check below, made while the server is
        // idle, so that the check itself is one round trip.
        let health = HealthClient::new(connection_channel(&server));
        let answer = health.check(&HealthCheckRequest::default()).unwrap();
        assert_eq!(answer.status, ServingStatus::Serving);

        // 100 slow readers (10 msgs/s each), ten per thread and connection.
        // Their windows: HTTP/2's default 64 KiB in the quick tier; in the
        // long one C-core's own, which opens 4 MiB per stream at once.
        let slow_window = tier.pick(Some(65_535), None);
        let mut threads = Vec::new();
        for _ in 0..10 {
            let channel = channel_to(&server.addr, |b| match slow_window {
                Some(bytes) => b.http2_bdp_probe(false).stream_initial_window_size(bytes),
                None => b,
            });
            let client = SayYesClient::new(channel);
            let (stop, errors) = (stop.clone(), errors.clone());
            threads.push(std::thread::spawn(move || {
                let mut streams: Vec<_> = (0..10)
                    .map(|_| client.yes_with_fc(&request("slow")).unwrap())
                    .collect();
                while !stop.load(Ordering::Relaxed) {
                    let round = Instant::now();
                    for stream in &mut streams {
                        if !matches!(block_on(stream.next()), Some(Ok(_))) {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    // Pacing, not synchronisation: 10 reads a second per stream.
                    std::thread::sleep(Duration::from_millis(100).saturating_sub(round.elapsed()));
                }
            }));
        }
        assert!(
            eventually_within(SLOW, || server.live_streams() == 100),
            "{} streams live, not 100",
            server.live_streams()
        );

        // The server now fills 100 windows, a completion per reply; it must
        // go on reading its sockets meanwhile (1.51 did not without
        // src/poller.rs), so a call is answered before the windows are all
        // full. The call goes on a connection made beforehand, so it is one
        // round trip. Not "before half are full", as this test once said:
        // on a 2-core machine the answer also waits for a completion-queue
        // thread busy with the filling, and on 1.51 it came at 0 to 52 of
        // 100 paused with the poller (66 and 76 without), so that bound
        // failed now and then with the server reading fine (1.85: 0 to 49
        // in 12 runs). A server that stops reading answers only once all are.
        let filling = Instant::now();
        let answer = health.check(&HealthCheckRequest::default()).unwrap();
        assert_eq!(answer.status, ServingStatus::Serving);
        let paused_at_answer = paused();
        assert!(
            paused_at_answer < 100,
            "a health check was answered only once all 100 slow streams were paused: the \
             server did not read while it filled their windows"
        );
        // The slow readers are slow once their windows are full: 6 MiB in
        // all in the quick tier, 400 MiB of 11-byte replies in the long one.
        assert!(
            eventually_within(tier.pick(SLOW, 4 * SLOW), || paused() == 100),
            "{} of 100 slow streams paused by flow control",
            paused()
        );
        let fill = filling.elapsed();

        // 4 fast streams, each counting what it reads.
        let fast: Vec<Arc<AtomicU64>> = (0..4).map(|_| Arc::new(AtomicU64::new(0))).collect();
        for counter in &fast {
            let client = connection(&server);
            let (stop, errors, counter) = (stop.clone(), errors.clone(), counter.clone());
            threads.push(std::thread::spawn(move || {
                let mut stream = client.yes_with_fc(&request("fast")).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    match block_on(stream.next()) {
                        Some(Ok(_)) => counter.fetch_add(1, Ordering::Relaxed),
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
        assert!(
            eventually_within(SLOW, || server.live_streams() == 104),
            "{} streams live, not 104",
            server.live_streams()
        );

        // Sample RSS and each fast stream's count once a second.
        let seconds = tier.soak().as_secs();
        let (mut rss, mut counts) = (Vec::new(), Vec::new());
        let started = Instant::now();
        for second in 1..=seconds {
            std::thread::sleep(Duration::from_secs(second).saturating_sub(started.elapsed()));
            counts.push(
                fast.iter()
                    .map(|c| c.load(Ordering::Relaxed))
                    .collect::<Vec<_>>(),
            );
            rss.push(server.rss_kib());
        }
        stop.store(true, Ordering::Relaxed);
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(eventually(|| server.live_streams() == 0));
        server.stop();

        // Per second: all fast streams' messages, and the fewest any one read.
        let mut rates = Vec::new();
        let mut slowest = Vec::new();
        let mut last = vec![0; fast.len()];
        for now in &counts {
            let deltas: Vec<u64> = now.iter().zip(&last).map(|(n, l)| n - l).collect();
            rates.push(deltas.iter().sum::<u64>());
            slowest.push(*deltas.iter().min().unwrap());
            last.clone_from(now);
        }
        // Windows: the first after a quarter of the run as warm-up (C-core's
        // and the allocator's pools grow meanwhile), and the last, each a
        // quarter of the run.
        let window = seconds as usize / 4;
        let first = window..2 * window;
        let (first_rss, last_rss) = (mean(&rss[first.clone()]), mean(&rss[rss.len() - window..]));
        let (first_rate, last_rate) = (mean(&rates[first]), mean(&rates[rates.len() - window..]));
        println!(
            "faults: soak ({tier:?} tier, {seconds} s): 100 slow readers ({}) paused by flow \
             control {:.1} s after they started (a health check meanwhile was answered with \
             {paused_at_answer} paused); 4 fast streams \
             {:.0} msgs/s in the first {window} s window, {:.0} in the last, the slowest one \
             never under {} msgs in a second; RSS {:.0} KiB -> {:.0} KiB ({:+.1} %); stream \
             errors {}",
            match slow_window {
                Some(bytes) => format!("{bytes}-byte windows"),
                None => "C-core's windows".to_owned(),
            },
            fill.as_secs_f64(),
            first_rate,
            last_rate,
            slowest.iter().min().unwrap(),
            first_rss,
            last_rss,
            (last_rss / first_rss - 1.0) * 100.0,
            errors.load(Ordering::Relaxed)
        );
        assert_eq!(
            errors.load(Ordering::Relaxed),
            0,
            "stream errors in the soak"
        );
        assert!(
            last_rss <= first_rss * 1.10,
            "RSS grew from {first_rss:.0} to {last_rss:.0} KiB"
        );
        // A stall shows as a second in which a fast stream read nothing.
        assert!(
            slowest.iter().all(|&n| n > 0),
            "a fast stream stood still for a second; counts, second by second: {counts:?}"
        );
        assert!(
            last_rate >= first_rate * 0.5,
            "the fast streams slowed from {first_rate:.0} to {last_rate:.0} msgs/s"
        );
    }

    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn scale_a_thousand_streams_all_progress() {
        let _alone = alone();
        let mut server = ServerProcess::spawn(LOG);
        let before = server.rss_kib();
        let clients: Vec<SayYesClient> = (0..4).map(|_| connection(&server)).collect();
        let mut streams: Vec<_> = (0..1000)
            .map(|i| clients[i % 4].yes_with_fc(&request("scale")).unwrap())
            .collect();
        assert!(eventually_within(SLOW, || server.live_streams() == 1000));
        // Every stream makes progress, round after round.
        for _ in 0..3 {
            for stream in &mut streams {
                assert_eq!(read(stream, 10), ["scale"; 10]);
            }
        }
        let during = server.rss_kib();
        drop(streams);
        assert!(eventually(|| server.live_streams() == 0));
        // The server hands freed heap back every few seconds: most of what
        // the streams took, not all of it, as about 5 MB stays with the
        // process on both C-cores (pools and fragments the first thousand
        // streams leave, measured 5.1-5.7 MB of a 21-26 MB rise; a quarter
        // was the bound until the system C-core's 5.4 MB of 21 MB failed
        // it). Kept heap would leave RSS near `during`.
        let back = eventually(|| server.rss_kib() < before + (during - before) / 2);
        let after = server.rss_kib();
        server.stop();
        assert!(
            back,
            "RSS stayed at {after} KiB after the streams ended (before: {before} KiB)"
        );
        println!(
            "faults: scale: 1000 concurrent streams on 4 connections all read 30 replies; RSS {before} \
             KiB -> {during} KiB with them ({:.1} KiB per stream) -> {after} KiB after",
            (during - before) as f64 / 1000.0
        );
    }

    /// A `yes-client` process streaming into a pipe nobody reads, so it is
    /// paused, not spinning, when it is killed.
    fn paused_client(server: &ServerProcess) -> Child {
        Command::new(CLIENT)
            .args(["--target", &server.addr, "churn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("yes-client starts")
    }

    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn churn_cancels_deadlines_and_killed_clients_leave_nothing() {
        let _alone = alone();
        let tier = Tier::from_env();
        let (cancels, deadlines, kills) = tier.pick((2_000, 200, 20), (10_000, 1_000, 200));
        let mut server = ServerProcess::spawn(LOG);
        let client = connection(&server);

        // Warm up, so the baseline includes the allocator's settled pools.
        let cycle = |client: &SayYesClient| {
            let mut stream = client.yes_with_fc(&request("churn")).unwrap();
            read(&mut stream, 1);
        };
        for _ in 0..100 {
            cycle(&client);
        }
        let baseline = server.rss_kib();

        let started = Instant::now();
        for _ in 0..cancels {
            cycle(&client);
        }
        let cancel_time = started.elapsed();

        let started = Instant::now();
        for batch in 0..deadlines / 100 {
            let calls: Vec<_> = (0..100)
                .map(|_| {
                    let option = CallOption::default().timeout(Duration::from_millis(20));
                    client.yes_with_fc_opt(&request("late"), option).unwrap()
                })
                .collect();
            for mut call in calls {
                let (_, error) = read_to_error(&mut call);
                assert_eq!(
                    code(&error),
                    RpcStatusCode::DEADLINE_EXCEEDED,
                    "batch {batch}"
                );
            }
        }
        let deadline_time = started.elapsed();

        let started = Instant::now();
        for _ in 0..kills / 20 {
            let mut children: Vec<Child> = (0..20).map(|_| paused_client(&server)).collect();
            // Each child's first line proves its stream flows.
            for child in &mut children {
                let mut line = String::new();
                let stdout = child.stdout.as_mut().unwrap();
                std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                    .unwrap();
                if line != "churn\n" {
                    let mut stderr = String::new();
                    let _ =
                        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr);
                    panic!("yes-client printed {line:?}, then: {stderr}");
                }
            }
            for child in &mut children {
                child.kill().unwrap();
                child.wait().unwrap();
            }
        }
        let kill_time = started.elapsed();

        // Every stream that started logged its end. (A 20 ms deadline may pass
        // before the call reaches the handler: C-core ends those itself.)
        assert!(
            eventually(|| server.live_streams() == 0),
            "{} streams still live",
            server.live_streams()
        );
        let lines = server.drain_log().to_vec();
        let total = lines
            .iter()
            .filter(|l| l.contains(" started: reply"))
            .count();
        let count = |reason: &str| lines.iter().filter(|l| l.contains(reason)).count();
        // Right after the churn RSS may still hold freed heap; the server
        // hands it back within a few seconds (memory::TRIM_EVERY).
        let at_end = server.rss_kib();
        let settled = Instant::now();
        let back = eventually(|| server.rss_kib() as f64 <= baseline as f64 * 1.10);
        let after = server.rss_kib();
        let settled = settled.elapsed();
        server.stop();
        println!(
            "faults: churn ({tier:?} tier): {cancels} start-then-cancel cycles in {:.1} s ({:.0}/s), \
             {deadlines} deadline expiries in {:.1} s, {kills} yes-client processes killed with \
             SIGKILL mid-stream in {:.1} s; all {total} streams that reached the handler logged \
             their end ({} cancelled or lost, {} by deadline); RSS baseline {baseline} KiB, {at_end} KiB at the end, {after} KiB \
             ({:+.1} %) {:.1} s later",
            cancel_time.as_secs_f64(),
            cancels as f64 / cancel_time.as_secs_f64(),
            deadline_time.as_secs_f64(),
            kill_time.as_secs_f64(),
            count("ended: cancelled"),
            count("ended: client deadline exceeded"),
            (after as f64 / baseline as f64 - 1.0) * 100.0,
            settled.as_secs_f64()
        );
        assert!(
            total >= 100 + cancels + kills,
            "only {total} streams started"
        );
        assert_eq!(count("ended: cancelled"), 100 + cancels + kills);
        assert!(
            back,
            "RSS {after} KiB stayed over 110 % of the baseline {baseline} KiB"
        );
    }

    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn shutdown_under_load_gives_every_client_a_status() {
        let _alone = alone();
        let mut server = ServerProcess::spawn(&["--grace-period", "10s"]);
        let clients: Vec<SayYesClient> = (0..4).map(|_| connection(&server)).collect();
        let mut streams: Vec<_> = (0..200)
            .map(|i| clients[i % 4].yes_with_fc(&request("load")).unwrap())
            .collect();
        for stream in &mut streams {
            read(stream, 5);
        }
        // Keep every stream flowing while the signal lands.
        let readers: Vec<_> = streams
            .into_iter()
            .map(|mut stream| std::thread::spawn(move || read_to_error_within(SLOW, &mut stream)))
            .collect();
        let signalled = Instant::now();
        server.signal(libc::SIGTERM);
        let status = server.wait(Duration::from_secs(15));
        let exited = signalled.elapsed();
        let mut codes = std::collections::BTreeMap::new();
        for reader in readers {
            let (_, error) = reader.join().unwrap();
            *codes.entry(format!("{:?}", code(&error))).or_insert(0) += 1;
        }
        println!(
            "faults: shutdown under load: SIGTERM with 200 streams flowing: exit {status} after \
             {:.0} ms (grace 10 s); statuses the clients got: {codes:?}",
            exited.as_secs_f64() * 1000.0
        );
        assert!(status.success());
        assert!(exited < Duration::from_secs(10), "exit took {exited:?}");
        assert_eq!(codes.get("14-UNAVAILABLE"), Some(&200), "{codes:?}");
    }

    /// A valid request, then mutated: bits flipped, bytes inserted or cut,
    /// lengths and tags overwritten, or pure noise.
    fn mutated_request(noise: &mut Noise) -> Vec<u8> {
        let texts = [
            "",
            "yes",
            "ja ✓ はい",
            "a longer message of some forty bytes ....",
        ];
        let mut request = YesRequest::new();
        request.set_message(texts[noise.below(texts.len())].repeat(1 + noise.below(4)));
        let mut bytes = request.write_to_bytes().unwrap();
        for _ in 0..1 + noise.below(4) {
            match noise.below(6) {
                0 if !bytes.is_empty() => {
                    let at = noise.below(bytes.len());
                    bytes[at] ^= 1 << noise.below(8);
                }
                1 => {
                    let at = noise.below(bytes.len() + 1);
                    bytes.insert(at, noise.next() as u8);
                }
                2 if !bytes.is_empty() => bytes.truncate(noise.below(bytes.len())),
                3 if !bytes.is_empty() => {
                    let at = noise.below(bytes.len());
                    bytes[at] = [0x00, 0x0a, 0x7f, 0x80, 0xff][noise.below(5)];
                }
                4 => {
                    let len = noise.below(64);
                    bytes = noise.bytes(len);
                }
                _ => {
                    let len = noise.below(8);
                    bytes.extend(noise.bytes(len));
                }
            }
        }
        bytes
    }

    /// The request decoder against mutated requests: it never panics, and it
    /// accepts exactly what protobuf's own parser accepts.
    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn fuzz_request_decoding_agrees_with_protobuf() {
        let tier = Tier::from_env();
        let runs = tier.pick(200_000, 5_000_000);
        let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
        let (mut valid, mut invalid) = (0u64, 0u64);
        let started = Instant::now();
        for run in 0..runs {
            let bytes = mutated_request(&mut noise);
            let reference = YesRequest::parse_from_bytes(&bytes);
            match (Request::decode(&bytes), reference) {
                (Request::Valid(ours), Ok(theirs)) => {
                    assert_eq!(ours, theirs, "run {run}: {bytes:?}");
                    valid += 1;
                }
                (Request::Invalid(_), Err(_)) => invalid += 1,
                (ours, theirs) => {
                    panic!("run {run}: {bytes:?}: ours {ours:?}, protobuf {theirs:?}")
                }
            }
        }
        println!(
            "faults: fuzz ({tier:?} tier): {runs} mutated requests decoded in {:.1} s: {valid} valid, \
             {invalid} invalid, all as protobuf decides, no panic",
            started.elapsed().as_secs_f64()
        );
    }

    /// Mutated requests over the wire: each gets replies or INVALID_ARGUMENT,
    /// and the server stays healthy.
    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn fuzz_requests_over_the_wire() {
        let _alone = alone();
        let tier = Tier::from_env();
        let runs = tier.pick(300, 3_000);
        let mut server = ServerProcess::spawn(LOG);
        let raw = grpcio::Client::new(ChannelBuilder::new(client_env()).connect(&server.addr));
        let method = raw_method(MethodType::ServerStreaming, "/yes.SayYes/YesWithFc");
        let mut noise = Noise(0x2545_f491_4f6c_dd1d);
        let (mut streamed, mut rejected) = (0, 0);
        for run in 0..runs {
            let bytes = mutated_request(&mut noise);
            let mut stream = raw
                .server_streaming(&method, &bytes, with_timeout(PATIENCE))
                .unwrap();
            match block_on(stream.next()) {
                Some(Ok(_)) => streamed += 1,
                Some(Err(e)) if code(&e) == RpcStatusCode::INVALID_ARGUMENT => rejected += 1,
                other => panic!("run {run}: {bytes:?}: {other:?}"),
            }
        }
        assert!(eventually(|| server.live_streams() == 0));
        let logged = server
            .drain_log()
            .iter()
            .filter(|l| l.contains("rejected an invalid request"))
            .count();
        server.stop();
        println!(
            "faults: fuzz over the wire ({tier:?} tier): {runs} mutated requests: {streamed} streamed, \
             {rejected} got INVALID_ARGUMENT ({logged} logged), none left open"
        );
        assert_eq!(logged, rejected);
    }
}
