"""The interop matrix's cases (interop/CASES.md) from Python's grpcio, on
its asyncio API (grpc.aio).

Usage: client.py CASE HOST:PORT   (YES_TLS_CA=ca.pem for the tls case)
       client.py cases            (lists the cases it knows)
       client.py load HOST:PORT BYTES SECONDS   (the benchmark's load: one
       YesWithFc stream of BYTES-byte replies read as fast as it comes; after
       a second's warm-up prints msgs=N bytes=B seconds=S total=T)
"""

import asyncio
import os
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import yes_pb2
import yes_pb2_grpc


class Fail(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Fail(what)


async def read(call, n):
    replies = []
    async for reply in call:
        replies.append(reply.message)
        if len(replies) == n:
            return replies
    raise Fail(f"the stream ended after {len(replies)} of {n} replies")


async def expect_code(call, code):
    """Reads `call` until it fails; its status code must be `code`."""
    count = 0
    try:
        async for _ in call:
            count += 1
    except grpc.aio.AioRpcError as e:
        check(e.code() == code, f"{e.code()} ({e.details()}) instead of {code}")
        return count, e
    raise Fail(f"the stream ended without a status after {count} replies")


def yes(stub, message="", **kwargs):
    return stub.YesWithFc(yes_pb2.YesRequest(message=message), **kwargs)


async def default_reply(channel, stub):
    replies = await read(yes(stub), 3)
    check(replies == ["yes"] * 3, f"replies {replies}")
    return "3 replies of 'yes'"


async def echo(channel, stub):
    for message in ["hello interop", "はい — да — 👍", "a" * (1 << 20)]:
        call = yes(stub, message)
        replies = await read(call, 2)
        call.cancel()
        check(replies == [message] * 2, f"{len(message)}-character message not echoed")
    return "custom, UTF-8 and 1 MiB messages echoed intact"


async def cancel_then_new_call(channel, stub):
    call = yes(stub, "first")
    await read(call, 10)
    call.cancel()
    check(call.cancelled(), "the call is not cancelled")
    replies = await read(yes(stub, "again"), 3)
    check(replies == ["again"] * 3, f"replies {replies}")
    return "10 replies, cancelled, then a new call on the same channel"


async def deadline(channel, stub):
    started = time.monotonic()
    count, _ = await expect_code(yes(stub, timeout=0.3), grpc.StatusCode.DEADLINE_EXCEEDED)
    took = time.monotonic() - started
    check(count > 0 and 0.25 <= took <= 5, f"{count} replies in {took:.3f} s")
    return f"DEADLINE_EXCEEDED after {took * 1000:.0f} ms and {count} replies"


async def unimplemented(channel, stub):
    call = channel.unary_stream("/yes.SayYes/NoSuchMethod")(b"")
    await expect_code(call, grpc.StatusCode.UNIMPLEMENTED)
    return "UNIMPLEMENTED"


async def slow_reader(channel, stub):
    call = yes(stub, "slow")
    count = 0
    until = time.monotonic() + 3
    async for reply in call:
        check(reply.message == "slow", f"reply {count} is {reply.message!r}")
        count += 1
        if time.monotonic() >= until:
            break
        await asyncio.sleep(0.01)
    call.cancel()
    return f"{count} replies read at 100 a second, all right"


async def concurrent(channel, stub):
    async def one(i):
        call = yes(stub, f"c{i}")
        replies = await read(call, 100)
        call.cancel()
        return replies == [f"c{i}"] * 100

    results = await asyncio.gather(*(one(i) for i in range(20)))
    check(all(results), f"{results.count(False)} streams got wrong replies")
    return "20 streams on one channel, 100 replies each"


async def gzip(channel, stub):
    call = yes(stub, "gzip", compression=grpc.Compression.Gzip)
    replies = await read(call, 3)
    call.cancel()
    check(replies == ["gzip"] * 3, f"replies {replies}")
    return "gzip request, 3 replies"


async def naive_echo(channel, stub):
    call = stub.Yes(yes_pb2.YesRequest(message="naive"))
    replies = await read(call, 3)
    call.cancel()
    check(replies == ["naive"] * 3, f"replies {replies}")
    return "Yes echoed 3 replies"


async def health(channel, stub):
    health = health_pb2_grpc.HealthStub(channel)
    serving = health_pb2.HealthCheckResponse.SERVING
    for service in ["", "yes.SayYes"]:
        status = (await health.Check(health_pb2.HealthCheckRequest(service=service))).status
        check(status == serving, f"Check({service!r}) = {status}")
    watch = health.Watch(health_pb2.HealthCheckRequest(service="yes.SayYes"))
    seen = []
    async for update in watch:
        seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(update.status))
        if len(seen) == 1:
            check(seen == ["SERVING"], f"Watch began with {seen}")
            print("streaming", flush=True)
        elif seen[-1] == "NOT_SERVING":
            return "Check SERVING twice; Watch SERVING, then NOT_SERVING on shutdown"
    raise Fail(f"Watch ended after {seen}")


