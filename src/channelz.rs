//! Channelz (`grpc.channelz.v1.Channelz`, served with `--channelz`): the
//! server's own account of its listeners, connections and calls, as
//! grpc-java, grpc-go and grpc++ servers offer it to `grpcurl` and channelz
//! clients. Off by default: it names every client's address.
//!
//! C-core keeps the data and reports it as proto3 JSON (`grpc_channelz_get_*`,
//! through `grpcio::channelz`). Each answer is that JSON mapped onto the
//! response message by protobuf 3's JSON mapping, against the descriptor of
//! `proto/grpc/channelz/v1/channelz.proto`, so nothing is transcribed by
//! hand; fields C-core adds beyond the proto are dropped. (grpcio's codec
//! is protobuf 2, which has no JSON mapping; the requests are decoded with
//! it.) Neither C-core this project supports fills a socket's flow-control
//! windows (`local_flow_control_window`, `remote_flow_control_window`):
//! 1.85's transport publishes them asynchronously and the public API waits
//! for nothing (docs/design.md, "Known limits").

use std::sync::OnceLock;

use futures::FutureExt;
use grpcio::{
    GrpcSlice, Marshaller, Method, MethodType, RpcContext, RpcStatus, RpcStatusCode, Service,
    ServiceBuilder, UnarySink,
};
use log::{debug, warn};
use protobuf::descriptor::FileDescriptorProto;
use protobuf3::reflect::FileDescriptor;
use protobuf_json_mapping::ParseOptions;

use crate::proto::channelz::{
    GetChannelRequest, GetServerRequest, GetServerSocketsRequest, GetServersRequest,
    GetSocketRequest, GetSubchannelRequest, GetTopChannelsRequest,
};

/// The service's name, as reflection lists it.
pub const SERVICE: &str = "grpc.channelz.v1.Channelz";

/// A method taking a protobuf 2 request and answering encoded bytes.
const fn method<Request: protobuf::Message>(name: &'static str) -> Method<Request, Vec<u8>> {
    Method {
        ty: MethodType::Unary,
        name,
        req_mar: Marshaller {
            ser: grpcio::pb_ser,
            de: grpcio::pb_de,
        },
        resp_mar: Marshaller {
            ser: bytes_ser,
            de: bytes_de,
        },
    }
}

fn bytes_ser(bytes: &Vec<u8>, buf: &mut GrpcSlice) -> grpcio::Result<()> {
    *buf = GrpcSlice::from(bytes.as_slice());
    Ok(())
}

fn bytes_de(mut reader: grpcio::MessageReader) -> grpcio::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut bytes)
        .map_err(|e| grpcio::Error::Codec(Box::new(e)))?;
    Ok(bytes)
}

const GET_TOP_CHANNELS: Method<GetTopChannelsRequest, Vec<u8>> =
    method("/grpc.channelz.v1.Channelz/GetTopChannels");
const GET_SERVERS: Method<GetServersRequest, Vec<u8>> =
    method("/grpc.channelz.v1.Channelz/GetServers");
const GET_SERVER: Method<GetServerRequest, Vec<u8>> =
    method("/grpc.channelz.v1.Channelz/GetServer");
const GET_SERVER_SOCKETS: Method<GetServerSocketsRequest, Vec<u8>> =
    method("/grpc.channelz.v1.Channelz/GetServerSockets");
const GET_CHANNEL: Method<GetChannelRequest, Vec<u8>> =
    method("/grpc.channelz.v1.Channelz/GetChannel");
const GET_SUBCHANNEL: Method<GetSubchannelRequest, Vec<u8>> =
    method("/grpc.channelz.v1.Channelz/GetSubchannel");
const GET_SOCKET: Method<GetSocketRequest, Vec<u8>> =
    method("/grpc.channelz.v1.Channelz/GetSocket");

/// Most sockets one `GetServerSockets` answer lists when the request does
/// not say (C-core's own page size).
const DEFAULT_PAGE: usize = 100;

/// The channelz service.
pub fn service() -> Service {
    use grpcio::channelz as c;
    ServiceBuilder::new()
        .add_unary_handler(&GET_TOP_CHANNELS, |ctx, req, sink| {
            let json = c::get_top_channels(req.start_channel_id as u64, str::to_owned);
            answer(ctx, sink, "GetTopChannelsResponse", &json);
        })
        .add_unary_handler(&GET_SERVERS, |ctx, req, sink| {
            let json = c::get_servers(req.start_server_id as u64, str::to_owned);
            answer(ctx, sink, "GetServersResponse", &json);
        })
        .add_unary_handler(&GET_SERVER, |ctx, req, sink| {
            let json = c::get_server(req.server_id as u64, str::to_owned);
            answer(ctx, sink, "GetServerResponse", &json);
        })
        .add_unary_handler(&GET_SERVER_SOCKETS, |ctx, req, sink| {
            let page = match req.max_results {
                n if n > 0 => n as usize,
                _ => DEFAULT_PAGE,
            };
            let json = c::get_server_sockets(
                req.server_id as u64,
                req.start_socket_id as u64,
                page,
                str::to_owned,
            );
            answer(ctx, sink, "GetServerSocketsResponse", &json);
        })
        .add_unary_handler(&GET_CHANNEL, |ctx, req, sink| {
            let json = c::get_channel(req.channel_id as u64, str::to_owned);
            answer(ctx, sink, "GetChannelResponse", &json);
        })
        .add_unary_handler(&GET_SUBCHANNEL, |ctx, req, sink| {
            let json = c::get_subchannel(req.subchannel_id as u64, str::to_owned);
            answer(ctx, sink, "GetSubchannelResponse", &json);
        })
        .add_unary_handler(&GET_SOCKET, |ctx, req, sink| {
            let json = c::get_socket(req.socket_id as u64, str::to_owned);
            answer(ctx, sink, "GetSocketResponse", &json);
        })
        .build()
}

