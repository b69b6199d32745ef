//! A real network link on this machine: a server namespace and a client
//! namespace joined through a middle one, each side by a veth pair, with a
//! rate set by `tc` and a round trip added by a delay line in user space.
//!
//! ```text
//!  server ns            middle ns (delay line)             client ns
//!  s0 198.18.0.1 ─ veth ─ m0 ⇄ [+RTT/2 each way] ⇄ m1 ─ veth ─ c0 198.18.0.2
//!                         tbf            tbf
//! ```
//!
//! Why so: these kernels have `tbf` and `htb` but no `netem`, so the delay is
//! added by two threads that read every frame from one side of the middle
//! namespace (an `AF_PACKET` socket) and write it to the other once its
//! half round trip has passed. `tbf` on m0 and m1 shapes both directions at
//! the link's rate, with a queue of one bandwidth-delay product (a link
//! buffered as a bulk TCP transfer needs to fill it). Offloads are off on
//! all four ends, so every frame is one real packet of at most the MTU with
//! real checksums, as on a wire.
//!
//! The addresses (198.18.0.0/15 is reserved for benchmarks) live only on
//! the two veth ends inside namespaces this creates and removes itself; no
//! namespace has a route anywhere else. Needs root (CAP_NET_ADMIN and
//! CAP_SYS_ADMIN), `ip`, `tc` and `ethtool`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The server's address on the link.
pub const SERVER_IP: &str = "198.18.0.1";
/// The client's address on the link.
pub const CLIENT_IP: &str = "198.18.0.2";
/// The two ends' hardware addresses (locally administered).
const SERVER_MAC: &str = "02:79:65:73:00:01";
const CLIENT_MAC: &str = "02:79:65:73:00:02";

/// What a link is like.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// The rate in each direction, in bits per second.
    pub rate_bps: u64,
    /// The round trip the delay line adds (loopback's own is ~0.05 ms).
    pub rtt: Duration,
}

impl Shape {
    /// The bandwidth-delay product in bytes: what must be in flight to keep
    /// the link busy.
    pub fn bdp_bytes(&self) -> u64 {
        (self.rate_bps as f64 / 8.0 * self.rtt.as_secs_f64()) as u64
    }
}

/// A link that exists until it is dropped.
pub struct Link {
    pub shape: Shape,
    /// The namespaces' names: server, middle, client.
    names: [String; 3],
    stop: Arc<AtomicBool>,
    lines: Vec<JoinHandle<()>>,
    /// Frames the delay line carried, and frames it could not hand on.
    pub carried: Arc<AtomicU64>,
    pub dropped: Arc<AtomicU64>,
}

/// Runs `ip`/`tc`/`ethtool` with `args`, failing with what it printed.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program} does not run: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Deletes the namespaces of links whose process is gone (one killed
/// before its `Drop` ran).
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir("/var/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("yes-link-") else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run("ip", &["netns", "del", &name]);
        }
    }
}

