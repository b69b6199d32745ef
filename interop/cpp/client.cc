// The interop matrix's cases (interop/CASES.md) from C++ grpc++ (Debian's
// libgrpc++-dev, stubs from protoc's grpc_cpp_plugin), on its synchronous API.
//
// Usage: client CASE HOST:PORT   (YES_TLS_CA=ca.pem for the tls case)
//        client cases            (lists the cases it knows)
//        client load HOST:PORT BYTES SECONDS   (the benchmark's load: one
//        YesWithFc stream of BYTES-byte replies read as fast as it comes;
//        after a second's warm-up prints msgs=N bytes=B seconds=S total=T)

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "yes.grpc.pb.h"

using Clock = std::chrono::steady_clock;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using grpc::reflection::v1alpha::ServerReflection;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

static void check(bool ok, const std::string& what) {
  if (!ok) throw Fail(what);
}

static std::string code_name(const grpc::Status& s) {
  return std::to_string(s.error_code()) + " (" + s.error_message() + ")";
}

static yes::YesRequest request(const std::string& message) {
  yes::YesRequest r;
  r.set_message(message);
  return r;
}

// Reads n replies, each of which must be `want`.
static void read(grpc::ClientReaderInterface<yes::YesReply>* reader, int n, const std::string& want) {
  yes::YesReply reply;
  for (int i = 0; i < n; i++) {
    check(reader->Read(&reply), "the stream ended after " + std::to_string(i) + " replies");
    check(reply.message() == want, "reply " + std::to_string(i) + " is " +
                                       std::to_string(reply.message().size()) + " bytes, not " +
                                       std::to_string(want.size()));
  }
}

// Reads until the stream ends; its status must be `code`. Returns the replies read.
static long expect_code(grpc::ClientReaderInterface<yes::YesReply>* reader, grpc::StatusCode code,
                        grpc::Status* status) {
  yes::YesReply reply;
  long count = 0;
  while (reader->Read(&reply)) count++;
  *status = reader->Finish();
  check(status->error_code() == code, code_name(*status) + " instead of " + std::to_string(code) +
                                          " after " + std::to_string(count) + " replies");
  return count;
}

struct Env {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<yes::SayYes::Stub> stub;
};

