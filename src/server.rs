//! The C-core server: its configuration, listening, and health.

use std::ffi::CString;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use grpcio::{
    ChannelBuilder, EnvBuilder, Environment, ResourceQuota, Server, ServerBuilder,
    ServerCredentials,
};
use grpcio_health::{HealthService, ServingStatus};
use log::info;

use crate::codec::SERVICE_NAME;
use crate::executor;
use crate::metrics::MetricsServer;
use crate::poller::Poller;
use crate::registry::Registry;
use crate::stream::Handler;
use crate::tls::{TlsError, TlsFiles};

/// Everything the server needs to start. `Default` gives the documented
/// defaults of `yes-server`.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Share the port with other processes that also ask to (Linux
    /// `SO_REUSEPORT`: the kernel spreads new connections over them). Off,
    /// a port another process holds, yes-server or not, is refused; on,
    /// a forgotten old server would silently take a share of the clients.
    pub reuse_port: bool,
    /// The most bytes a `Yes` stream may hold before it is ended with
    /// `RESOURCE_EXHAUSTED`.
    pub naive_budget: usize,
    /// How many completion queues (and so polling threads) C-core uses.
    pub completion_queues: usize,
    /// The largest request C-core accepts; larger ones get
    /// `RESOURCE_EXHAUSTED` from C-core itself.
    pub max_request_bytes: usize,
    /// How many bytes of buffer-hinted writes C-core gathers per stream
    /// before it writes them out: smaller saves memory per slow stream,
    /// larger helps the throughput of large replies. Each small reply
    /// buffered costs C-core two 32-byte slices, which the pump's cap on
    /// buffered replies bounds (see [`DEFAULT_WRITE_BUFFER_BYTES`]).
    pub write_buffer_bytes: usize,
    /// Connection limits and keepalive, see [`Limits`].
    pub limits: Limits,
    /// Where to serve Prometheus metrics (`GET /metrics`); `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether to serve server reflection (v1 and v1alpha), which `grpcurl`
    /// and `evans -r` use to find the services without `.proto` files.
    pub reflection: bool,
    /// Whether to serve channelz (`grpc.channelz.v1`), C-core's account of
    /// the connections and calls, which names every client.
    pub channelz: bool,
    /// Serve TLS (mutual TLS if it names a client CA) instead of plaintext.
    pub tls: Option<TlsFiles>,
    /// C-core channel arguments set by name after the server's own, so they
    /// win over them: C-core's tuning knobs, for measuring them.
    pub ccore_args: Vec<crate::ccore_args::CcoreArg>,
}

/// HTTP/2 connection limits and keepalive, passed to C-core as channel
/// arguments. `None` leaves C-core's default (no limit).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most concurrent streams one connection may open; more wait in the
    /// client until one ends. Bounds what one client can hold open.
    pub max_concurrent_streams: u32,
    /// How often the server pings an idle connection to check it is alive.
    pub keepalive_time: Duration,
    /// How long a keepalive ping may go unanswered before the connection is
    /// closed (and its streams end as cancelled).
    pub keepalive_timeout: Duration,
    /// Close connections with no stream for this long (GOAWAY).
    pub max_connection_idle: Option<Duration>,
    /// Close connections this old (GOAWAY), so clients rebalance across
    /// replicas.
    pub max_connection_age: Option<Duration>,
    /// After `max_connection_age`, how long streams may go on before the
    /// connection is closed under them.
    pub max_connection_age_grace: Option<Duration>,
    /// Memory C-core may use for its buffers (a resource quota); `None`:
    /// unlimited. C-cores before 1.85 buffer each incoming message whole
    /// before checking its size, so there this is the only bound on what a
    /// client announcing a huge request can make the server hold (1.85
    /// refuses such a request at once); on any C-core it bounds C-core's
    /// buffers.
    pub memory_quota: Option<usize>,
    /// Most connections the server keeps at once; C-core closes any more
    /// as soon as it accepts them, so a flood of connections cannot take
    /// every file descriptor and the memory each costs. `None`: no limit.
    /// Needs C-core 1.63 or later ([`MAX_CONNECTIONS_CORE`]).
    pub max_connections: Option<u32>,
    /// How long a new connection may take from accept to the client's
    /// HTTP/2 settings, through the TLS handshake if any, before C-core
    /// closes it: what a client that connects and never speaks can hold.
    pub handshake_timeout: Duration,
}