impl Link {
    /// Creates the namespaces, the veth pairs, the shaping and the delay
    /// line. `Err` says what was missing (not root, no `ethtool`, ...).
    pub fn create(shape: Shape) -> Result<Link, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        remove_stale();
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let names = ["s", "m", "c"].map(|side| format!("yes-link-{id}-{side}"));
        let mut link = Link {
            shape,
            names,
            stop: Arc::new(AtomicBool::new(false)),
            lines: Vec::new(),
            carried: Arc::new(AtomicU64::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        // On any error, `link`'s Drop removes what was made.
        link.build()?;
        Ok(link)
    }

    fn build(&mut self) -> Result<(), String> {
        let [server, middle, client] = self.names.clone();
        for ns in [&server, &middle, &client] {
            run("ip", &["netns", "add", ns])?;
            run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        }
        let sides = [
            (
                &server, "s0", "m0", SERVER_IP, SERVER_MAC, CLIENT_IP, CLIENT_MAC,
            ),
            (
                &client, "c0", "m1", CLIENT_IP, CLIENT_MAC, SERVER_IP, SERVER_MAC,
            ),
        ];
        for (ns, end, peer, ip, mac, far_ip, far_mac) in sides {
            run(
                "ip",
                &[
                    "-n", ns, "link", "add", end, "address", mac, "type", "veth", "peer", "name",
                    peer, "netns", &middle,
                ],
            )?;
            run(
                "ip",
                &["-n", ns, "addr", "add", &format!("{ip}/24"), "dev", end],
            )?;
            // The far end's address is known, as on a link in use: no ARP
            // through the delay line before the first connection.
            run(
                "ip",
                &[
                    "-n",
                    ns,
                    "neigh",
                    "add",
                    far_ip,
                    "lladdr",
                    far_mac,
                    "dev",
                    end,
                    "nud",
                    "permanent",
                ],
            )?;
            run("ip", &["-n", ns, "link", "set", end, "up"])?;
            run("ip", &["-n", &middle, "link", "set", peer, "up"])?;
            for (namespace, device) in [(ns, end), (&middle, peer)] {
                run(
                    "ip",
                    &[
                        "netns", "exec", namespace, "ethtool", "-K", device, "tso", "off", "gso",
                        "off", "gro", "off", "tx", "off", "rx", "off",
                    ],
                )?;
            }
        }
        // tbf: the rate; a burst of 10 ms at that rate (at least ten
        // frames); a queue of one bandwidth-delay product (at least 64 KiB).
        let rate = format!("{}bit", self.shape.rate_bps);
        let burst = (self.shape.rate_bps / 8 / 100).max(15_140).to_string();
        let limit = self.shape.bdp_bytes().max(64 * 1024).to_string();
        for device in ["m0", "m1"] {
            run(
                "tc",
                &[
                    "-n", &middle, "qdisc", "add", "dev", device, "root", "tbf", "rate", &rate,
                    "burst", &burst, "limit", &limit,
                ],
            )?;
        }
        let m0 = packet_socket(&middle, "m0")?;
        let m1 = packet_socket(&middle, "m1")?;
        let half = self.shape.rtt / 2;
        let (m0, m1) = (Arc::new(m0), Arc::new(m1));
        for (from, to) in [(m0.clone(), m1.clone()), (m1, m0)] {
            self.lines.extend(self.delay_line(from, to, half));
        }
        Ok(())
    }

    /// One direction of the delay line: a reader that stamps each frame
    /// and a writer that sends it `delay` later, in order.
    fn delay_line(
        &self,
        from: Arc<OwnedFd>,
        to: Arc<OwnedFd>,
        delay: Duration,
    ) -> [JoinHandle<()>; 2] {
        let (queue, frames) = mpsc::channel::<(Instant, Vec<u8>)>();
        let stop = self.stop.clone();
        let reader = std::thread::spawn(move || {
            let mut buffer = vec![0u8; 65_536];
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: the buffer is valid for its length.
                let n = unsafe {
                    libc::recv(
                        from.as_raw_fd(),
                        buffer.as_mut_ptr().cast(),
                        buffer.len(),
                        0,
                    )
                };
                if n > 0 {
                    let due = Instant::now() + delay;
                    if queue.send((due, buffer[..n as usize].to_vec())).is_err() {
                        return;
                    }
                }
                // n < 0: the receive timeout passed; look at `stop` again.
            }
        });
        let stop = self.stop.clone();
        let (carried, dropped) = (self.carried.clone(), self.dropped.clone());
        let writer = std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok((due, frame)) = frames.recv_timeout(Duration::from_millis(100)) else {
                    continue;
                };
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                // SAFETY: the frame is valid for its length.
                let sent =
                    unsafe { libc::send(to.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
                // A full tbf queue drops the frame, as a router's would.
                if sent == frame.len() as isize {
                    carried.fetch_add(1, Ordering::Relaxed);
                } else {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        [reader, writer]
    }

    /// `program` to be run in the server's namespace.
    pub fn in_server(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.in_namespace(0, program)
    }

    /// `program` to be run in the client's namespace.
    pub fn in_client(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.in_namespace(2, program)
    }

    fn in_namespace(&self, index: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.names[index]])
            .arg(program);
        command
    }

    /// Runs `work` on a thread of its own inside the server's (`server`
    /// true) or the client's namespace: sockets it opens are on the link.
    pub fn spawn_in<T: Send + 'static>(
        &self,
        server: bool,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> JoinHandle<T> {
        let path = format!("/var/run/netns/{}", self.names[if server { 0 } else { 2 }]);
        std::thread::spawn(move || {
            enter(&path).unwrap_or_else(|e| panic!("{e}"));
            work()
        })
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for line in self.lines.drain(..) {
            let _ = line.join();
        }
        // Deleting a namespace deletes its veth ends, and so the pairs.
        for ns in &self.names {
            let _ = run("ip", &["netns", "del", ns]);
        }
    }
}

/// Moves the calling thread into the network namespace at `path`.
fn enter(path: &str) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: a valid descriptor of a network namespace; this thread only.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// A raw packet socket on `device` in namespace `ns`, for every frame that
/// arrives there (not those sent from it), with a 100 ms receive timeout.
fn packet_socket(ns: &str, device: &str) -> Result<OwnedFd, String> {
    let path = format!("/var/run/netns/{ns}");
    let device = device.to_owned();
    // A thread of its own enters the namespace; the socket stays in it.
    std::thread::spawn(move || -> Result<OwnedFd, String> {
        enter(&path)?;
        let os = |what: &str| format!("{what} on {device}: {}", std::io::Error::last_os_error());
        let protocol = (libc::ETH_P_ALL as u16).to_be() as i32;
        // SAFETY: plain socket calls on a descriptor this owns.
        unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, protocol);
            if fd < 0 {
                return Err(os("socket"));
            }
            let fd = OwnedFd::from_raw_fd(fd);
            let name = CString::new(device.as_str()).unwrap();
            let index = libc::if_nametoindex(name.as_ptr());
            let mut address: libc::sockaddr_ll = std::mem::zeroed();
            address.sll_family = libc::AF_PACKET as u16;
            address.sll_protocol = protocol as u16;
            address.sll_ifindex = index as i32;
            let bound = libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            if index == 0 || bound != 0 {
                return Err(os("bind"));
            }
            let set = |level, option, value: *const libc::c_void, len: usize| {
                libc::setsockopt(fd.as_raw_fd(), level, option, value, len as u32)
            };
            let one: libc::c_int = 1;
            let buffer: libc::c_int = 8 << 20;
            let timeout = libc::timeval {
                tv_sec: 0,
                tv_usec: 100_000,
            };
            let int = std::mem::size_of::<libc::c_int>();
            if set(
                libc::SOL_PACKET,
                libc::PACKET_IGNORE_OUTGOING,
                (&one as *const i32).cast(),
                int,
            ) != 0
                || set(
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUFFORCE,
                    (&buffer as *const i32).cast(),
                    int,
                ) != 0
                || set(
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&timeout as *const libc::timeval).cast(),
                    std::mem::size_of::<libc::timeval>(),
                ) != 0
            {
                return Err(os("setsockopt"));
            }
            Ok(fd)
        }
    })
    .join()
    .expect("the socket thread does not panic")
}

