"""Reads yes-server's channelz the way grpcurl does: knowing nothing but the
address, it learns grpc.channelz.v1.Channelz through server reflection
(Python's grpcio-reflection client), builds the message classes from the
descriptors it got (channelz.proto and the well-known types it imports),
and asks for the servers, the server's sockets and each socket.

Usage: channelz_client.py HOST:PORT
Prints one JSON object: the services, GetServers' answer and each socket,
in protobuf's JSON mapping.
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def main(target):
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = sorted(database.get_services())
        pool = descriptor_pool.DescriptorPool(database)
        channelz = pool.FindServiceByName("grpc.channelz.v1.Channelz")

        def call(name, **fields):
            method = channelz.methods_by_name[name]
            request_class = message_factory.GetMessageClass(method.input_type)
            reply_class = message_factory.GetMessageClass(method.output_type)
            stub = channel.unary_unary(
                "/grpc.channelz.v1.Channelz/" + name,
                request_serializer=request_class.SerializeToString,
                response_deserializer=reply_class.FromString,
            )
            return stub(request_class(**fields), timeout=20)

        servers = call("GetServers")
        server_id = servers.server[0].ref.server_id
        sockets = call("GetServerSockets", server_id=server_id)
        details = [
            json_format.MessageToDict(call("GetSocket", socket_id=ref.socket_id).socket)
            for ref in sockets.socket_ref
        ]
        print(
            json.dumps(
                {
                    "services": services,
                    "servers": json_format.MessageToDict(servers),
                    "sockets": details,
                },
                sort_keys=True,
            )
        )


if __name__ == "__main__":
    main(sys.argv[1])
