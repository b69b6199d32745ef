//! Every way a stream ends brings the server back to no live streams.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use yes_grpc::end::Reason;

use futures::executor::block_on;
use futures::StreamExt;
use grpcio::RpcStatusCode;
use grpcio_health::proto::{HealthCheckRequest, ServingStatus};
use grpcio_health::HealthClient;

use common::*;

#[test]
fn cancel_ends_the_stream() {
    let server = server();
    let client = client(&server);
    for naive in [false, true] {
        let mut stream = if naive {
            client.yes(&request("")).unwrap()
        } else {
            client.yes_with_fc(&request("")).unwrap()
        };
        read(&mut stream, 100);
        assert_eq!(server.registry().totals().active, 1);
        stream.cancel();
        assert!(
            server.registry().wait_idle(PATIENCE),
            "the stream outlived its cancel"
        );
    }
    let totals = server.registry().totals();
    assert_eq!(totals.ended(Reason::Cancelled), 2, "{totals:?}");
    // The channel is still good for a new call.
    let mut again = client.yes_with_fc(&request("again")).unwrap();
    assert_eq!(read(&mut again, 1), ["again"]);
}

/// A client whose window is full (it stopped reading) cancels: the server's
/// pump is blocked on C-core at that moment, and must still notice.
#[test]
fn cancel_while_paused_by_flow_control_ends_the_stream() {
    let server = server();
    let client = client(&server);
    let mut stream = client
        .yes_with_fc(&request(&"p".repeat(16 * 1024)))
        .unwrap();
    read(&mut stream, 1);
    let paused = eventually(|| {
        let streams = server.registry().streams();
        streams
            .iter()
            .any(|s| s.paused > Duration::from_millis(100))
    });
    assert!(paused, "the stream never paused");
    stream.cancel();
    assert!(
        server.registry().wait_idle(PATIENCE),
        "the paused stream outlived its cancel"
    );
    assert_eq!(server.registry().totals().ended(Reason::Cancelled), 1);
}

#[test]
fn deadline_ends_the_stream() {
    let server = server();
    let client = client(&server);
    let mut stream = client
        .yes_with_fc_opt(&request(""), with_timeout(Duration::from_millis(300)))
        .unwrap();
    let (received, error) = read_to_error(&mut stream);
    assert!(received > 0, "no reply came before the deadline");
    assert_eq!(code(&error), RpcStatusCode::DEADLINE_EXCEEDED);
    assert!(server.registry().wait_idle(PATIENCE));
    assert_eq!(server.registry().totals().ended(Reason::Deadline), 1);
}

/// The test binary runs itself as a client process (see `child_client`),
/// which is killed with SIGKILL mid-stream: a dropped connection.
#[test]
fn killed_client_process_ends_its_streams() {
    let server = server();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_client",
            "--nocapture",
            "--include-ignored",
        ])
        .env("YES_TEST_CHILD_TARGET", server.local_addr().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The child says when both its streams have delivered a reply.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let said = lines.find(|l| l.as_deref().map_or(true, |l| l == "streaming"));
    assert!(matches!(said, Some(Ok(_))), "the child never streamed");
    assert_eq!(server.registry().totals().active, 2);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        server.registry().wait_idle(PATIENCE),
        "streams outlived their client"
    );
    assert_eq!(server.registry().totals().ended(Reason::Cancelled), 2);
}

/// Not a test on its own: the client process of
/// `killed_client_process_ends_its_streams`.
#[test]
#[ignore = "run by killed_client_process_ends_its_streams"]
fn child_client() {
    let Ok(target) = std::env::var("YES_TEST_CHILD_TARGET") else {
        return;
    };
    let env = client_env();
    let channel = grpcio::ChannelBuilder::new(env).connect(&target);
    let client = yes_grpc::proto::yes_grpc::SayYesClient::new(channel);
    let mut naive = client.yes(&request("")).unwrap();
    let mut flowing = client.yes_with_fc(&request("")).unwrap();
    read(&mut naive, 1);
    read(&mut flowing, 1);
    println!("streaming");
    // Stop reading and wait to be killed; give up after a while.
    std::thread::sleep(PATIENCE * 2);
}