impl Link {
    /// One bulk TCP transfer from the server's side to the client's, as
    /// fast as TCP goes: its payload bytes a second over `measure`, after
    /// `ramp` to leave slow start behind. What a stream on the same link
    /// is compared with.
    pub fn bulk_tcp(&self, ramp: Duration, measure: Duration) -> Bulk {
        use std::io::{Read, Write};
        let (port_tx, port_rx) = mpsc::channel();
        let sender = self.spawn_in(true, move || {
            let listener = std::net::TcpListener::bind((SERVER_IP, 0)).unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            let (mut socket, _) = listener.accept().unwrap();
            let chunk = vec![b'y'; 64 * 1024];
            // Until the receiver hangs up.
            while socket.write_all(&chunk).is_ok() {}
        });
        let port: u16 = port_rx.recv().unwrap();
        let receiver = self.spawn_in(false, move || {
            let connecting = Instant::now();
            let mut socket = std::net::TcpStream::connect((SERVER_IP, port)).unwrap();
            let handshake = connecting.elapsed();
            let mut buffer = vec![0u8; 256 * 1024];
            let mut read_for = |span: Duration| {
                let (started, mut bytes) = (Instant::now(), 0u64);
                while started.elapsed() < span {
                    match socket.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => bytes += n as u64,
                    }
                }
                bytes as f64 / started.elapsed().as_secs_f64()
            };
            read_for(ramp);
            Bulk {
                bytes_per_s: read_for(measure),
                handshake,
            }
        });
        let bulk = receiver.join().expect("the bulk receiver does not panic");
        sender.join().expect("the bulk sender does not panic");
        bulk
    }
}

/// What a bulk TCP transfer over a link got.
pub struct Bulk {
    /// Payload bytes a second.
    pub bytes_per_s: f64,
    /// How long the connection took to open: one round trip.
    pub handshake: Duration,
}
