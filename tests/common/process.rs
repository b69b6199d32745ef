//! The real `yes-server` binary as a child process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use grpcio::ChannelBuilder;
use yes_grpc::proto::yes_grpc::SayYesClient;

use super::listening::spawn_listening;
use super::{client_env, PATIENCE};

pub const BIN: &str = env!("CARGO_BIN_EXE_yes-server");

/// A running `yes-server`, the address it printed, and its log.
pub struct ServerProcess {
    pub child: Child,
    pub addr: String,
    log: Receiver<String>,
    /// Every log line read so far.
    pub lines: Vec<String>,
}

impl ServerProcess {
    /// Starts `yes-server --listen 127.0.0.1:0 ARGS`.
    pub fn spawn(args: &[&str]) -> ServerProcess {
        Self::spawn_on("127.0.0.1:0", args)
    }

    /// Starts `yes-server --listen LISTEN ARGS`.
    pub fn spawn_on(listen: &str, args: &[&str]) -> ServerProcess {
        let mut command = Command::new(BIN);
        command.args(["--listen", listen]).args(args);
        Self::spawn_command(command)
    }

    /// Starts `command`, which runs yes-server in the foreground (directly,
    /// or in a container), and reads the address it prints.
    pub fn spawn_command(mut command: Command) -> ServerProcess {
        let (mut child, addr) = spawn_listening(command.stderr(Stdio::piped()));
        // The log is read on a thread of its own, so waiting for a line can
        // time out instead of hanging.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        ServerProcess {
            child,
            addr,
            log,
            lines: Vec::new(),
        }
    }

    pub fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    pub fn signal(&self, signal: libc::c_int) {
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    /// Reads the log until `count` lines (in all, counting those read
    /// before) contain `needle`; fails after `PATIENCE`.
    pub fn log_until_count(&mut self, needle: &str, count: usize) -> &[String] {
        let deadline = Instant::now() + PATIENCE;
        while self.lines.iter().filter(|l| l.contains(needle)).count() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => self.lines.push(line),
                Err(_) => panic!(
                    "the log has no {count} lines with {needle:?}: {:#?}",
                    self.lines
                ),
            }
        }
        &self.lines
    }

    /// Reads the log until a line contains `needle`; returns that line.
    pub fn log_until(&mut self, needle: &str) -> String {
        let count = self.lines.iter().filter(|l| l.contains(needle)).count() + 1;
        let lines = self.log_until_count(needle, count);
        lines.last().unwrap().clone()
    }

    /// Takes the lines logged so far, without waiting.
    pub fn drain_log(&mut self) -> &[String] {
        while let Ok(line) = self.log.try_recv() {
            self.lines.push(line);
        }
        &self.lines
    }

    /// Streams started so far, by the log (the server must run with
    /// `yes_grpc::stream=debug`, which logs starts).
    pub fn started_streams(&mut self) -> usize {
        let lines = self.drain_log();
        lines
            .iter()
            .filter(|l| l.contains(" started: reply"))
            .count()
    }

    /// Streams started minus streams ended, by the log (as
    /// [`ServerProcess::started_streams`]).
    pub fn live_streams(&mut self) -> usize {
        let started = self.started_streams();
        let ended = self.lines.iter().filter(|l| l.contains(" ended: ")).count();
        started - ended
    }

    /// Reads what is left of the log (after the server exited).
    pub fn rest_of_log(&mut self) -> &[String] {
        while let Ok(line) = self.log.recv_timeout(PATIENCE) {
            self.lines.push(line);
        }
        &self.lines
    }

    /// Waits for the server to exit; kills it and fails after `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let pid = self.pid();
        let child = &mut self.child;
        exit_within(pid, limit, || child.wait().unwrap())
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        let status = self.wait(PATIENCE);
        assert!(status.success(), "yes-server exited with {status:?}");
    }

    /// Where the server serves metrics, from its log (it must run with
    /// `--metrics-listen`).
    pub fn metrics_addr(&mut self) -> std::net::SocketAddr {
        let line = self.log_until("serving metrics on http://");
        let (_, rest) = line.split_once("http://").unwrap();
        rest.trim_end_matches("/metrics").parse().unwrap()
    }

    /// The server's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        yes_grpc::memory::resident_kib(self.child.id()).expect("the server is running")
    }

    pub fn client(&self) -> SayYesClient {
        SayYesClient::new(ChannelBuilder::new(client_env()).connect(&self.addr))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // A failed test must not leave its server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs yes-server to its exit; fails (and kills it) if it is still
/// running after `PATIENCE`, as a server that wrongly started would be.
pub fn run_to_exit(args: &[&str]) -> std::process::Output {
    let mut command = Command::new(BIN);
    command.args(args);
    run_command_to_exit(command)
}

/// [`run_to_exit`] for a `command` of one's own (environment, arguments).
pub fn run_command_to_exit(mut command: Command) -> std::process::Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    exit_within(pid, PATIENCE, || child.wait_with_output().unwrap())
}

/// Runs `wait` (which returns once process `pid` has exited) on a thread of
/// its own; kills the process and fails if that takes longer than `limit`.
fn exit_within<T: Send>(pid: libc::pid_t, limit: Duration, wait: impl FnOnce() -> T + Send) -> T {
    let (done, exited) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(move || done.send(wait()));
        exited.recv_timeout(limit).unwrap_or_else(|_| {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("yes-server (pid {pid}) did not exit within {limit:?}");
        })
    })
}

/// A numeric field `name=VALUE` of a stream's end-of-stream log line.
pub fn log_field(line: &str, name: &str) -> u64 {
    let start = line
        .find(&format!(" {name}="))
        .unwrap_or_else(|| panic!("{name} in {line}"));
    let rest = &line[start + name.len() + 2..];
    let value: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    value.parse().unwrap()
}
