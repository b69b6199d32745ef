//! Prometheus metrics over HTTP (`--metrics-listen`): what the registry knows
//! about streams, plus the process's memory, computed at each scrape.
//!
//! The format comes from `prometheus-client` (a collector that reads the
//! registry when scraped, so the data path counts nothing twice), the
//! listener from `tiny_http` (a thread, no async runtime).

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry as Exposition;

use crate::end::Reason;
use crate::registry::{MethodTotals, Registry};

/// The metrics listener; stops when dropped.
pub struct MetricsServer {
    http: Arc<tiny_http::Server>,
    addr: SocketAddr,
}

impl MetricsServer {
    /// Serves `GET /metrics` on `addr` from `registry`, on a thread of its own.
    pub fn start(addr: SocketAddr, registry: Arc<Registry>) -> std::io::Result<MetricsServer> {
        let http = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
        let addr = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("the metrics listener has no IP address"))?;
        let http = Arc::new(http);
        let mut exposition = Exposition::default();
        exposition.register_collector(Box::new(StreamCollector { registry }));
        let serving = http.clone();
        std::thread::Builder::new()
            .name("yes-metrics".into())
            .spawn(move || serve(&serving, &exposition))?;
        Ok(MetricsServer { http, addr })
    }

    /// The address the listener bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.http.unblock();
    }
}

fn serve(http: &tiny_http::Server, exposition: &Exposition) {
    for request in http.incoming_requests() {
        let response = if request.url() == "/metrics" {
            let accept = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Accept"))
                .map(|h| h.value.as_str());
            let format = Format::negotiate(accept);
            let mut body = String::new();
            match prometheus_client::encoding::text::encode(&mut body, exposition) {
                Ok(()) => {
                    if let Format::Classic = format {
                        body = classic(&body);
                    }
                    tiny_http::Response::from_string(body).with_header(
                        format
                            .header()
                            .parse::<tiny_http::Header>()
                            .expect("a valid header"),
                    )
                }
                Err(e) => tiny_http::Response::from_string(format!("cannot encode: {e}"))
                    .with_status_code(500),
            }
        } else {
            tiny_http::Response::from_string("metrics are at /metrics\n").with_status_code(404)
        };
        if let Err(e) = request.respond(response) {
            log::debug!("metrics: cannot answer a scrape: {e}");
        }
    }
}

/// The text formats a scraper may ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    OpenMetrics,
    /// Prometheus's format before OpenMetrics (`text/plain; version=0.0.4`),
    /// which scrapers older than Prometheus 2.5 and some agents still ask
    /// for alone.
    Classic,
}

impl Format {
    /// OpenMetrics, unless the scraper accepts the classic format and not
    /// OpenMetrics (Prometheus asks for both, preferring OpenMetrics).
    fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("text/plain") && !a.contains("application/openmetrics-text") => {
                Format::Classic
            }
            _ => Format::OpenMetrics,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Format::OpenMetrics => {
                "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
            Format::Classic => "Content-Type: text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The classic text format of an OpenMetrics exposition: the same samples,
/// without `# EOF` and `# UNIT`, and with a counter's `# HELP` and `# TYPE`
/// naming its samples (`x_total`) rather than its family (`x`).
fn classic(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let comment = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|kind| Some((kind, line.strip_prefix(kind)?)));
        match comment {
            Some((kind, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let suffix = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                text.push_str(&format!("{kind}{name}{suffix} {tail}\n"));
            }
            None => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text
}

/// Reads the registry at each scrape.
struct StreamCollector {
    registry: Arc<Registry>,
}

impl std::fmt::Debug for StreamCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamCollector")
    }
}

impl Collector for StreamCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let by_method = self.registry.by_method();
        let labels = |m: &MethodTotals| vec![("method", m.method.name())];

        let mut family = encoder.encode_descriptor(
            "yes_active_streams",
            "Streams live now",
            None,
            MetricType::Gauge,
        )?;
        for m in &by_method {
            ConstGauge::new(m.active as i64).encode(family.encode_family(&labels(m))?)?;
        }

        let mut family = encoder.encode_descriptor(
            "yes_streams_ended",
            "Streams ended, by method and reason",
            None,
            MetricType::Counter,
        )?;
        for m in &by_method {
            for (reason, count) in m.ended.iter() {
                let labels = vec![("method", m.method.name()), ("reason", reason.name())];
                ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
            }
        }

        for (name, help, value) in [
            ("yes_messages_sent", "Messages given to C-core", {
                fn messages(m: &MethodTotals) -> u64 {
                    m.messages
                }
                messages as fn(&MethodTotals) -> u64
            }),
            ("yes_bytes_sent", "Payload bytes given to C-core", |m| {
                m.bytes
            }),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for m in &by_method {
                ConstCounter::new(value(m)).encode(family.encode_family(&labels(m))?)?;
            }
        }

        let mut family = encoder.encode_descriptor(
            "yes_paused_seconds",
            "Seconds the streams' producers were paused by flow control (the client's window)",
            None,
            MetricType::Counter,
        )?;
        for m in &by_method {
            ConstCounter::new(m.paused.as_secs_f64()).encode(family.encode_family(&labels(m))?)?;
        }

        let mut family = encoder.encode_descriptor(
            "yes_paused_streams",
            "Streams whose producer is waiting on C-core right now: slow readers whose window is full \
             (and, when the server is short of CPU, streams waiting their turn)",
            None,
            MetricType::Gauge,
        )?;
        for m in &by_method {
            ConstGauge::new(m.paused_now as i64).encode(family.encode_family(&labels(m))?)?;
        }

        let budget: u64 = by_method
            .iter()
            .map(|m| m.ended(Reason::BudgetExceeded))
            .sum();
        let counter = ConstCounter::new(budget);
        counter.encode(encoder.encode_descriptor(
            "yes_naive_budget_exceeded",
            "Yes streams ended for holding more than --naive-budget",
            None,
            counter.metric_type(),
        )?)?;

        let counter = ConstCounter::new(crate::accept::shed_so_far());
        counter.encode(encoder.encode_descriptor(
            "yes_connections_shed",
            "New connections closed unserved because the server was out of file descriptors",
            None,
            counter.metric_type(),
        )?)?;

        let rss = crate::memory::resident_kib(std::process::id()).unwrap_or(0) * 1024;
        let gauge = ConstGauge::new(rss as i64);
        gauge.encode(encoder.encode_descriptor(
            "process_resident_memory_bytes",
            "Resident memory of the server process",
            None,
            gauge.metric_type(),
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_and_old_scrapers_the_classic_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                          version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4")),
            Format::Classic
        );
    }

    #[test]
    fn the_classic_format_names_counters_by_their_samples() {
        let openmetrics = "# HELP a_total_ish Gauge.\n# TYPE a_total_ish gauge\na_total_ish 1\n\
                           # HELP b Streams.\n# TYPE b counter\nb_total{m=\"x\"} 2\n# EOF\n";
        assert_eq!(
            classic(openmetrics),
            "# HELP a_total_ish Gauge.\n# TYPE a_total_ish gauge\na_total_ish 1\n\
             # HELP b_total Streams.\n# TYPE b_total counter\nb_total{m=\"x\"} 2\n"
        );
    }
}
