//! Starting a server process and learning the address it listens on.
//!
//! yes-server, the Java reference server and the benchmark's floor each
//! print `NAME listening on ADDR` as their first line on stdout once the
//! port is bound, so waiting for that line is waiting for the server to be
//! ready, with no sleep and no polling. The tests (`common::process`) and
//! the benches (through `#[path]`) read it here, one way.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// What every such first line holds before the address.
const LISTENING_ON: &str = " listening on ";

/// Spawns `command` with stdout piped and reads its first line, which must
/// be `NAME listening on ADDR`; returns the child, still running, and ADDR.
/// stdout is left unread after that line; stderr goes wherever `command`
/// sends it.
pub fn spawn_listening(command: &mut Command) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().expect("stdout is piped")).read_line(&mut line);
    let addr = match read {
        Ok(_) => line.trim().split_once(LISTENING_ON).map(|(_, addr)| addr),
        Err(_) => None,
    };
    match addr {
        Some(addr) if !addr.is_empty() => {
            let addr = addr.to_owned();
            (child, addr)
        }
        _ => {
            let _ = child.kill();
            let status = child.wait();
            panic!("{command:?} printed {line:?}, not \"NAME listening on ADDR\" ({status:?})")
        }
    }
}
