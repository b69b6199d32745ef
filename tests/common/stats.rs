//! yes-client reading one stream as fast as it can in a process of its own,
//! its per-second rates read from its `--stats` lines as they come: the
//! tests' way to measure a stream without the test's own threads (or the
//! sockets it holds) slowing it down.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};

use super::PATIENCE;

/// A running yes-client `--stats`.
pub struct StatsClient {
    client: Child,
    rates: Receiver<f64>,
}

impl StatsClient {
    /// Starts `command` (a yes-client with `--stats`) and waits for its
    /// first rate, so the stream is flowing when this returns.
    pub fn start(mut command: Command) -> StatsClient {
        let mut client = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
        let stats = BufReader::new(client.stderr.take().unwrap());
        let (send, rates) = channel();
        std::thread::spawn(move || {
            // "yes-client: 467151 msgs/s, 1.4 MB/s (… messages in all)"
            for line in stats.lines().map_while(Result::ok) {
                let rate = line
                    .strip_prefix("yes-client: ")
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|n| n.parse().ok());
                match rate {
                    Some(rate) if send.send(rate).is_ok() => {}
                    Some(_) => return,
                    None => eprintln!("stats client: {line}"),
                }
            }
        });
        let started = StatsClient { client, rates };
        started.rates(1);
        started
    }

    /// Its next `seconds` per-second rates (msgs/s), each awaited.
    pub fn rates(&self, seconds: usize) -> Vec<f64> {
        while self.rates.try_recv().is_ok() {}
        (0..seconds)
            .map(|_| {
                self.rates
                    .recv_timeout(PATIENCE)
                    .expect("the stats client's stream stopped")
            })
            .collect()
    }

    /// The mean of its next `seconds` per-second rates.
    pub fn rate(&self, seconds: usize) -> f64 {
        self.rates(seconds).iter().sum::<f64>() / seconds as f64
    }
}

impl Drop for StatsClient {
    fn drop(&mut self) {
        let _ = self.client.kill();
        let _ = self.client.wait();
    }
}