async def reflection(channel, stub):
    reflect = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for response in reflect.ServerReflectionInfo(requests()):
        names = [s.name for s in response.list_services_response.service]
        check({"yes.SayYes", "grpc.health.v1.Health"} <= set(names), f"listed {names}")
        return f"listed {', '.join(sorted(names))}"
    raise Fail("no reply")


async def tls(channel, stub):
    return await default_reply(channel, stub)


async def sigterm(channel, stub):
    call = yes(stub, "until shutdown")
    await read(call, 10)
    print("streaming", flush=True)
    count, e = await expect_code(call, grpc.StatusCode.UNAVAILABLE)
    return f"UNAVAILABLE ({e.details()}) after {count} more replies"


CASES = {
    "default-reply": default_reply,
    "echo": echo,
    "cancel-then-new-call": cancel_then_new_call,
    "deadline": deadline,
    "unimplemented": unimplemented,
    "slow-reader": slow_reader,
    "concurrent": concurrent,
    "gzip": gzip,
    "naive-echo": naive_echo,
    "health": health,
    "reflection": reflection,
    "tls": tls,
    "sigterm": sigterm,
}


async def load(target, size, seconds):
    counts = [0, 0]

    async def reading(stub):
        async for reply in yes(stub, "y" * size):
            counts[0] += 1
            counts[1] += len(reply.message)

    options = [("grpc.max_receive_message_length", 8 << 20)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        task = asyncio.ensure_future(reading(yes_pb2_grpc.SayYesStub(channel)))
        await asyncio.sleep(1)
        m0, b0, started = counts[0], counts[1], time.monotonic()
        await asyncio.sleep(seconds)
        m, b, elapsed = counts[0], counts[1], time.monotonic() - started
        print(f"msgs={m - m0} bytes={b - b0} seconds={elapsed:.3f} total={m}", flush=True)
        task.cancel()


async def main(case, target):
    options = [("grpc.max_receive_message_length", 8 << 20)]
    if case == "tls":
        with open(os.environ["YES_TLS_CA"], "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        options.append(("grpc.ssl_target_name_override", "localhost"))
        channel = grpc.aio.secure_channel(target, credentials, options=options)
    else:
        channel = grpc.aio.insecure_channel(target, options=options)
    async with channel:
        return await CASES[case](channel, yes_pb2_grpc.SayYesStub(channel))


if __name__ == "__main__":
    if sys.argv[1:] == ["cases"]:
        print("\n".join(CASES))
        sys.exit(0)
    case, target = sys.argv[1], sys.argv[2]
    if case == "load":
        asyncio.run(load(target, int(sys.argv[3]), float(sys.argv[4])))
        os._exit(0)
    if case not in CASES:
        print(f"N/A {case}: no such case in this client")
        sys.exit(0)
    try:
        detail = asyncio.run(asyncio.wait_for(main(case, target), 30))
        print(f"PASS {case}: {detail}")
    except (Fail, grpc.aio.AioRpcError, asyncio.TimeoutError, OSError) as e:
        print(f"FAIL {case}: {type(e).__name__}: {e}")
        sys.exit(1)