/// Sends C-core's JSON for `response` (a message of `grpc.channelz.v1`) as
/// that message, or the status that says why not.
fn answer(ctx: RpcContext, sink: UnarySink<Vec<u8>>, response: &str, json: &str) {
    let peer = crate::peer::of(&ctx);
    match encode(response, json) {
        Ok(bytes) => {
            debug!("channelz: {response} for {peer} ({} bytes)", bytes.len());
            ctx.spawn(sink.success(bytes).map(|_| ()));
        }
        Err(status) => {
            debug!("channelz: {response} for {peer}: {}", status.message());
            ctx.spawn(sink.fail(status).map(|_| ()));
        }
    }
}

/// `json` as the wire bytes of `grpc.channelz.v1.<response>`.
pub fn encode(response: &str, json: &str) -> Result<Vec<u8>, RpcStatus> {
    // C-core answers nothing for an id it does not know.
    if json.trim().is_empty() || json.trim() == "{}" {
        return Err(RpcStatus::with_message(
            RpcStatusCode::NOT_FOUND,
            "no such channelz entity".into(),
        ));
    }
    let message = descriptor()
        .message_by_package_relative_name(response)
        .unwrap_or_else(|| panic!("channelz.proto defines {response}"));
    let options = ParseOptions {
        ignore_unknown_fields: true,
        ..ParseOptions::default()
    };
    let parsed = protobuf_json_mapping::parse_dyn_from_str_with_options(&message, json, &options)
        .map_err(|e| {
        warn!("channelz: cannot map C-core's {response} onto the proto: {e}; JSON: {json}");
        RpcStatus::with_message(
            RpcStatusCode::INTERNAL,
            format!("cannot map C-core's channelz JSON onto {response}: {e}"),
        )
    })?;
    parsed.write_to_bytes_dyn().map_err(|e| {
        RpcStatus::with_message(RpcStatusCode::INTERNAL, format!("cannot encode: {e}"))
    })
}

/// The well-known types channelz.proto imports, as protobuf 3 knows them.
fn imports() -> [&'static FileDescriptor; 4] {
    use protobuf3::well_known_types as known;
    [
        known::any::file_descriptor(),
        known::duration::file_descriptor(),
        known::timestamp::file_descriptor(),
        known::wrappers::file_descriptor(),
    ]
}

/// channelz.proto's descriptor for protobuf 3's reflection, made once from
/// the one the generated code embeds.
fn descriptor() -> &'static FileDescriptor {
    static DESCRIPTOR: OnceLock<FileDescriptor> = OnceLock::new();
    DESCRIPTOR.get_or_init(|| {
        let bytes =
            protobuf::Message::write_to_bytes(crate::proto::channelz::file_descriptor_proto())
                .expect("the embedded descriptor encodes");
        let proto = protobuf3::Message::parse_from_bytes(&bytes).expect("and decodes");
        let imports: Vec<FileDescriptor> = imports().into_iter().cloned().collect();
        FileDescriptor::new_dynamic(proto, &imports).expect("channelz.proto resolves")
    })
}

/// The files reflection serves for channelz: channelz.proto and the
/// well-known types it imports.
pub fn descriptors() -> Vec<FileDescriptorProto> {
    let mut files = vec![crate::proto::channelz::file_descriptor_proto().clone()];
    for import in imports() {
        let bytes = protobuf3::Message::write_to_bytes(import.proto()).expect("encodes");
        files.push(protobuf::Message::parse_from_bytes(&bytes).expect("decodes"));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::channelz::{GetServersResponse, GetSocketResponse};

    /// C-core 1.85's JSON, with a field the proto lacks: mapped, not refused.
    #[test]
    fn ccore_json_maps_onto_the_messages() {
        let servers = r#"{"end":true,"server":[{"data":{"callsStarted":"1",
            "lastCallStartedTimestamp":"2026-12-02T02:20:51.613077148Z"},
            "listenSocket":[{"name":"chttp2 listener ipv4:127.0.0.1:0","socketId":"3"}],
            "ref":{"name":"","serverId":"2"}}]}"#;
        let bytes = encode("GetServersResponse", servers).unwrap();
        let decoded: GetServersResponse = protobuf::Message::parse_from_bytes(&bytes).unwrap();
        assert!(decoded.end);
        let server = &decoded.server[0];
        assert_eq!(server.get_field_ref().server_id, 2);
        assert_eq!(server.get_data().calls_started, 1);
        assert_eq!(server.listen_socket[0].socket_id, 3);

        // 1.51 spells some fields by their proto names; 1.85 adds options.
        let socket = r#"{"socket":{"data":{"messagesSent":"1024","option":[],
            "peerMaxConcurrentStreams":0},"local":{"tcpip_address":
            {"ip_address":"fwAAAQ==","port":35739}},"ref":{"socketId":"1"}}}"#;
        let bytes = encode("GetSocketResponse", socket).unwrap();
        let decoded: GetSocketResponse = protobuf::Message::parse_from_bytes(&bytes).unwrap();
        let socket = decoded.get_socket();
        assert_eq!(socket.get_data().messages_sent, 1024);
        let local = socket.get_local().get_tcpip_address();
        assert_eq!(
            (local.ip_address.as_slice(), local.port),
            (&[127, 0, 0, 1][..], 35739)
        );
    }

    #[test]
    fn an_unknown_id_is_not_found() {
        let status = encode("GetServerResponse", "").unwrap_err();
        assert_eq!(status.code(), RpcStatusCode::NOT_FOUND);
    }
}
