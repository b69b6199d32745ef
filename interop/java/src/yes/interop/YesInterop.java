package yes.interop;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.ClientStreamTracer;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.DebianJdkAlpn;
import java.io.File;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import yes.SayYesGrpc;
import yes.Yes.YesReply;
import yes.Yes.YesRequest;

/**
 * grpc-java client cases against yes-server, one per run:
 * {@code java yes.interop.YesInterop CASE HOST:PORT}.
 *
 * <p>Each run prints what it saw and ends with one line {@code PASS CASE: detail} (exit 0) or
 * {@code FAIL CASE: reason} (exit 1). The driver (tests/interop_java.rs) starts the real server,
 * runs the cases, and checks what only the server can tell (held bytes, live streams, memory).
 */
public final class YesInterop {
  private static final long WAIT_SECONDS = 20;

  public static void main(String[] args) throws Exception {
    runCase("YesInterop", args, YesInterop::run);
  }

  /** One case of a client: its name, the channel, and the target the channel goes to. */
  interface Case {
    String run(String name, ManagedChannel channel, String target) throws Exception;
  }

  /**
   * Runs the case {@code args[0]} against {@code args[1]} and exits: 0 after {@code PASS CASE:
   * detail}, or {@code N/A CASE: reason} when the case throws {@link
   * UnsupportedOperationException}; 1 after {@code FAIL CASE: reason}.
   */
  static void runCase(String program, String[] args, Case cases) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: " + program + " CASE HOST:PORT");
      System.exit(2);
    }
    String name = args[0];
    ManagedChannel channel = channel(args[1]);
    int code;
    try {
      String detail = cases.run(name, channel, args[1]);
      System.out.println("PASS " + name + ": " + detail);
      code = 0;
    } catch (UnsupportedOperationException e) {
      System.out.println("N/A " + name + ": " + e.getMessage());
      code = 0;
    } catch (Throwable e) {
      System.out.println("FAIL " + name + ": " + e);
      code = 1;
    } finally {
      channel.shutdownNow();
    }
    System.out.flush();
    System.exit(code);
  }

  /**
   * A channel to {@code target}: plaintext, or TLS when {@code YES_TLS_CA} names the PEM CA to
   * trust, presenting the client certificate {@code YES_TLS_CERT} with key {@code YES_TLS_KEY}
   * (PKCS#8) when both are set (mutual TLS).
   */
  static ManagedChannel channel(String target) throws Exception {
    // A fixed 1 MiB window: how much a client buffers for a stream it reads slowly.
    NettyChannelBuilder builder =
        NettyChannelBuilder.forTarget(target)
            .flowControlWindow(1 << 20)
            .maxInboundMessageSize(8 << 20);
    String ca = System.getenv("YES_TLS_CA");
    if (ca == null) {
      return builder.usePlaintext().build();
    }
    String cert = System.getenv("YES_TLS_CERT");
    String key = System.getenv("YES_TLS_KEY");
    return builder
        .sslContext(
            DebianJdkAlpn.clientContext(
                new File(ca), cert == null ? null : new File(cert), key == null ? null : new File(key)))
        .build();
  }

  static String run(String name, ManagedChannel channel, String target) throws Exception {
    switch (name) {
      case "default-reply":
        return defaultReply(channel);
      case "echo":
        return echo(channel);
      case "naive-echo":
        return naiveEcho(channel);
      case "manual-flow-control":
        return manualFlowControl(channel);
      case "naive-slow-reader":
        return naiveSlowReader(channel, target);
      case "cancel-then-new-call":
        return cancelThenNewCall(channel);
      case "deadline":
        return deadline(channel);
      case "concurrent-calls":
        return concurrentCalls(channel);
      case "gzip":
        return gzip(channel);
      case "metadata-unimplemented-health":
        return metadataUnimplementedHealth(channel);
      case "stream-until-killed":
        return streamUntilKilled(channel);
      case "stream-until-shutdown":
        return streamUntilShutdown(channel);
      case "refused":
        return refused(channel);
      case "sample-style-rate":
        return sampleStyleRate(channel);
      default:
        throw new IllegalArgumentException("no case " + name);
    }
  }

  static YesRequest request(String message) {
    return YesRequest.newBuilder().setMessage(message).build();
  }

  static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError(what);
    }
  }

  /**
   * One call read through the plain ClientCall API. With {@code autoRequest} each delivered
   * message asks for one more; otherwise the case asks with {@link #request}.
   */
  static final class Call {
    final ClientCall<YesRequest, YesReply> call;
    final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    volatile Status status;
    /** When the server's trailers reached the transport ({@code System.nanoTime()}), or 0. */
    volatile long trailersAt;
    /** When the status was delivered to the listener, after every message before it. */
    volatile long closedAt;

    Call(
        ManagedChannel channel,
        MethodDescriptor<YesRequest, YesReply> method,
        CallOptions options,
        Metadata headers,
        YesRequest request,
        boolean autoRequest) {
      // The transport sees the trailers as they arrive; the listener sees the status only
      // after every reply queued before it has been delivered.
      ClientStreamTracer.Factory tracer =
          new ClientStreamTracer.Factory() {
            @Override
            public ClientStreamTracer newClientStreamTracer(
                ClientStreamTracer.StreamInfo info, Metadata headers) {
              return new ClientStreamTracer() {
                @Override
                public void inboundTrailers(Metadata trailers) {
                  trailersAt = System.nanoTime();
                }
              };
            }
          };
      call = channel.newCall(method, options.withStreamTracerFactory(tracer));
      call.start(
          new ClientCall.Listener<YesReply>() {
            @Override
            public void onMessage(YesReply reply) {
              inbox.add(reply);
              if (autoRequest) {
                call.request(1);
              }
            }

            @Override
            public void onClose(Status closed, Metadata trailers) {
              closedAt = System.nanoTime();
              status = closed;
              inbox.add(closed);
            }
          },
          headers);
      call.sendMessage(request);
      call.halfClose();
      call.request(1);
    }

    static Call fc(ManagedChannel channel, String message) {
      return new Call(
          channel, SayYesGrpc.getYesWithFcMethod(), CallOptions.DEFAULT, new Metadata(),
          YesInterop.request(message), true);
    }

    void request(int n) {
      call.request(n);
    }

    /** The next reply; throws with the status if the call ended instead. */
    String next() throws InterruptedException {
      Object item = inbox.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (item == null) {
        throw new AssertionError("no reply within " + WAIT_SECONDS + " s");
      }
      if (item instanceof Status) {
        throw ((Status) item).asRuntimeException();
      }
      return ((YesReply) item).getMessage();
    }

    /** Reads until the call ends; returns its status. */
    Status drainToStatus() throws InterruptedException {
      while (true) {
        Object item = inbox.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        if (item == null) {
          throw new AssertionError("the call did not end within " + WAIT_SECONDS + " s");
        }
        if (item instanceof Status) {
          return (Status) item;
        }
      }
    }

    void cancel() {
      call.cancel("client is done", null);
    }
  }

  static void readAll(Call call, int count, String expected) throws InterruptedException {
    for (int i = 0; i < count; i++) {
      String reply = call.next();
      if (!reply.equals(expected)) {
        throw new AssertionError(
            "reply " + i + " was " + abbreviate(reply) + ", not " + abbreviate(expected));
      }
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 40 ? '"' + s + '"' : '"' + s.substring(0, 40) + "...\" (" + s.length() + " chars)";
  }

  // 1
  static String defaultReply(ManagedChannel channel) throws Exception {
    Call call = Call.fc(channel, "");
    readAll(call, 10_000, "yes");
    call.cancel();
    return "10000 replies, all \"yes\"";
  }

  // 2
  static String echo(ManagedChannel channel) throws Exception {
    StringBuilder mib = new StringBuilder(1 << 20);
    while (mib.length() < (1 << 20)) {
      mib.append("0123456789abcdef");
    }
    String[] messages = {"custom", "ja ✓ はい — 🦀 oui", mib.toString()};
    for (String message : messages) {
      Call call = Call.fc(channel, message);
      readAll(call, message.length() > 1000 ? 20 : 1000, message);
      call.cancel();
    }
    return "custom, multi-byte UTF-8 and 1 MiB messages echoed intact";
  }

  // 3
  static String naiveEcho(ManagedChannel channel) throws Exception {
    Call call =
        new Call(
            channel, SayYesGrpc.getYesMethod(), CallOptions.DEFAULT, new Metadata(),
            request("naive"), true);
    readAll(call, 1000, "naive");
    call.cancel();
    return "Yes echoed \"naive\" 1000 times";
  }

  /** Reads one reply every 10 ms with manual flow control; returns how many. */
  static int slowRead(Call call, String expected, long millis) throws Exception {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    int read = 0;
    while (System.nanoTime() < end) {
      String reply = call.next();
      check(reply.equals(expected), "slow reply " + read + " was " + abbreviate(reply));
      read++;
      Thread.sleep(10);
      call.request(1);
    }
    return read;
  }

  // 4
  static String manualFlowControl(ManagedChannel channel) throws Exception {
    Call call =
        new Call(
            channel, SayYesGrpc.getYesWithFcMethod(), CallOptions.DEFAULT, new Metadata(),
            request("slow"), false);
    int read = slowRead(call, "slow", 5_000);
    check(call.status == null, "the call ended early: " + call.status);
    check(read >= 250, "only " + read + " replies in 5 s");
    call.cancel();
    return read + " replies read one per 10 ms for 5 s, all correct, call healthy";
  }

  // 5
  static String naiveSlowReader(ManagedChannel channel, String target) throws Exception {
    // The naive stream: 8 KiB replies, read one per 10 ms with manual flow control.
    StringBuilder text = new StringBuilder();
    while (text.length() < 8192) {
      text.append("naive-slow ");
    }
    String message = text.toString();
    // A YesWithFc stream on another channel, read as fast as it comes.
    ManagedChannel other = channel(target);
    AtomicLong fast = new AtomicLong();
    AtomicReference<Status> fastEnd = new AtomicReference<>();
    CountDownLatch fastDone = new CountDownLatch(1);
    SayYesGrpc.newStub(other)
        .yesWithFc(
            request(""),
            new StreamObserver<YesReply>() {
              @Override
              public void onNext(YesReply reply) {
                fast.incrementAndGet();
              }

              @Override
              public void onError(Throwable t) {
                fastEnd.set(Status.fromThrowable(t));
                fastDone.countDown();
              }

              @Override
              public void onCompleted() {
                fastEnd.set(Status.OK);
                fastDone.countDown();
              }
            });
    // Its speed alone first (after a warm-up), then beside the naive stream.
    Thread.sleep(1_000);
    long baseStart = fast.get();
    long baseStarted = System.nanoTime();
    Thread.sleep(1_000);
    double baseline = (fast.get() - baseStart) / ((System.nanoTime() - baseStarted) / 1e9);
    Call naive =
        new Call(
            channel, SayYesGrpc.getYesMethod(), CallOptions.DEFAULT, new Metadata(),
            request(message), false);
    long started = System.nanoTime();
    long fastAtStart = fast.get();
    int slow = 0;
    Status status;
    while (true) {
      Object item = naive.inbox.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      check(item != null, "the naive stream stalled after " + slow + " replies");
      if (item instanceof Status) {
        status = (Status) item;
        break;
      }
      check(((YesReply) item).getMessage().equals(message), "naive reply " + slow + " differs");
      slow++;
      Thread.sleep(10);
      naive.request(1);
    }
    double slowSeconds = (System.nanoTime() - started) / 1e9;
    // Measure the other stream over at least 2 s.
    Thread.sleep(Math.max(0, 2_000 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)));
    double seconds = (System.nanoTime() - started) / 1e9;
    long fastCount = fast.get() - fastAtStart;
    Status fastStatus = fastEnd.get();
    other.shutdownNow();
    check(
        status.getCode() == Status.Code.RESOURCE_EXHAUSTED,
        "the naive stream ended with " + status + ", not RESOURCE_EXHAUSTED");
    String description = String.valueOf(status.getDescription());
    for (String needle :
        new String[] {"reads slower than the server writes", "bytes were held", "YesWithFc"}) {
      check(description.contains(needle), "status message lacks \"" + needle + "\": " + description);
    }
    check(fastStatus == null, "the YesWithFc stream ended: " + fastStatus);
    double rate = fastCount / seconds;
    check(
        rate >= baseline / 2,
        String.format(
            "the YesWithFc stream slowed from %.0f to %.0f msgs/s beside the naive one",
            baseline, rate));
    return String.format(
        "Yes ended with RESOURCE_EXHAUSTED after %d slow replies in %.1f s (\"%s\"); "
            + "YesWithFc on another channel read %d replies in %.1f s meanwhile, %.0f msgs/s "
            + "(%.0f msgs/s alone)",
        slow, slowSeconds, description, fastCount, seconds, rate, baseline);
  }

  // 6
  static String cancelThenNewCall(ManagedChannel channel) throws Exception {
    Call first = Call.fc(channel, "first");
    check(first.next().equals("first"), "first reply");
    first.cancel();
    Status cancelled = first.drainToStatus();
    check(cancelled.getCode() == Status.Code.CANCELLED, "cancel ended with " + cancelled);
    Call second = Call.fc(channel, "second");
    readAll(second, 100, "second");
    second.cancel();
    return "cancelled after the first reply; a new call on the channel read 100 replies";
  }

  // 7
  static String deadline(ManagedChannel channel) throws Exception {
    // Connect and load classes first, so the 300 ms are the stream's own.
    Call warmUp = Call.fc(channel, "");
    readAll(warmUp, 10, "yes");
    warmUp.cancel();
    long started = System.nanoTime();
    Call call =
        new Call(
            channel, SayYesGrpc.getYesWithFcMethod(),
            CallOptions.DEFAULT.withDeadlineAfter(300, TimeUnit.MILLISECONDS), new Metadata(),
            request(""), true);
    int read = 0;
    Status status;
    while (true) {
      Object item = call.inbox.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      check(item != null, "the call outlived its deadline");
      if (item instanceof Status) {
        status = (Status) item;
        break;
      }
      read++;
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    check(status.getCode() == Status.Code.DEADLINE_EXCEEDED, "ended with " + status);
    check(read > 0, "no reply before the deadline");
    check(millis < 3000, "the deadline took " + millis + " ms");
    return "DEADLINE_EXCEEDED after " + read + " replies and " + millis + " ms";
  }

  // 8
  static String concurrentCalls(ManagedChannel channel) throws Exception {
    int calls = 50;
    int each = 20_000;
    CountDownLatch done = new CountDownLatch(calls);
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < calls; i++) {
      String message = "call-" + i;
      SayYesGrpc.newStub(channel)
          .yesWithFc(
              request(message),
              new io.grpc.stub.ClientResponseObserver<YesRequest, YesReply>() {
                io.grpc.stub.ClientCallStreamObserver<YesRequest> stream;
                int read;

                @Override
                public void beforeStart(io.grpc.stub.ClientCallStreamObserver<YesRequest> s) {
                  stream = s;
                }

                @Override
                public void onNext(YesReply reply) {
                  if (!reply.getMessage().equals(message)) {
                    failures.add(message + " got " + reply.getMessage());
                  }
                  if (++read == each) {
                    stream.cancel("read enough", null);
                    done.countDown();
                  }
                }

                @Override
                public void onError(Throwable t) {
                  if (read < each) {
                    failures.add(message + " ended after " + read + ": " + t);
                    done.countDown();
                  }
                }

                @Override
                public void onCompleted() {
                  failures.add(message + " completed after " + read);
                  done.countDown();
                }
              });
    }
    check(done.await(60, TimeUnit.SECONDS), "not all calls finished within 60 s");
    check(failures.isEmpty(), failures.toString());
    return calls + " concurrent calls on one channel each read " + each + " replies";
  }

  // 9
  static String gzip(ManagedChannel channel) throws Exception {
    StringBuilder text = new StringBuilder();
    while (text.length() < 4096) {
      text.append("compressible ");
    }
    String message = text.toString();
    Call call =
        new Call(
            channel, SayYesGrpc.getYesWithFcMethod(),
            CallOptions.DEFAULT.withCompression("gzip"), new Metadata(), request(message), true);
    readAll(call, 100, message);
    call.cancel();
    return "a gzip-compressed request (grpc-accept-encoding offers gzip) streamed 100 replies";
  }

  // 10
  static String metadataUnimplementedHealth(ManagedChannel channel) throws Exception {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-custom", Metadata.ASCII_STRING_MARSHALLER), "value");
    headers.put(
        Metadata.Key.of("x-custom-bin", Metadata.BINARY_BYTE_MARSHALLER),
        "bytes\0\1".getBytes(StandardCharsets.UTF_8));
    Call call =
        new Call(
            channel, SayYesGrpc.getYesWithFcMethod(), CallOptions.DEFAULT, headers,
            request("meta"), true);
    readAll(call, 100, "meta");
    call.cancel();

    MethodDescriptor<YesRequest, YesReply> unknown =
        SayYesGrpc.getYesWithFcMethod().toBuilder()
            .setFullMethodName("yes.SayYes/NoSuchMethod")
            .build();
    Call missing =
        new Call(channel, unknown, CallOptions.DEFAULT, new Metadata(), request(""), true);
    Status status = missing.drainToStatus();
    check(status.getCode() == Status.Code.UNIMPLEMENTED, "unknown method ended with " + status);

    HealthGrpc.HealthBlockingStub health =
        HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    for (String service : new String[] {"", "yes.SayYes"}) {
      HealthCheckResponse response =
          health.check(HealthCheckRequest.newBuilder().setService(service).build());
      check(
          response.getStatus() == HealthCheckResponse.ServingStatus.SERVING,
          "health of \"" + service + "\" is " + response.getStatus());
    }
    return "custom metadata streamed; unknown method UNIMPLEMENTED; health SERVING for \"\" and yes.SayYes";
  }

  // 11: streams until the driver kills this process.
  static String streamUntilKilled(ManagedChannel channel) throws Exception {
    Call fc = Call.fc(channel, "killed");
    Call naive =
        new Call(
            channel, SayYesGrpc.getYesMethod(), CallOptions.DEFAULT, new Metadata(),
            request("killed"), false);
    readAll(fc, 1000, "killed");
    check(naive.next().equals("killed"), "naive reply");
    System.out.println("streaming");
    System.out.flush();
    while (true) {
      fc.next();
    }
  }

  // 12: streams until the server shuts down; reports how promptly it saw UNAVAILABLE.
  static String streamUntilShutdown(ManagedChannel channel) throws Exception {
    List<Call> calls = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Call call = Call.fc(channel, "shutdown-" + i);
      readAll(call, 100, "shutdown-" + i);
      calls.add(call);
    }
    System.out.println("streaming");
    System.out.flush();
    List<String> seen = new ArrayList<>();
    for (Call call : calls) {
      Status status = call.drainToStatus();
      check(
          status.getCode() == Status.Code.UNAVAILABLE,
          "a stream ended with " + status + ", not UNAVAILABLE");
      seen.add(status.getCode() + " (" + status.getDescription() + ")");
      System.out.println(
          "ended trailers=" + call.trailersAt + " closed=" + call.closedAt + " drained="
              + System.nanoTime());
    }
    return "every stream ended with " + seen;
  }

  // 14: a client the server must refuse (mutual TLS without a trusted certificate)
  static String refused(ManagedChannel channel) throws Exception {
    Call call = Call.fc(channel, "");
    Status status = call.drainToStatus();
    check(
        status.getCode() == Status.Code.UNAVAILABLE,
        "the call fails UNAVAILABLE, got " + status);
    String why = String.valueOf(status.getDescription()).lines().findFirst().orElse("");
    return "refused: " + status.getCode() + " (" + why + ")";
  }

  static String sampleStyleRate(ManagedChannel channel) throws Exception {
    AtomicLong count = new AtomicLong();
    AtomicReference<Throwable> error = new AtomicReference<>();
    io.grpc.Context.CancellableContext context = io.grpc.Context.current().withCancellation();
    context.run(
        () ->
            SayYesGrpc.newStub(channel)
                .yesWithFc(
                    request(""),
                    new StreamObserver<YesReply>() {
                      @Override
                      public void onNext(YesReply reply) {
                        count.incrementAndGet();
                      }

                      @Override
                      public void onError(Throwable t) {
                        error.compareAndSet(null, t);
                      }

                      @Override
                      public void onCompleted() {
                        error.compareAndSet(null, new AssertionError("the stream completed"));
                      }
                    }));
    Thread.sleep(2_000); // warm-up: JIT, window growth
    long start = count.get();
    long started = System.nanoTime();
    Thread.sleep(10_000);
    long read = count.get() - start;
    double seconds = (System.nanoTime() - started) / 1e9;
    // Read before cancelling: the cancellation itself reaches onError.
    Throwable failed = error.get();
    context.cancel(null);
    check(failed == null, "the stream failed: " + failed);
    return String.format(
        "async stub + StreamObserver on YesWithFc: %d replies in %.1f s = %.0f msgs/s",
        read, seconds, read / seconds);
  }
}
