//! `--link`: one stream over a real link (`tests/common/link.rs`): the
//! server in a network namespace of its own, the load client in another,
//! joined by veth pairs shaped with `tc` to 10 and 100 Mbit/s, with round
//! trips of 1, 20 and 100 ms added by a delay line. On each link: one bulk
//! TCP transfer (what the link gives one connection), then one `YesWithFc`
//! stream of 1 KiB replies from yes-server and from the Java reference, read
//! by the grpcio and the grpc-java load clients: payload Mbit/s, its share
//! of the link's rate and of the bulk transfer's, the server's RSS, and
//! yes-server's largest `max_held`. With yes-server also: the stream window
//! each client announced (from the client's own log of what it sends), the
//! grpcio client with its BDP probing off (its window then stays at HTTP/2's
//! 64 KiB), and yes-server with its own BDP probing off (which sizes only
//! what the server receives). Then, on the largest link (100 Mbit/s,
//! 100 ms), a slow reader (100 replies a second) to each server: what the
//! server holds for a client that cannot keep up. Writes `link.csv` and
//! `link-share.svg`. Needs root.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crate::charts::{self, Line, Panel};
use crate::link::{Link, Shape, SERVER_IP};
use crate::peers::{
    client_command, load_args, run_command, server_command, start_command, Client, Server,
};
use crate::report::{csv_records, field};
use crate::Setup;

/// The link rates, Mbit/s.
pub const RATES_MBIT: [u64; 2] = [10, 100];
/// The round trips, ms.
pub const RTTS_MS: [u64; 3] = [1, 20, 100];
/// The reply: 1 KiB of text.
const REPLY: usize = 1024;
/// How long each stream runs before it is measured: slow start and the
/// window's growth take a few round trips of 100 ms.
const RAMP: f64 = 3.0;
/// The slow reader's replies a second.
const SLOW_READS: u64 = 100;
/// The share of a link's rate that TCP payload can have: 1,448 bytes of
/// payload in each 1,514-byte frame (timestamps on).
const TCP_PAYLOAD_SHARE: f64 = 1448.0 / 1514.0;
pub const CSV: &str = "link.csv";
const HEADER: &str = "rate_mbit,rtt_ms,server,client,payload_mbit,link_share,bulk_share,\
rss_mib,max_held,send_q,recv_q,client_window";
/// The grpcio client's name with its BDP probing off.
const NO_BDP: &str = "rust-grpcio no-bdp";
/// yes-server's name with its own BDP probing off.
const SERVER_NO_BDP: &str = "yes-server bdp_probe=0";

/// One measurement on one link.
pub struct Sample {
    pub rate_mbit: u64,
    pub rtt_ms: u64,
    pub server: String,
    pub client: String,
    pub payload_mbit: f64,
    pub link_share: f64,
    pub bulk_share: f64,
    pub rss_mib: f64,
    /// yes-server's largest `max_held` (bytes); 0 for the others.
    pub max_held: u64,
    /// The server's TCP Send-Q and the client's Recv-Q halfway, bytes.
    pub send_q: u64,
    pub recv_q: u64,
    /// The largest stream window the client announced (bytes), where it
    /// was read; 0 where it was not, or where the client never raised it.
    pub client_window: u64,
}

/// `command` run inside the link's server (`server` true) or client
/// namespace, with the same arguments and environment.
fn inside(link: &Link, server: bool, command: &Command) -> Command {
    let program = command.get_program();
    let mut wrapped = if server {
        link.in_server(program)
    } else {
        link.in_client(program)
    };
    wrapped.args(command.get_args());
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    wrapped
}

/// A server started in the link's server namespace, and its log.
struct OnLink {
    running: crate::peers::Running,
    log: Receiver<String>,
}

