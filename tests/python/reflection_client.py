"""Uses yes-server the way grpcurl or `evans -r` do: knowing nothing but the
address, it learns the services through server reflection (Python's
grpcio-reflection client, which speaks grpc.reflection.v1alpha), builds the
message classes from the descriptors it got, and makes a YesWithFc call.

Usage: reflection_client.py HOST:PORT MESSAGE
Prints one JSON object with what it learned and the replies it read.
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def describe(service):
    return {
        method.name: {
            "input": method.input_type.full_name,
            "output": method.output_type.full_name,
            "server_streaming": method.server_streaming,
            "client_streaming": method.client_streaming,
        }
        for method in service.methods
    }


def main(target, message):
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = sorted(database.get_services())
        pool = descriptor_pool.DescriptorPool(database)
        say_yes = pool.FindServiceByName("yes.SayYes")
        health = pool.FindServiceByName("grpc.health.v1.Health")

        method = say_yes.methods_by_name["YesWithFc"]
        request_class = message_factory.GetMessageClass(method.input_type)
        reply_class = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_stream(
            "/yes.SayYes/YesWithFc",
            request_serializer=request_class.SerializeToString,
            response_deserializer=reply_class.FromString,
        )
        replies = []
        stream = call(request_class(message=message), timeout=20)
        for reply in stream:
            replies.append(reply.message)
            if len(replies) == 3:
                stream.cancel()
                break

        print(
            json.dumps(
                {
                    "services": services,
                    "file": say_yes.file.name,
                    "say_yes": describe(say_yes),
                    "health": describe(health),
                    "replies": replies,
                },
                sort_keys=True,
            )
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
