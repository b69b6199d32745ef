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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import yes.SayYesGrpc;

/**
 * The interop matrix's cases (interop/CASES.md) from grpc-java, one per run: {@code java
 * yes.interop.Matrix CASE HOST:PORT}, or {@code cases} to list them. Where {@link YesInterop} (the grpc-java suite,
 * tests/interop_java.rs) has a case that does at least what the matrix asks, it is reused.
 */
public final class Matrix {
  /** One case: what it does with a channel, and what it saw. */
  interface Step {
    String run(ManagedChannel channel) throws Exception;
  }

  /** The cases this client knows, by name, in interop/CASES.md's order. */
  static final Map<String, Step> CASES = new LinkedHashMap<>();

  static {
    CASES.put("default-reply", YesInterop::defaultReply);
    CASES.put("echo", YesInterop::echo);
    CASES.put("cancel-then-new-call", YesInterop::cancelThenNewCall);
    CASES.put("deadline", YesInterop::deadline);
    CASES.put("unimplemented", Matrix::unimplemented);
    CASES.put("slow-reader", Matrix::slowReader);
    CASES.put("concurrent", Matrix::concurrent);
    CASES.put("gzip", YesInterop::gzip);
    CASES.put("naive-echo", YesInterop::naiveEcho);
    CASES.put("health", Matrix::health);
    CASES.put("reflection", Matrix::reflection);
    CASES.put("tls", channel -> YesInterop.defaultReply(channel) + " over TLS");
    CASES.put("sigterm", Matrix::sigterm);
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals("cases")) {
      CASES.keySet().forEach(System.out::println);
      return;
    }
    YesInterop.runCase("Matrix", args, (name, channel, target) -> run(name, channel));
  }

  static String run(String name, ManagedChannel channel) throws Exception {
    Step step = CASES.get(name);
    if (step == null) {
      throw new UnsupportedOperationException("no such case in this client");
    }
    return step.run(channel);
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