/// The default memory quota for C-core's buffers: far above what streaming
/// needs (about 100 KiB per slow stream), low enough that a client
/// announcing a 4 GiB request is cut off long before the host suffers.
pub const DEFAULT_MEMORY_QUOTA: usize = 512 << 20;

/// The default handshake timeout. A client on the far side of the world
/// over TLS needs two or three round trips (well under a second; a few
/// seconds with lost packets resent); C-core's own default of 120 s lets a
/// client that connects and never speaks hold its connection 12 times as
/// long as this.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// C-core's own major version from which `grpc.max_allowed_incoming_connections`
/// exists: 40, gRPC 1.63 (1.51 lacks it; older C-cores ignore channel
/// arguments they do not know, so a limit there would silently not be one).
pub const MAX_CONNECTIONS_CORE: u32 = 40;

/// The default most concurrent streams per connection.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 1024;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            keepalive_time: Duration::from_secs(2 * 60 * 60),
            keepalive_timeout: Duration::from_secs(20),
            max_connection_idle: None,
            max_connection_age: None,
            max_connection_age_grace: None,
            memory_quota: Some(DEFAULT_MEMORY_QUOTA),
            max_connections: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

impl Limits {
    /// Adds these limits to a channel-argument builder.
    fn apply(&self, mut builder: ChannelBuilder) -> Result<ChannelBuilder, StartError> {
        let streams = i32::try_from(self.max_concurrent_streams)
            .map_err(|_| StartError::Config("too many concurrent streams".into()))?;
        builder = builder
            .max_concurrent_stream(streams)
            .keepalive_time(self.keepalive_time)
            .keepalive_timeout(self.keepalive_timeout);
        for (name, value) in [
            (
                "grpc.server_handshake_timeout_ms",
                Some(self.handshake_timeout),
            ),
            ("grpc.max_connection_idle_ms", self.max_connection_idle),
            ("grpc.max_connection_age_ms", self.max_connection_age),
            (
                "grpc.max_connection_age_grace_ms",
                self.max_connection_age_grace,
            ),
        ] {
            if let Some(value) = value {
                let millis = i32::try_from(value.as_millis()).map_err(|_| {
                    StartError::Config(format!("{name} must be under 24 days, not {value:?}"))
                })?;
                let key = CString::new(name).expect("no NUL in a constant");
                builder = builder.raw_cfg_int(key, millis);
            }
        }
        if let Some(max) = self.max_connections {
            if crate::ccore::major() < MAX_CONNECTIONS_CORE {
                return Err(StartError::Config(format!(
                    "a connection limit (--max-connections) needs gRPC C-core 1.63 or later; \
                     this server runs on {}, which would ignore it",
                    crate::ccore::describe()
                )));
            }
            let max = i32::try_from(max)
                .map_err(|_| StartError::Config(format!("{max} connections is too many")))?;
            let key = CString::new("grpc.max_allowed_incoming_connections").expect("no NUL");
            builder = builder.raw_cfg_int(key, max);
        }
        if let Some(bytes) = self.memory_quota {
            let quota = ResourceQuota::new(Some("yes-server")).resize_memory(bytes);
            builder = builder.set_resource_quota(quota);
        }
        Ok(builder)
    }
}

/// The channel argument behind `--http2-write-buffer` (grpcio's
/// `http2_write_buffer_size`), which `--ccore-arg` may also set.
const WRITE_BUFFER_ARG: &str = "grpc.http2.write_buffer_size";

/// What `yes-server` prints on stdout, followed by the bound address, once it
/// listens; scripts and tests wait for this line.
pub const LISTENING: &str = "yes-server listening on ";

/// The default naive budget: 64 MiB.
pub const DEFAULT_NAIVE_BUDGET: usize = 64 << 20;

/// The default largest request: C-core's own default, 4 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 << 20;

/// The default HTTP/2 write buffer: C-core's own, 64 KiB. What a stalled
/// stream of small replies holds in it is capped by the pump
/// ([`buffered_replies_cap`](crate::stream::buffered_replies_cap)), not by
/// this size; 1 KiB replies stream about half again as fast as at 16 KiB.
pub const DEFAULT_WRITE_BUFFER_BYTES: usize = 64 << 10;

/// The default number of completion queues: one per core.
pub fn default_completion_queues() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 9090)),
            reuse_port: false,
            naive_budget: DEFAULT_NAIVE_BUDGET,
            completion_queues: default_completion_queues(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            write_buffer_bytes: DEFAULT_WRITE_BUFFER_BYTES,
            limits: Limits::default(),
            metrics_listen: None,
            reflection: true,
            channelz: false,
            tls: None,
            ccore_args: Vec::new(),
        }
    }
}

