package yes.interop;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import yes.SayYesGrpc;
import yes.Yes.YesReply;
import yes.Yes.YesRequest;

/**
 * A grpc-java load client for the benchmark:
 * {@code YesLoad HOST:PORT METHOD MESSAGE_BYTES SECONDS STREAMS [READS_PER_SECOND [CONNECTIONS]]}.
 *
 * <p>Opens STREAMS calls of METHOD (yes or yes-with-fc) spread over CONNECTIONS channels (default
 * one; each channel is a connection of its own), reads for SECONDS (after one second of warm-up)
 * and prints {@code measuring} when it starts to measure and {@code msgs=N bytes=B seconds=S} at
 * the end. The environment variable YES_BENCH_WARM_UP sets
 * the warm-up in seconds (over a link with a long round trip the window takes longer to grow). Without READS_PER_SECOND (or with 0) each call
 * reads as fast as it can (asking for replies in batches); with it, each call reads that many
 * replies a second.
 */
public final class YesLoad {
  public static void main(String[] args) throws Exception {
    String target = args[0];
    MethodDescriptor<YesRequest, YesReply> method =
        args[1].equals("yes") ? SayYesGrpc.getYesMethod() : SayYesGrpc.getYesWithFcMethod();
    int size = Integer.parseInt(args[2]);
    double seconds = Double.parseDouble(args[3]);
    int streams = Integer.parseInt(args[4]);
    int readsPerSecond = args.length > 5 ? Integer.parseInt(args[5]) : 0;
    int connections = args.length > 6 ? Math.max(1, Integer.parseInt(args[6])) : 1;

    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      channels.add(
          NettyChannelBuilder.forTarget(target)
              .usePlaintext()
              .maxInboundMessageSize(8 << 20)
              .build());
    }
    StringBuilder text = new StringBuilder();
    while (text.length() < size) {
      text.append('y');
    }
    YesRequest request = YesRequest.newBuilder().setMessage(text.toString()).build();
    AtomicLong messages = new AtomicLong();
    AtomicLong bytes = new AtomicLong();
    AtomicReference<Status> failed = new AtomicReference<>();
    ScheduledExecutorService pacer = Executors.newSingleThreadScheduledExecutor();
    List<ClientCall<YesRequest, YesReply>> calls = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      ManagedChannel channel = channels.get(i % connections);
      ClientCall<YesRequest, YesReply> call = channel.newCall(method, CallOptions.DEFAULT);
      calls.add(call);
      call.start(
          new ClientCall.Listener<YesReply>() {
            long read;

            @Override
            public void onMessage(YesReply reply) {
              messages.incrementAndGet();
              bytes.addAndGet(reply.getMessage().length());
              read++;
              if (readsPerSecond > 0) {
                pacer.schedule(() -> call.request(1), 1000 / readsPerSecond, TimeUnit.MILLISECONDS);
              } else if (read % 256 == 0) {
                call.request(256);
              }
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
              if (!status.isOk() && status.getCode() != Status.Code.CANCELLED) {
                failed.compareAndSet(null, status);
              }
            }
          },
          new Metadata());
      call.sendMessage(request);
      call.halfClose();
      call.request(readsPerSecond > 0 ? 1 : 512);
    }
    String warmUp = System.getenv("YES_BENCH_WARM_UP");
    Thread.sleep((long) (1000 * (warmUp == null ? 1.0 : Double.parseDouble(warmUp))));
    long m0 = messages.get();
    long b0 = bytes.get();
    // The harness reads the server's CPU time from here to the last line.
    System.out.println("measuring");
    System.out.flush();
    long started = System.nanoTime();
    Thread.sleep((long) (seconds * 1000));
    long m = messages.get() - m0;
    long b = bytes.get() - b0;
    double elapsed = (System.nanoTime() - started) / 1e9;
    for (ClientCall<YesRequest, YesReply> call : calls) {
      call.cancel("done", null);
    }
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    pacer.shutdownNow();
    if (failed.get() != null) {
      System.out.println("failed: " + failed.get());
      System.exit(1);
    }
    System.out.printf("msgs=%d bytes=%d seconds=%.3f%n", m, b, elapsed);
    System.exit(0);
  }
}
