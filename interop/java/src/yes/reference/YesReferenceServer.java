package yes.reference;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import yes.SayYesGrpc;
import yes.Yes.YesReply;
import yes.Yes.YesRequest;

/**
 * A faithful grpc-java port of the sample's server, kept only to be measured against yes-server:
 * {@code Yes} is the naive {@code onNext} loop, {@code YesWithFc} writes while {@code isReady()}
 * and resumes from the on-ready handler. Both stop producing once the call is cancelled.
 *
 * <p>{@code java yes.reference.YesReferenceServer [PORT [HOST]]} (0 or none: a free port; HOST
 * defaults to 127.0.0.1) prints {@code yes-reference listening on HOST:PORT}.
 */
public final class YesReferenceServer {
  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    String host = args.length > 1 ? args[1] : "127.0.0.1";
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .addService(new SayYesImpl())
            .build()
            .start();
    System.out.println("yes-reference listening on " + host + ":" + server.getPort());
    System.out.flush();
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    server.awaitTermination();
  }

  static YesReply reply(YesRequest request) {
    String message = request.getMessage().isEmpty() ? "yes" : request.getMessage();
    return YesReply.newBuilder().setMessage(message).build();
  }

  static final class SayYesImpl extends SayYesGrpc.SayYesImplBase {
    @Override
    public void yes(YesRequest request, StreamObserver<YesReply> observer) {
      ServerCallStreamObserver<YesReply> call = (ServerCallStreamObserver<YesReply>) observer;
      YesReply reply = reply(request);
      while (!call.isCancelled()) {
        call.onNext(reply);
      }
    }

    @Override
    public void yesWithFc(YesRequest request, StreamObserver<YesReply> observer) {
      ServerCallStreamObserver<YesReply> call = (ServerCallStreamObserver<YesReply>) observer;
      YesReply reply = reply(request);
      Runnable drain =
          () -> {
            while (call.isReady() && !call.isCancelled()) {
              call.onNext(reply);
            }
          };
      call.setOnReadyHandler(drain);
      drain.run();
    }
  }
}