/// What the start-up line says of C-core's settings beyond the defaults:
/// experiments (`GRPC_EXPERIMENTS`) and `--ccore-arg`s, each if any.
fn ccore_settings(args: &[crate::ccore_args::CcoreArg]) -> String {
    let mut said = crate::ccore::experiments()
        .map(|list| format!(" with C-core experiments {list}"))
        .unwrap_or_default();
    if !args.is_empty() {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        said += &format!(" with C-core arguments {}", args.join(", "));
    }
    said
}

/// Why the server did not start.
#[derive(Debug)]
pub enum StartError {
    /// C-core refused the configuration.
    Build(grpcio::Error),
    /// The system refused the address before C-core tried it.
    Listen(SocketAddr, std::io::Error),
    /// C-core could not listen on the address.
    Bind(SocketAddr),
    /// C-core could not listen on the address with the TLS credentials.
    BindTls(SocketAddr),
    /// A setting is out of range.
    Config(String),
    /// The metrics listener could not start.
    Metrics(SocketAddr, std::io::Error),
    /// A TLS file cannot be used.
    Tls(TlsError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Build(e) => write!(f, "cannot build the gRPC server: {e}"),
            StartError::Listen(addr, e) if e.kind() == std::io::ErrorKind::AddrInUse => write!(
                f,
                "cannot listen on {addr}: another process holds the port ({e}); stop it, pick \
                 another port, or give every process --reuse-port to share it on purpose"
            ),
            StartError::Listen(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            StartError::Bind(addr) => write!(
                f,
                "cannot listen on {addr}: the port is in use, or the address is not on this host"
            ),
            StartError::BindTls(addr) => write!(
                f,
                "cannot listen on {addr} with TLS: the port is in use, the address is not on \
                 this host, or C-core rejected the certificate or key (e.g. a key that does \
                 not match the certificate; C-core's log above says which)"
            ),
            StartError::Config(why) => f.write_str(why),
            StartError::Metrics(addr, e) => write!(f, "cannot serve metrics on {addr}: {e}"),
            StartError::Tls(e) => write!(f, "cannot serve TLS: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Asks the system whether `addr` can be listened on, before C-core tries:
/// C-core answers a refused port only with "failed" (and its own log lines),
/// the system with the reason. Port 0 always can. Only the refusals C-core
/// would meet too count; anything else is left for C-core to decide (a
/// `[::]` on a host without IPv6, which C-core serves on IPv4).
fn check_free(addr: SocketAddr) -> Result<(), StartError> {
    use std::io::ErrorKind::{AddrInUse, AddrNotAvailable, PermissionDenied};
    if addr.port() == 0 {
        return Ok(());
    }
    match std::net::TcpListener::bind(addr) {
        Err(e) if matches!(e.kind(), AddrInUse | AddrNotAvailable | PermissionDenied) => {
            Err(StartError::Listen(addr, e))
        }
        _ => Ok(()),
    }
}

/// A running server.
pub struct YesServer {
    server: Server,
    health: HealthService,
    handler: Arc<Handler>,
    addr: SocketAddr,
    metrics: Option<MetricsServer>,
    /// Reads the sockets while the completion queues are busy, on C-cores
    /// that read them only from inside a completion queue.
    _poller: Option<Poller>,
    // Dropped last: the completion-queue threads outlive the server.
    _env: Arc<Environment>,
}

impl YesServer {
    /// Starts serving `yes.SayYes`, `grpc.health.v1.Health` and (if enabled)
    /// server reflection per `config`.
    pub fn start(config: &Config) -> Result<YesServer, StartError> {
        if !config.reuse_port {
            check_free(config.listen)?;
        }
        let max_request = i32::try_from(config.max_request_bytes).map_err(|_| {
            StartError::Config(format!(
                "the largest request size must be under 2 GiB, not {} bytes",
                config.max_request_bytes
            ))
        })?;
        if config.completion_queues == 0 {
            return Err(StartError::Config(
                "at least one completion queue is needed".into(),
            ));
        }
        let env = Arc::new(
            EnvBuilder::new()
                .cq_count(config.completion_queues)
                .name_prefix("yes-cq")
                .build(),
        );

        let health = HealthService::default();
        health.set_serving_status("", ServingStatus::Serving);
        health.set_serving_status(SERVICE_NAME, ServingStatus::Serving);

        let write_buffer = i32::try_from(config.write_buffer_bytes).map_err(|_| {
            StartError::Config(format!(
                "the HTTP/2 write buffer must be under 2 GiB, not {} bytes",
                config.write_buffer_bytes
            ))
        })?;
        let handler = Arc::new(Handler {
            registry: Arc::new(Registry::default()),
            naive_budget: config.naive_budget,
            // The buffer C-core will use: a --ccore-arg comes last and wins.
            write_buffer: crate::ccore_args::int(&config.ccore_args, WRITE_BUFFER_ARG)
                .unwrap_or(write_buffer)
                .max(0) as usize,
        });
        let builder = ChannelBuilder::new(env.clone())
            .max_receive_message_len(max_request)
            .http2_write_buffer_size(write_buffer)
            // C-core shares ports by default; grpc-java (Netty) does not.
            .raw_cfg_int(
                CString::new("grpc.so_reuseport").expect("no NUL in a constant"),
                i32::from(config.reuse_port),
            );
        let builder = config.limits.apply(builder)?;
        let args = crate::ccore_args::apply(builder, &config.ccore_args)
            .map_err(StartError::Config)?
            .build_args();
        let mut builder = ServerBuilder::new(env.clone())
            .channel_args(args)
            .register_service(crate::service::say_yes(handler.clone()))
            .register_service(grpcio_health::create_health(health.clone()));
        if config.channelz {
            builder = builder.register_service(crate::channelz::service());
        }
        if config.reflection {
            let catalog = Arc::new(crate::reflection::Catalog::served(config.channelz));
            builder = builder.register_service(crate::reflection::service(catalog));
        }
        let mut server = builder.build().map_err(StartError::Build)?;
        let (credentials, bind_error) = match &config.tls {
            None => (
                ServerCredentials::insecure(),
                StartError::Bind(config.listen),
            ),
            Some(files) => (
                crate::tls::credentials(files).map_err(StartError::Tls)?,
                StartError::BindTls(config.listen),
            ),
        };
        let port = server
            .add_listening_port(config.listen.to_string(), credentials)
            .map_err(|_| bind_error)?;
        let metrics = match config.metrics_listen {
            None => None,
            Some(at) => {
                let metrics = MetricsServer::start(at, handler.registry.clone())
                    .map_err(|e| StartError::Metrics(at, e))?;
                info!("serving metrics on http://{}/metrics", metrics.local_addr());
                Some(metrics)
            }
        };
        // Polling from before the first call, so no load can starve it.
        let poller = Poller::start_if_needed();
        server.start();
        // Started only once the server runs, so a failed start leaves no task.
        let alive = Arc::downgrade(&handler);
        executor::spawn(crate::memory::trim_periodically(move || {
            alive.strong_count() > 0
        }));
        let addr = SocketAddr::new(config.listen.ip(), port);
        let security = match &config.tls {
            None => "plaintext",
            Some(files) if files.mutual() => "mutual TLS",
            Some(_) => "TLS",
        };
        info!(
            "serving yes.SayYes on {addr} over {security} on {}{} ({} completion queues, \
             Yes budget {} bytes, largest request {} bytes, HTTP/2 write buffer {} bytes, C-core \
             memory quota {})",
            crate::ccore::describe(),
            ccore_settings(&config.ccore_args),
            config.completion_queues,
            config.naive_budget,
            config.max_request_bytes,
            config.write_buffer_bytes,
            match config.limits.memory_quota {
                Some(bytes) => format!("{bytes} bytes"),
                None => "unlimited".to_owned(),
            }
        );
        Ok(YesServer {
            server,
            health,
            handler,
            addr,
            metrics,
            _poller: poller,
            _env: env,
        })
    }

    /// The address the server listens on, with the port it really bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::local_addr)
    }

    /// The server's streams: live figures, totals, why streams ended.
    pub fn registry(&self) -> &Registry {
        &self.handler.registry
    }

    /// Shuts down gracefully (see [`crate::shutdown`]): health turns
    /// NOT_SERVING, no new call is accepted, every open stream ends with
    /// `UNAVAILABLE`, and the server waits at most `grace` for its calls to
    /// finish before cancelling the rest. Returns whether all finished in
    /// time.
    pub async fn shutdown(mut self, grace: Duration) -> bool {
        let registry = self.handler.registry.clone();
        crate::shutdown::drain(&mut self.server, &self.health, registry, grace).await
    }
}