#[test]
fn health_reports_serving_then_not_serving_on_shutdown() {
    let server = server();
    let health = HealthClient::new(channel(&server));
    for service in ["", "yes.SayYes"] {
        let req = HealthCheckRequest {
            service: service.into(),
            ..Default::default()
        };
        let status = health.check(&req).unwrap().status;
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let unknown = HealthCheckRequest {
        service: "no.Such".into(),
        ..Default::default()
    };
    let error = health.check(&unknown).unwrap_err();
    assert_eq!(code(&error), RpcStatusCode::NOT_FOUND);

    let watch = HealthCheckRequest {
        service: "yes.SayYes".into(),
        ..Default::default()
    };
    let mut updates = health.watch(&watch).unwrap();
    let first = block_on(updates.next()).unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving);

    let client = client(&server);
    // Replies of 8 KiB, so the client drains its window to the status well
    // within the grace period however busy the machine is.
    let mut stream = client
        .yes_with_fc(&request(&large_message("drain")))
        .unwrap();
    read(&mut stream, 10);

    let shutdown = std::thread::spawn(move || block_on(server.shutdown(Duration::from_secs(2))));
    let next = block_on(updates.next()).unwrap().unwrap();
    assert_eq!(next.status, ServingStatus::NotServing);
    let (_, error) = read_to_error(&mut stream);
    assert_eq!(code(&error), RpcStatusCode::UNAVAILABLE);
    assert_eq!(message(&error), "server shutting down");
    drop(updates);
    shutdown.join().unwrap();
}

/// A client that stops reading and never cancels (a hand-written one, or
/// one whose own timer died) still has its deadline kept by the server:
/// C-core's deadline filter ends the call, and the producer with it. The
/// same with `grpc.minimal_stack`, which drops C-core's optional filters,
/// where the server accepts it: issue 23 asked whether the deadline
/// survives it on 1.85 (it does); on Debian's 1.51 it does not, and the
/// server refuses to start with it.
#[test]
fn the_server_keeps_a_deadline_the_client_never_enforces() {
    use common::h2::{
        grpc_headers, grpc_message, RawConnection, DATA, END_STREAM, HEADERS, RST_STREAM,
    };
    use yes_grpc::ccore_args::MINIMAL_STACK_KEEPS_DEADLINES;
    for ccore_args in [&[][..], &["grpc.minimal_stack=1"]] {
        let tune = |c: &mut yes_grpc::Config| {
            c.ccore_args = ccore_args.iter().map(|a| a.parse().unwrap()).collect();
        };
        if !ccore_args.is_empty() && yes_grpc::ccore::major() < MINIMAL_STACK_KEEPS_DEADLINES {
            let refused = yes_grpc::YesServer::start(&config_with(tune)).err();
            assert!(
                refused.is_some_and(|e| e.to_string().contains("deadline")),
                "{ccore_args:?} was taken on {}",
                yes_grpc::ccore::describe()
            );
            continue;
        }
        let server = server_with(tune);
        let addr = server.local_addr().to_string();
        let mut raw = RawConnection::open(&addr, &[]);
        let mut headers = grpc_headers("/yes.SayYes/YesWithFc", &addr);
        headers.push(("grpc-timeout", "300m"));
        assert!(raw.request(1, &headers, Some(&grpc_message(&[]))));
        // No WINDOW_UPDATE is ever sent: the stream pauses once the
        // window is full, and only the deadline can end it.
        let (frames, _) = raw.read_until(PATIENCE, |f| {
            f.stream == 1
                && (f.kind == RST_STREAM || f.kind == HEADERS && f.flags & END_STREAM != 0)
        });
        assert!(
            frames
                .last()
                .is_some_and(|f| f.stream == 1 && f.kind != DATA),
            "{ccore_args:?}: the server never ended the call"
        );
        assert!(
            server.registry().wait_idle(PATIENCE),
            "{ccore_args:?}: the producer outlived the deadline"
        );
        assert_eq!(
            server.registry().totals().ended(Reason::Deadline),
            1,
            "{ccore_args:?}"
        );
    }
}
