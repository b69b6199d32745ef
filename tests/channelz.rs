//! `--channelz`: the real binary answers `grpc.channelz.v1.Channelz` with
//! what C-core knows of its listener, connections and calls, decoded here
//! with the messages of `proto/grpc/channelz/v1/channelz.proto`; without
//! the flag the service is not there.

mod common;

use grpcio::{CallOption, Channel, Marshaller, Method, MethodType, RpcStatusCode};
use protobuf::Message;

use common::process::ServerProcess;
use common::*;
use yes_grpc::proto::channelz::*;
use yes_grpc::proto::yes_grpc::SayYesClient;

fn method<Req: Message, Resp: Message>(name: &'static str) -> Method<Req, Resp> {
    Method {
        ty: MethodType::Unary,
        name,
        req_mar: Marshaller {
            ser: grpcio::pb_ser,
            de: grpcio::pb_de,
        },
        resp_mar: Marshaller {
            ser: grpcio::pb_ser,
            de: grpcio::pb_de,
        },
    }
}

/// One channelz call on `channel`.
fn call<Req: Message, Resp: Message + Unpin>(
    channel: &Channel,
    name: &'static str,
    request: &Req,
) -> Result<Resp, grpcio::Error> {
    let method = method::<Req, Resp>(name);
    let client = grpcio::Client::new(channel.clone());
    client.unary_call(&method, request, CallOption::default().timeout(PATIENCE))
}

#[test]
fn channelz_shows_the_listener_the_connections_and_their_messages() {
    let server = ServerProcess::spawn(&["--channelz"]);
    // Two clients on connections of their own: one reads 1,000 replies,
    // the other one and then stops.
    let fast = SayYesClient::new(channel_to(&server.addr, |b| b));
    let mut flowing = fast.yes_with_fc(&request("fast")).unwrap();
    assert_eq!(read(&mut flowing, 1_000).len(), 1_000);
    let slow = SayYesClient::new(channel_to(&server.addr, |b| b));
    let mut paused = slow.yes_with_fc(&request("slow")).unwrap();
    assert_eq!(read(&mut paused, 1), ["slow"]);

    let channel = channel_to(&server.addr, |b| b);
    let servers: GetServersResponse = call(
        &channel,
        "/grpc.channelz.v1.Channelz/GetServers",
        &GetServersRequest::new(),
    )
    .unwrap();
    assert_eq!(servers.server.len(), 1, "{servers:?}");
    let listed = &servers.server[0];
    assert_eq!(listed.listen_socket.len(), 1, "{listed:?}");
    assert!(listed.get_data().calls_started >= 2, "{listed:?}");
    let id = listed.get_field_ref().server_id;

    let mut request = GetServerSocketsRequest::new();
    request.server_id = id;
    let sockets: GetServerSocketsResponse = call(
        &channel,
        "/grpc.channelz.v1.Channelz/GetServerSockets",
        &request,
    )
    .unwrap();
    // The two clients' connections and this one.
    assert_eq!(sockets.socket_ref.len(), 3, "{sockets:?}");
    let mut sent = Vec::new();
    for socket_ref in &sockets.socket_ref {
        let mut request = GetSocketRequest::new();
        request.socket_id = socket_ref.socket_id;
        let socket: GetSocketResponse =
            call(&channel, "/grpc.channelz.v1.Channelz/GetSocket", &request).unwrap();
        let socket = socket.get_socket();
        let remote = socket.get_remote().get_tcpip_address();
        assert_eq!(remote.ip_address, [127, 0, 0, 1], "{socket:?}");
        sent.push(socket.get_data().messages_sent);
    }
    sent.sort_unstable();
    assert!(
        sent[2] >= 1_000,
        "no connection sent the fast stream's replies: {sent:?}"
    );

    let mut unknown = GetSocketRequest::new();
    unknown.socket_id = i64::MAX;
    let missing =
        call::<_, GetSocketResponse>(&channel, "/grpc.channelz.v1.Channelz/GetSocket", &unknown);
    assert_eq!(code(&missing.unwrap_err()), RpcStatusCode::NOT_FOUND);
    drop((flowing, paused));
}

#[test]
fn without_the_flag_there_is_no_channelz() {
    let server = ServerProcess::spawn(&[]);
    let channel = channel_to(&server.addr, |b| b);
    let answer = call::<_, GetServersResponse>(
        &channel,
        "/grpc.channelz.v1.Channelz/GetServers",
        &GetServersRequest::new(),
    );
    assert_eq!(code(&answer.unwrap_err()), RpcStatusCode::UNIMPLEMENTED);
}

/// Reflection lists channelz when it is served, and can describe it (with
/// the well-known types it imports).
#[test]
fn reflection_lists_and_describes_channelz_when_served() {
    let with = yes_grpc::reflection::Catalog::served(true);
    assert!(with.services().any(|s| s == yes_grpc::channelz::SERVICE));
    let without = yes_grpc::reflection::Catalog::served(false);
    assert!(!without.services().any(|s| s == yes_grpc::channelz::SERVICE));
}
