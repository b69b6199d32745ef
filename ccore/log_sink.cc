// yes-grpc's road for C-core's own log lines, on C-cores that log through
// abseil (1.66 and later: gpr_set_log_function, which grpcio's
// redirect_log uses, is gone there).
//
// Left alone, abseil writes C-core's lines raw to stderr, the first one led
// by "WARNING: All log messages before absl::InitializeLog() is called are
// written to STDERR", in a format unlike yes-server's. This sink hands each
// line to Rust's `log` instead (src/ccore.rs), so it is formatted and
// filtered like every other line (--log-level, target "grpc"), and marks
// abseil's logging initialised, which is what that warning asks for.
// FATAL lines are still written by abseil itself, just before it aborts.
//
// build.rs compiles this file against the linked C-core's abseil headers
// only when that C-core logs through abseil.

#include <cstddef>

#include "absl/base/log_severity.h"
#include "absl/log/globals.h"
#include "absl/log/internal/globals.h"
#include "absl/log/log_entry.h"
#include "absl/log/log_sink.h"
#include "absl/log/log_sink_registry.h"

extern "C" {
// severity: 0 info, 1 warning, 2 error; verbose: whether it is a VLOG line.
typedef void (*yes_grpc_log_line)(int severity, int verbose, const char* file,
                                  size_t file_len, int line,
                                  const char* message, size_t message_len);
}

namespace {

class ToRust final : public absl::LogSink {
 public:
  explicit ToRust(yes_grpc_log_line forward) : forward_(forward) {}

  void Send(const absl::LogEntry& entry) override {
    if (entry.log_severity() >= absl::LogSeverity::kFatal) return;
    absl::string_view file = entry.source_basename();
    absl::string_view message = entry.text_message();
    forward_(static_cast<int>(entry.log_severity()),
             entry.verbosity() != absl::LogEntry::kNoVerbosityLevel,
             file.data(), file.size(), entry.source_line(), message.data(),
             message.size());
  }

 private:
  yes_grpc_log_line forward_;
};

}  // namespace

extern "C" void yes_grpc_route_ccore_log(yes_grpc_log_line forward) {
  // Never freed: abseil may log from any thread until the process ends.
  static ToRust* sink = new ToRust(forward);
  absl::AddLogSink(sink);
  absl::SetStderrThreshold(absl::LogSeverityAtLeast::kFatal);
  absl::log_internal::SetInitialized();
}
