//! Bad calls get a clear status and harm nobody else.

mod common;

use grpcio::{Method, MethodType, RpcStatusCode};

use common::*;

fn first_error(
    client: &grpcio::Client,
    method: &Method<Vec<u8>, Vec<u8>>,
    body: Vec<u8>,
) -> grpcio::Error {
    let mut stream = client
        .server_streaming(method, &body, grpcio::CallOption::default())
        .unwrap();
    match futures::executor::block_on(futures::StreamExt::next(&mut stream)) {
        Some(Err(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn bad_requests_get_clear_statuses_and_others_flow_on() {
    let server = server_with(|c| c.max_request_bytes = 64 * 1024);
    let bystander = client(&server);
    let mut flowing = bystander.yes_with_fc(&request("still here")).unwrap();
    read(&mut flowing, 10);

    let raw = grpcio::Client::new(channel(&server));
    let fc = raw_method(MethodType::ServerStreaming, "/yes.SayYes/YesWithFc");
    let naive = raw_method(MethodType::ServerStreaming, "/yes.SayYes/Yes");

    // Field 1 holding bytes that are not UTF-8.
    for method in [&fc, &naive] {
        let error = first_error(&raw, method, vec![0x0a, 0x02, 0xff, 0xfe]);
        assert_eq!(code(&error), RpcStatusCode::INVALID_ARGUMENT, "{error:?}");
        assert!(message(&error).contains("not a valid yes.YesRequest"));
    }
    // A truncated message: a length that runs past the end.
    let error = first_error(&raw, &fc, vec![0x0a, 0x7f, b'y']);
    assert_eq!(code(&error), RpcStatusCode::INVALID_ARGUMENT);

    // A method the service does not have.
    let error = first_error(
        &raw,
        &raw_method(MethodType::ServerStreaming, "/yes.SayYes/No"),
        vec![],
    );
    assert_eq!(code(&error), RpcStatusCode::UNIMPLEMENTED);
    let error = first_error(
        &raw,
        &raw_method(MethodType::ServerStreaming, "/no.Such/Service"),
        vec![],
    );
    assert_eq!(code(&error), RpcStatusCode::UNIMPLEMENTED);

    // A request over the size limit is refused by C-core.
    let mut big = vec![0x0a, 0x80, 0x80, 0x08]; // field 1, 128 KiB follow
    big.resize(4 + 128 * 1024, b'x');
    let error = first_error(&raw, &fc, big);
    assert_eq!(code(&error), RpcStatusCode::RESOURCE_EXHAUSTED, "{error:?}");

    // None of it touched the bystander, and no stream was left behind.
    assert!(read(&mut flowing, 1000).iter().all(|r| r == "still here"));
    let totals = server.registry().totals();
    assert_eq!(totals.active, 1);
    assert_eq!(totals.started, 1, "bad calls never became streams");
}

/// `--ccore-arg` reaches C-core and wins over the server's own setting: a
/// largest message of 16 bytes set by name refuses a request that the
/// server's default (4 MiB) would take.
#[test]
fn a_ccore_arg_reaches_c_core_over_the_servers_own_settings() {
    let server = server_with(|c| {
        c.ccore_args = vec!["grpc.max_receive_message_length=16".parse().unwrap()];
    });
    let client = client(&server);
    let mut fine = client.yes_with_fc(&request("short")).unwrap();
    assert_eq!(read(&mut fine, 1), ["short"]);
    let mut refused = client
        .yes_with_fc(&request("a request of more than sixteen bytes"))
        .unwrap();
    let (replies, error) = read_to_error(&mut refused);
    assert_eq!(replies, 0, "the long request was answered");
    assert_eq!(code(&error), RpcStatusCode::RESOURCE_EXHAUSTED, "{error:?}");
}
