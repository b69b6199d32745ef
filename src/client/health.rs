//! `yes-client --health SERVICE`: one `grpc.health.v1.Health/Check`, for
//! scripts and for the container image's `HEALTHCHECK`, which then needs no
//! tool the image does not already carry.

use std::time::Duration;

use grpcio::{CallOption, RpcStatus, RpcStatusCode};
use grpcio_health::proto::{HealthCheckRequest, ServingStatus};
use grpcio_health::HealthClient;

use super::{channel, channel_target, status_of, ClientTls};

/// How long a check may take when the caller sets no deadline: a health
/// check that hangs is a failed one.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// Asks the server at `target` whether `service` ("" for the server as a
/// whole) is serving. `Ok(true)` only for SERVING; the status's name either
/// way, for the caller to print.
pub fn check(
    target: &str,
    tls: Option<&ClientTls>,
    service: &str,
    deadline: Option<Duration>,
) -> Result<(bool, String), RpcStatus> {
    let channel = channel_target(target)
        .and_then(|target| channel(&target, false, tls))
        .map_err(|e| RpcStatus::with_message(RpcStatusCode::INVALID_ARGUMENT, e))?;
    let client = HealthClient::new(channel);
    let request = HealthCheckRequest {
        service: service.to_owned(),
        ..Default::default()
    };
    let option = CallOption::default().timeout(deadline.unwrap_or(DEFAULT_DEADLINE));
    let response = client.check_opt(&request, option).map_err(status_of)?;
    let name = match response.status {
        ServingStatus::Serving => "SERVING",
        ServingStatus::NotServing => "NOT_SERVING",
        ServingStatus::ServiceUnknown => "SERVICE_UNKNOWN",
        _ => "UNKNOWN",
    };
    Ok((response.status == ServingStatus::Serving, name.to_owned()))
}