static std::map<std::string, std::function<std::string(Env&)>> cases() {
  std::map<std::string, std::function<std::string(Env&)>> c;
  c["default-reply"] = [](Env& e) {
    grpc::ClientContext ctx;
    auto reader = e.stub->YesWithFc(&ctx, request(""));
    read(reader.get(), 3, "yes");
    ctx.TryCancel();
    return std::string("3 replies of 'yes'");
  };
  c["tls"] = [](Env& e) { return cases()["default-reply"](e) + " over TLS"; };
  c["echo"] = [](Env& e) {
    for (const std::string& text :
         {std::string("hello interop"), std::string("はい — да — 👍"), std::string(1 << 20, 'a')}) {
      grpc::ClientContext ctx;
      auto reader = e.stub->YesWithFc(&ctx, request(text));
      read(reader.get(), 2, text);
      ctx.TryCancel();
    }
    return std::string("custom, UTF-8 and 1 MiB messages echoed intact");
  };
  c["cancel-then-new-call"] = [](Env& e) {
    {
      grpc::ClientContext ctx;
      auto reader = e.stub->YesWithFc(&ctx, request("first"));
      read(reader.get(), 10, "first");
      ctx.TryCancel();
      grpc::Status status;
      expect_code(reader.get(), grpc::StatusCode::CANCELLED, &status);
    }
    grpc::ClientContext ctx;
    auto reader = e.stub->YesWithFc(&ctx, request("again"));
    read(reader.get(), 3, "again");
    ctx.TryCancel();
    return std::string("10 replies, cancelled, then a new call on the same channel");
  };
  c["deadline"] = [](Env& e) {
    auto started = Clock::now();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
    auto reader = e.stub->YesWithFc(&ctx, request(""));
    grpc::Status status;
    long count = expect_code(reader.get(), grpc::StatusCode::DEADLINE_EXCEEDED, &status);
    long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    check(count > 0 && ms >= 250 && ms <= 5000,
          std::to_string(count) + " replies in " + std::to_string(ms) + " ms");
    return "DEADLINE_EXCEEDED after " + std::to_string(ms) + " ms and " + std::to_string(count) +
           " replies";
  };
  c["unimplemented"] = [](Env& e) {
    // A server-streaming method the server does not have, called the way
    // the generated stubs call theirs.
    grpc::internal::RpcMethod method("/yes.SayYes/NoSuchMethod",
                                     grpc::internal::RpcMethod::SERVER_STREAMING, e.channel);
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<yes::YesReply>> reader(
        grpc::internal::ClientReaderFactory<yes::YesReply>::Create(e.channel.get(), method, &ctx,
                                                                   request("")));
    grpc::Status status;
    expect_code(reader.get(), grpc::StatusCode::UNIMPLEMENTED, &status);
    return std::string("UNIMPLEMENTED");
  };
  c["slow-reader"] = [](Env& e) {
    grpc::ClientContext ctx;
    auto reader = e.stub->YesWithFc(&ctx, request("slow"));
    int count = 0;
    for (auto until = Clock::now() + std::chrono::seconds(3); Clock::now() < until; count++) {
      read(reader.get(), 1, "slow");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ctx.TryCancel();
    return std::to_string(count) + " replies read at 100 a second, all right";
  };
  c["concurrent"] = [](Env& e) {
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 20; i++) {
      threads.emplace_back([&e, &failures, i] {
        try {
          std::string text = "c" + std::to_string(i);
          grpc::ClientContext ctx;
          auto reader = e.stub->YesWithFc(&ctx, request(text));
          read(reader.get(), 100, text);
          ctx.TryCancel();
        } catch (const Fail&) {
          failures++;
        }
      });
    }
    for (auto& t : threads) t.join();
    check(failures == 0, std::to_string(failures.load()) + " streams failed");
    return std::string("20 streams on one channel, 100 replies each");
  };
  c["gzip"] = [](Env& e) {
    grpc::ClientContext ctx;
    ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    auto reader = e.stub->YesWithFc(&ctx, request("gzip"));
    read(reader.get(), 3, "gzip");
    ctx.TryCancel();
    return std::string("gzip request, 3 replies");
  };
  c["naive-echo"] = [](Env& e) {
    grpc::ClientContext ctx;
    auto reader = e.stub->Yes(&ctx, request("naive"));
    read(reader.get(), 3, "naive");
    ctx.TryCancel();
    return std::string("Yes echoed 3 replies");
  };
  c["health"] = [](Env& e) {
    auto health = Health::NewStub(e.channel);
    for (const char* service : {"", "yes.SayYes"}) {
      grpc::ClientContext ctx;
      HealthCheckRequest req;
      req.set_service(service);
      HealthCheckResponse resp;
      grpc::Status status = health->Check(&ctx, req, &resp);
      check(status.ok(), std::string("Check(") + service + "): " + code_name(status));
      check(resp.status() == HealthCheckResponse::SERVING,
            std::string("Check(") + service + ") = " + std::to_string(resp.status()));
    }
    grpc::ClientContext ctx;
    HealthCheckRequest req;
    req.set_service("yes.SayYes");
    auto watch = health->Watch(&ctx, req);
    HealthCheckResponse update;
    int seen = 0;
    while (watch->Read(&update)) {
      if (++seen == 1) {
        check(update.status() == HealthCheckResponse::SERVING, "Watch began with " +
                                                                   std::to_string(update.status()));
        std::cout << "streaming" << std::endl;
      } else if (update.status() == HealthCheckResponse::NOT_SERVING) {
        ctx.TryCancel();
        return std::string("Check SERVING twice; Watch SERVING, then NOT_SERVING on shutdown");
      }
    }
    throw Fail("Watch ended after " + std::to_string(seen) + " updates: " +
               code_name(watch->Finish()));
  };
  c["reflection"] = [](Env& e) {
    auto reflect = ServerReflection::NewStub(e.channel);
    grpc::ClientContext ctx;
    auto stream = reflect->ServerReflectionInfo(&ctx);
    ServerReflectionRequest req;
    req.set_list_services("");
    check(stream->Write(req), "could not send the request");
    ServerReflectionResponse resp;
    check(stream->Read(&resp), "no reply");
    std::vector<std::string> names;
    for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
    std::sort(names.begin(), names.end());
    std::string listed;
    for (const auto& n : names) listed += (listed.empty() ? "" : ", ") + n;
    check(std::count(names.begin(), names.end(), "yes.SayYes") &&
              std::count(names.begin(), names.end(), "grpc.health.v1.Health"),
          "listed " + listed);
    ctx.TryCancel();
    return "listed " + listed;
  };
  c["sigterm"] = [](Env& e) {
    grpc::ClientContext ctx;
    auto reader = e.stub->YesWithFc(&ctx, request("until shutdown"));
    read(reader.get(), 10, "until shutdown");
    std::cout << "streaming" << std::endl;
    grpc::Status status;
    long count = expect_code(reader.get(), grpc::StatusCode::UNAVAILABLE, &status);
    return "UNAVAILABLE (" + status.error_message() + ") after " + std::to_string(count) +
           " more replies";
  };
  return c;
}

static std::shared_ptr<grpc::Channel> connect(const std::string& target, bool tls) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  if (!tls) return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  const char* path = std::getenv("YES_TLS_CA");
  check(path != nullptr, "YES_TLS_CA is not set");
  std::ifstream file(path);
  std::stringstream pem;
  pem << file.rdbuf();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem.str();
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(options), args);
}

static void load(const std::string& target, int size, double seconds) {
  Env e{connect(target, false), nullptr};
  e.stub = yes::SayYes::NewStub(e.channel);
  std::atomic<long> msgs{0}, bytes{0};
  std::thread([&] {
    grpc::ClientContext ctx;
    auto reader = e.stub->YesWithFc(&ctx, request(std::string(size, 'y')));
    yes::YesReply reply;
    while (reader->Read(&reply)) {
      msgs++;
      bytes += reply.message().size();
    }
  }).detach();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long m0 = msgs, b0 = bytes;
  auto started = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  long m = msgs, b = bytes;
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("msgs=%ld bytes=%ld seconds=%.3f total=%ld\n", m - m0, b - b0, elapsed, m);
  std::fflush(stdout);
  _exit(0);
}

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "cases") {
    for (const auto& entry : cases()) std::cout << entry.first << "\n";
    return 0;
  }
  std::string name = argv[1], target = argv[2];
  if (name == "load") load(target, std::atoi(argv[3]), std::atof(argv[4]));
  auto all = cases();
  if (!all.count(name)) {
    std::cout << "N/A " << name << ": no such case in this client" << std::endl;
    return 0;
  }
  std::thread([name] {
    std::this_thread::sleep_for(std::chrono::seconds(30));
    std::cout << "FAIL " << name << ": no verdict within 30 s" << std::endl;
    _exit(1);
  }).detach();
  try {
    Env e{connect(target, name == "tls"), nullptr};
    e.stub = yes::SayYes::NewStub(e.channel);
    std::string detail = all[name](e);
    std::cout << "PASS " << name << ": " << detail << std::endl;
    _exit(0);
  } catch (const std::exception& ex) {
    std::cout << "FAIL " << name << ": " << ex.what() << std::endl;
    _exit(1);
  }
}
