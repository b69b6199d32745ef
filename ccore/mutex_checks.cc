// Switches off abseil's mutex deadlock detection, which C-core's every
// absl::Mutex lock runs when abseil was built without NDEBUG.
//
// Upstream's release builds (and ccore/build.py's, CONFIG=opt) define
// NDEBUG, and the detection is off. Debian's libabsl (bookworm, 20220623) is
// built without it, so there each lock and each destroyed mutex updates one
// graph of every mutex in the process under one global spin lock, and a
// lock-order cycle the graph suspects aborts the process ("dying due to
// potential deadlock"). Under a flood of connections on Debian's C-core 1.51
// that graph took 18 % of the server's CPU and its lock serialised every
// C-core thread: a bystander stream stood still for two seconds (docs/ccore.md).
//
// Switching it off is abseil's own setting (SetMutexDeadlockDetectionMode),
// safe at any time: a mutex already in the graph is simply never looked up
// again. Built with NDEBUG, abseil ignores the call's effect either way.

#include "absl/synchronization/mutex.h"

extern "C" void yes_grpc_skip_mutex_deadlock_checks(void) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}
