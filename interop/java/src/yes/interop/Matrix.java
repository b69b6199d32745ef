package yes.interop;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1alpha.ServerReflectionGrpc;
import io.grpc.reflection.v1alpha.ServerReflectionRequest;
import io.grpc.reflection.v1alpha.ServerReflectionResponse;
import io.grpc.reflection.v1alpha.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import yes.SayYesGrpc;

/**
 * The interop matrix's cases (interop/CASES.md) from grpc-java, one per run: {@code java
 * yes.interop.Matrix CASE HOST:PORT}. Where {@link YesInterop} (the grpc-java suite,
 * tests/interop_java.rs) has a case that does at least what the matrix asks, it is reused.
 */
public final class Matrix {
  public static void main(String[] args) throws Exception {
    YesInterop.runCase("Matrix", args, (name, channel, target) -> run(name, channel));
  }

  static String run(String name, ManagedChannel channel) throws Exception {
    switch (name) {
      case "default-reply":
        return YesInterop.defaultReply(channel);
      case "echo":
        return YesInterop.echo(channel);
      case "cancel-then-new-call":
        return YesInterop.cancelThenNewCall(channel);
      case "deadline":
        return YesInterop.deadline(channel);
      case "unimplemented":
        return unimplemented(channel);
      case "slow-reader":
        return slowReader(channel);
      case "concurrent":
        return concurrent(channel);
      case "gzip":
        return YesInterop.gzip(channel);
      case "naive-echo":
        return YesInterop.naiveEcho(channel);
      case "health":
        return health(channel);
      case "reflection":
        return reflection(channel);
      case "tls":
        return YesInterop.defaultReply(channel) + " over TLS";
      case "sigterm":
        return sigterm(channel);
      default:
        throw new UnsupportedOperationException("no such case in this client");
    }
  }

  static String unimplemented(ManagedChannel channel) throws Exception {
    MethodDescriptor<yes.Yes.YesRequest, yes.Yes.YesReply> nope =
        SayYesGrpc.getYesWithFcMethod().toBuilder()
            .setFullMethodName("yes.SayYes/NoSuchMethod")
            .build();
    YesInterop.Call call =
        new YesInterop.Call(
            channel, nope, CallOptions.DEFAULT, new Metadata(), YesInterop.request(""), true);
    Status status = call.drainToStatus();
    YesInterop.check(status.getCode() == Status.Code.UNIMPLEMENTED, "ended with " + status);
    return "UNIMPLEMENTED";
  }

  static String slowReader(ManagedChannel channel) throws Exception {
    YesInterop.Call call =
        new YesInterop.Call(
            channel, SayYesGrpc.getYesWithFcMethod(), CallOptions.DEFAULT, new Metadata(),
            YesInterop.request("slow"), false);
    int read = YesInterop.slowRead(call, "slow", 3_000);
    YesInterop.check(call.status == null, "the call ended early: " + call.status);
    call.cancel();
    return read + " replies read at 100 a second (manual flow control), all right";
  }

  static String concurrent(ManagedChannel channel) throws Exception {
    List<YesInterop.Call> calls = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      calls.add(YesInterop.Call.fc(channel, "c" + i));
    }
    for (int i = 0; i < 20; i++) {
      YesInterop.readAll(calls.get(i), 100, "c" + i);
      calls.get(i).cancel();
    }
    return "20 streams on one channel, 100 replies each";
  }

  static String health(ManagedChannel channel) throws Exception {
    HealthGrpc.HealthBlockingStub check = HealthGrpc.newBlockingStub(channel);
    for (String service : new String[] {"", "yes.SayYes"}) {
      HealthCheckResponse.ServingStatus status =
          check.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
      YesInterop.check(
          status == HealthCheckResponse.ServingStatus.SERVING,
          "Check(\"" + service + "\") = " + status);
    }
    LinkedBlockingQueue<Object> updates = new LinkedBlockingQueue<>();
    HealthGrpc.newStub(channel)
        .watch(
            HealthCheckRequest.newBuilder().setService("yes.SayYes").build(),
            new StreamObserver<HealthCheckResponse>() {
              @Override
              public void onNext(HealthCheckResponse r) {
                updates.add(r.getStatus());
              }

              @Override
              public void onError(Throwable t) {
                updates.add(t);
              }

              @Override
              public void onCompleted() {
                updates.add("completed");
              }
            });
    List<Object> seen = new ArrayList<>();
    while (true) {
      Object update = updates.poll(20, TimeUnit.SECONDS);
      YesInterop.check(update instanceof HealthCheckResponse.ServingStatus, "Watch: " + seen + ", then " + update);
      seen.add(update);
      if (seen.size() == 1) {
        YesInterop.check(update == HealthCheckResponse.ServingStatus.SERVING, "Watch began with " + seen);
        System.out.println("streaming");
        System.out.flush();
      } else if (update == HealthCheckResponse.ServingStatus.NOT_SERVING) {
        return "Check SERVING twice; Watch SERVING, then NOT_SERVING on shutdown";
      }
    }
  }

  static String reflection(ManagedChannel channel) throws Exception {
    LinkedBlockingQueue<Object> replies = new LinkedBlockingQueue<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(channel)
            .serverReflectionInfo(
                new StreamObserver<ServerReflectionResponse>() {
                  @Override
                  public void onNext(ServerReflectionResponse r) {
                    replies.add(r);
                  }

                  @Override
                  public void onError(Throwable t) {
                    replies.add(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    Object reply = replies.poll(20, TimeUnit.SECONDS);
    YesInterop.check(reply instanceof ServerReflectionResponse, "no list: " + reply);
    requests.onCompleted();
    List<String> names = new ArrayList<>();
    for (ServiceResponse s :
        ((ServerReflectionResponse) reply).getListServicesResponse().getServiceList()) {
      names.add(s.getName());
    }
    YesInterop.check(
        names.contains("yes.SayYes") && names.contains("grpc.health.v1.Health"), "listed " + names);
    java.util.Collections.sort(names);
    return "listed " + String.join(", ", names);
  }

  static String sigterm(ManagedChannel channel) throws Exception {
    YesInterop.Call call = YesInterop.Call.fc(channel, "until shutdown");
    YesInterop.readAll(call, 10, "until shutdown");
    System.out.println("streaming");
    System.out.flush();
    Status status = call.drainToStatus();
    YesInterop.check(status.getCode() == Status.Code.UNAVAILABLE, "ended with " + status);
    return "UNAVAILABLE (" + status.getDescription() + ")";
  }
}
