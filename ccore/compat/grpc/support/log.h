/*
 * yes-grpc's compatibility shim for grpcio-sys 0.13's C wrapper.
 *
 * grpcio-sys's `grpc_wrap.cc` was written against C-core 1.56 and checks its
 * arguments with GPR_ASSERT, which C-core removed from <grpc/support/log.h>
 * in 1.66 (C-core itself moved to absl's CHECK). ccore/pkg-config puts this
 * directory first on the wrapper's include path: the real header is read
 * through #include_next, and GPR_ASSERT is defined only where it is missing,
 * so C-cores that still have it (Debian's 1.51) are untouched.
 *
 * The definition needs nothing from C-core, so it works on every version
 * that lacks the macro: a failed check prints the expression and aborts, as
 * GPR_ASSERT did.
 */
#include_next <grpc/support/log.h>

#ifndef GPR_ASSERT
#include <stdio.h>
#include <stdlib.h>
#define GPR_ASSERT(x)                                                   \
  do {                                                                  \
    if (!(x)) {                                                         \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__,        \
              __LINE__, #x);                                            \
      abort();                                                          \
    }                                                                   \
  } while (0)
#endif