fn start_on_link(setup: &Setup, link: &Link, server: Server, args: &[&str]) -> OnLink {
    // At info, the end-of-stream lines say what each stream held.
    let mut command = server_command(setup, server, SERVER_IP, "info");
    command.args(args);
    let mut command = inside(link, true, &command);
    let mut running = start_command(command.stderr(Stdio::piped()));
    let stderr = BufReader::new(running.child.stderr.take().unwrap());
    let (lines, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    OnLink { running, log }
}

/// The `max_held` of the next stream that ends in `log` (yes-server's).
fn max_held(log: &Receiver<String>) -> u64 {
    while let Ok(line) = log.recv_timeout(Duration::from_secs(10)) {
        if let Some((_, rest)) = line.split_once(" max_held=") {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            return digits.parse().unwrap_or(0);
        }
    }
    0
}

/// Runs one stream of `client` against `server` on `link`, `paced` replies
/// a second (0: as fast as it reads); `bdp_probe` false turns off the
/// grpcio client's.
#[allow(clippy::too_many_arguments)]
fn measure(
    setup: &Setup,
    link: &Link,
    on_link: &OnLink,
    server: Server,
    client: Client,
    seconds: f64,
    paced: u64,
    bdp_probe: bool,
) -> Measured {
    let command = load_on_link(setup, on_link, client, seconds, paced, bdp_probe);
    let command = inside(link, false, &command);
    let halfway = Duration::from_secs_f64(RAMP + seconds / 2.0);
    let queues = {
        let (mut server_ss, mut client_ss) = (link.in_server("ss"), link.in_client("ss"));
        server_ss.arg("-tnH");
        client_ss.arg("-tnH");
        std::thread::spawn(move || {
            std::thread::sleep(halfway);
            // Send-Q of the server's sockets, Recv-Q of the client's.
            (queued(&mut server_ss, 2), queued(&mut client_ss, 1))
        })
    };
    let (load, _, rss) = run_command(&on_link.running, client.name(), command, Some(halfway));
    let (send_q, recv_q) = queues.join().unwrap();
    let held = if server == Server::Yes {
        max_held(&on_link.log)
    } else {
        0
    };
    let payload_bps = load.bytes as f64 * 8.0 / load.seconds;
    Measured {
        payload_bps,
        rss_mib: rss.unwrap_or(0) as f64 / 1024.0,
        max_held: held,
        send_q,
        recv_q,
        client_window: 0,
    }
}

/// `client`'s command for one stream of 1 KiB replies from `on_link` after
/// the ramp, `paced` replies a second (0: as fast as it reads); `bdp_probe`
/// false turns off the grpcio client's.
fn load_on_link(
    setup: &Setup,
    on_link: &OnLink,
    client: Client,
    seconds: f64,
    paced: u64,
    bdp_probe: bool,
) -> Command {
    let args = load_args(&on_link.running, REPLY, seconds, 1, paced, 1);
    let mut command = client_command(setup, client, &args);
    command.env("YES_BENCH_WARM_UP", RAMP.to_string());
    if !bdp_probe {
        command.env("YES_BENCH_CLIENT_BDP", "0");
    }
    command
}

/// The largest stream window `client` announces while it reads one stream
/// of 1 KiB replies from `on_link` for the ramp and 2 s more, read from its
/// own log of what it sends (C-core's `flowctl` trace for grpcio, Netty's
/// frame log for grpc-java), in a run of its own so that the logging does
/// not slow a measured one. This is what the server may have in flight on
/// the stream, and what a client that stops reading holds for it.
fn client_window(
    setup: &Setup,
    link: &Link,
    on_link: &OnLink,
    client: Client,
    bdp_probe: bool,
) -> u64 {
    let mut command = load_on_link(setup, on_link, client, 2.0, 0, bdp_probe);
    match client {
        Client::Java => {
            let config = setup.out.join("netty-frames.properties");
            std::fs::write(
                &config,
                "handlers=java.util.logging.ConsoleHandler\n\
                 java.util.logging.ConsoleHandler.level=FINE\n\
                 io.grpc.netty.NettyClientHandler.level=FINE\n",
            )
            .unwrap();
            let option = format!("-Djava.util.logging.config.file={}", config.display());
            command.env("JAVA_TOOL_OPTIONS", option);
        }
        _ => {
            command.env("GRPC_TRACE", "flowctl");
        }
    }
    let output = inside(link, false, &command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    announced_window(&String::from_utf8_lossy(&output.stderr))
}

/// The largest SETTINGS_INITIAL_WINDOW_SIZE in a client's log: C-core's
/// `[flowctl] UPDATE SETTING initial_window_size from A to B` or Netty's
/// `OUTBOUND SETTINGS: ack=false settings={…INITIAL_WINDOW_SIZE=B…}`. 0 when
/// the client never announced one past HTTP/2's initial 65,535.
fn announced_window(log: &str) -> u64 {
    let number = |text: &str| -> u64 {
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or(0)
    };
    log.lines()
        .filter_map(|line| {
            let lower = line.to_ascii_lowercase();
            if lower.contains("update setting initial_window_size") {
                Some(number(lower.rsplit_once(" to ")?.1))
            } else if lower.contains("outbound settings") && !lower.contains("ack=true") {
                Some(number(lower.split_once("initial_window_size=")?.1))
            } else {
                None
            }
        })
        .max()
        .unwrap_or(0)
}

/// What one stream on a link did.
struct Measured {
    payload_bps: f64,
    rss_mib: f64,
    max_held: u64,
    /// Bytes in the server's TCP send queue and the client's receive queue,
    /// halfway through: what waits in the kernels rather than in gRPC.
    send_q: u64,
    recv_q: u64,
    /// The client's largest announced stream window ([`client_window`]).
    client_window: u64,
}

/// The sum of column `column` (1: Recv-Q, 2: Send-Q) of `ss -tnH`.
fn queued(ss: &mut Command, column: usize) -> u64 {
    let output = ss.output().map(|o| o.stdout).unwrap_or_default();
    String::from_utf8_lossy(&output)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(column)?.parse::<u64>().ok())
        .sum()
}

pub fn compare_link(setup: &Setup, seconds: f64) {
    let mut samples = Vec::new();
    for rate_mbit in RATES_MBIT {
        for rtt_ms in RTTS_MS {
            let shape = Shape {
                rate_bps: rate_mbit * 1_000_000,
                rtt: Duration::from_millis(rtt_ms),
            };
            let link = Link::create(shape)
                .unwrap_or_else(|e| panic!("--link needs root, ip, tc and ethtool: {e}"));
            let rate = shape.rate_bps as f64;
            let ramp = Duration::from_secs_f64(RAMP);
            let tcp = link.bulk_tcp(ramp, Duration::from_secs_f64(seconds));
            let bulk = tcp.bytes_per_s * 8.0;
            eprintln!(
                "  {rate_mbit:>3} Mbit/s {rtt_ms:>3} ms: TCP's handshake took {:.1} ms",
                tcp.handshake.as_secs_f64() * 1e3
            );
            let mut sample = |server: &str, client: &str, m: Measured| {
                let (bps, rss_mib, max_held) = (m.payload_bps, m.rss_mib, m.max_held);
                let s = Sample {
                    rate_mbit,
                    rtt_ms,
                    server: server.into(),
                    client: client.into(),
                    payload_mbit: bps / 1e6,
                    link_share: bps / rate,
                    bulk_share: bps / bulk,
                    rss_mib,
                    max_held,
                    send_q: m.send_q,
                    recv_q: m.recv_q,
                    client_window: m.client_window,
                };
                eprintln!(
                    "  {rate_mbit:>3} Mbit/s {rtt_ms:>3} ms {server:>22} {client:>25}: \
                     {:>6.2} Mbit/s, {:>5.1} % of the link, {:.2}x bulk TCP, RSS {rss_mib:.1} MiB, \
                     max_held {max_held}, send-q {} recv-q {}, client's window {}",
                    s.payload_mbit,
                    s.link_share * 100.0,
                    s.bulk_share,
                    s.send_q,
                    s.recv_q,
                    s.client_window
                );
                samples.push(s);
            };
            let tcp_row = Measured {
                payload_bps: bulk,
                rss_mib: 0.0,
                max_held: 0,
                send_q: 0,
                recv_q: 0,
                client_window: 0,
            };
            sample("bulk-tcp", "-", tcp_row);
            for server in [Server::Yes, Server::Java] {
                let on_link = start_on_link(setup, &link, server, &[]);
                for client in [Client::Rust, Client::Java] {
                    let mut measured =
                        measure(setup, &link, &on_link, server, client, seconds, 0, true);
                    if server == Server::Yes {
                        measured.client_window =
                            client_window(setup, &link, &on_link, client, true);
                    }
                    sample(server.name(), client.name(), measured);
                }
                if server == Server::Yes {
                    // The window held at 64 KiB: what BDP probing is worth.
                    let rust = Client::Rust;
                    let mut measured =
                        measure(setup, &link, &on_link, server, rust, seconds, 0, false);
                    measured.client_window = client_window(setup, &link, &on_link, rust, false);
                    sample(server.name(), NO_BDP, measured);
                }
                if rate_mbit == 100 && rtt_ms == 100 {
                    let slow = Client::Rust;
                    let measured = measure(
                        setup, &link, &on_link, server, slow, seconds, SLOW_READS, true,
                    );
                    let client = format!("{} reading {SLOW_READS}/s", slow.name());
                    sample(server.name(), &client, measured);
                }
            }
            // The server's own BDP probing sizes only the window it grants
            // the client's requests, so a server stream should not notice.
            let no_bdp = ["--ccore-arg", "grpc.http2.bdp_probe=0"];
            let on_link = start_on_link(setup, &link, Server::Yes, &no_bdp);
            let (yes, rust) = (Server::Yes, Client::Rust);
            let measured = measure(setup, &link, &on_link, yes, rust, seconds, 0, true);
            sample(SERVER_NO_BDP, rust.name(), measured);
            eprintln!(
                "  (the delay line carried {} frames and dropped {})",
                link.carried.load(std::sync::atomic::Ordering::Relaxed),
                link.dropped.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
    }
    let mut csv = format!("{HEADER}\n");
    for s in &samples {
        writeln!(
            csv,
            "{},{},{},{},{:.3},{:.4},{:.4},{:.2},{},{},{},{}",
            s.rate_mbit,
            s.rtt_ms,
            s.server,
            s.client,
            s.payload_mbit,
            s.link_share,
            s.bulk_share,
            s.rss_mib,
            s.max_held,
            s.send_q,
            s.recv_q,
            s.client_window
        )
        .unwrap();
    }
    std::fs::write(setup.out.join(CSV), csv).unwrap();
    print_link(&samples);
    draw(&setup.out, &samples);
    eprintln!("compare: wrote {}", setup.out.join(CSV).display());
}

/// Reads `link.csv` back (for `--charts`).
pub fn read_csv(text: &str) -> Vec<Sample> {
    csv_records(text)
        .map(|f| Sample {
            rate_mbit: field(&f, 0),
            rtt_ms: field(&f, 1),
            server: f[2].into(),
            client: f[3].into(),
            payload_mbit: field(&f, 4),
            link_share: field(&f, 5),
            bulk_share: field(&f, 6),
            rss_mib: field(&f, 7),
            max_held: field(&f, 8),
            send_q: field(&f, 9),
            recv_q: field(&f, 10),
            // Not in CSVs written before the column was.
            client_window: f.get(11).map_or(0, |_| field(&f, 11)),
        })
        .collect()
}

pub fn print_link(samples: &[Sample]) {
    println!(
        "{:<10} {:<7} {:<22} {:<26} {:>12} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "link",
        "RTT",
        "server",
        "client",
        "payload",
        "of link",
        "of bulk",
        "RSS MiB",
        "max_held",
        "send-q",
        "recv-q",
        "window"
    );
    for s in samples {
        println!(
            "{:<10} {:<7} {:<22} {:<26} {:>12} {:>7.1}% {:>7.2}x {:>8.1} {:>9} {:>9} {:>9} {:>9}",
            format!("{} Mbit/s", s.rate_mbit),
            format!("{} ms", s.rtt_ms),
            s.server,
            s.client,
            format!("{:.2} Mbit/s", s.payload_mbit),
            s.link_share * 100.0,
            s.bulk_share,
            s.rss_mib,
            s.max_held,
            s.send_q,
            s.recv_q,
            s.client_window
        );
    }
}

/// `link-share.svg`: per link rate, the share of the link's rate one
/// stream reaches against the round trip, a line per server and client,
/// and bulk TCP's.
pub fn draw(out: &std::path::Path, samples: &[Sample]) {
    let mut series: Vec<(String, usize, bool)> = vec![
        ("bulk-tcp".into(), 2, false),
        (format!("{} / {NO_BDP}", Server::Yes.name()), 3, false),
    ];
    for (color, server) in [Server::Yes, Server::Java].into_iter().enumerate() {
        for (dashed, client) in [Client::Rust, Client::Java].into_iter().enumerate() {
            series.push((
                format!("{} / {}", server.name(), client.name()),
                color,
                dashed > 0,
            ));
        }
    }
    let panels = RATES_MBIT
        .iter()
        .map(|&rate| {
            let mut panel = link_panel(samples, &series, rate);
            // What a stream would get if the client's window stayed at
            // HTTP/2's initial 64 KiB: one window per round trip.
            panel.lines.push(Line {
                label: "64 KiB window, never grown".into(),
                points: RTTS_MS
                    .iter()
                    .map(|&rtt| {
                        let bound = 65_535.0 * 8.0 / (rtt as f64 / 1e3) / (rate as f64 * 1e6);
                        // At most what TCP's headers leave of the link.
                        (rtt as f64, bound.min(TCP_PAYLOAD_SHARE) * 100.0)
                    })
                    .collect(),
                color: 2,
                dashed: true,
            });
            panel
        })
        .collect::<Vec<_>>();
    charts::draw(
        &out.join("link-share.svg"),
        "One stream over a shaped link: share of the link's rate",
        &panels,
    );
}

/// One rate's panel: a line per server and client, and bulk TCP's.
fn link_panel(samples: &[Sample], series: &[(String, usize, bool)], rate: u64) -> Panel {
    Panel {
        title: format!("{rate} Mbit/s link, one stream of 1 KiB replies"),
        x_desc: "round trip (ms)".into(),
        y_desc: "payload, % of the link's rate".into(),
        log_x: true,
        lines: series
            .iter()
            .map(|(label, color, dashed)| Line {
                label: label.clone(),
                points: samples
                    .iter()
                    .filter(|s| {
                        s.rate_mbit == rate
                            && (format!("{} / {}", s.server, s.client) == *label
                                || (s.server == *label && label == "bulk-tcp"))
                    })
                    .map(|s| (s.rtt_ms as f64, s.link_share * 100.0))
                    .collect(),
                color: *color,
                dashed: *dashed,
            })
            .collect(),
    }
}
