#!/usr/bin/env python3
"""Builds the gRPC C-core that yes-grpc links by default, once, into a cache.

Why this exists: grpcio-sys 0.13 bundles C-core 1.56.2 (2023), which lacks
three years of security fixes, and there is no newer grpcio-sys. Its Rust API
runs unchanged on a current C-core linked through its pkg-config mode, so we
build that C-core ourselves, from the one place that ships it whole with a
plain Makefile: the `grpcio` source distribution on PyPI.

What it does, each step skipped when already done:
  1. fetches grpcio==VERSION's sdist with pip and checks its sha256;
  2. unpacks it under the cache;
  3. picks the sources a server needs: the Makefile's libgrpc sources minus
     xDS (GRPC_NO_XDS turns its registration off; its filters, resolvers, LB
     policies and ~300 generated upb files are then dead code);
  4. runs `make static_c` (system OpenSSL and zlib, no debug info unless
     YES_GRPC_CCORE_DEBUG=1), showing files compiled of the total;
  5. installs headers, libgrpc.a and a grpc.pc into PREFIX, then marks it
     complete with the recipe it was built with.

Usage: ccore/build.py           build if needed; prints the prefix last
       ccore/build.py --prefix  print the prefix if it is complete, else
                                explain in one line and exit 1

The cache is $YES_GRPC_CACHE (default ~/.cache/yes-grpc): outside the clone,
shared by every clone and target directory, never committed.
"""

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path


def _pinned():
    """ccore/pinned.env's VERSION and SHA256: the one place they are written."""
    pairs = (line.split("=", 1) for line in (Path(__file__).parent / "pinned.env").read_text()
             .splitlines() if line.strip() and not line.startswith("#"))
    values = {key.strip(): value.strip() for key, value in pairs}
    return values["VERSION"], values["SHA256"]


VERSION, SHA256 = _pinned()

# Sources left out (paths relative to the sdist). GRPC_NO_XDS keeps C-core's
# plugin registry from referring to any of them; the link proves it.
XDS_ONLY = re.compile(
    r"^src/core/("
    r"xds/|load_balancing/xds/|resolver/(xds|google_c2p)/|server/xds_"
    r"|credentials/transport/xds/|handshaker/http_connect/xds_"
    r"|ext/filters/(gcp_authentication|rbac|stateful_session|fault_injection)/"
    r"|filter/(ext_proc|composite)/"
    r")"
)
# Generated protobuf code: kept only where a kept source includes it.
GENERATED = re.compile(r"^src/core/ext/(upb-gen|upbdefs-gen)/")
INCLUDE_DIRS = [
    ".", "include", "third_party/abseil-cpp", "third_party/re2",
    "third_party/upb", "src/core/ext/upb-gen", "src/core/ext/upbdefs-gen",
    "third_party/utf8_range", "third_party/xxhash",
    "third_party/cares/cares/include", "third_party/address_sorting/include",
]

DEBUG_INFO = os.environ.get("YES_GRPC_CCORE_DEBUG") == "1"
CACHE = Path(os.environ.get("YES_GRPC_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "yes-grpc")
HOME = CACHE / "ccore" / (VERSION + ("-debuginfo" if DEBUG_INFO else ""))
PREFIX = HOME / "prefix"
SRC = HOME / "src"
STAMP = PREFIX / "complete"
BUILD_COMMAND = "ccore/build.py (scripts/serve.sh and scripts/test.sh run it)"


def say(text, end="\n"):
    print(f"ccore: {text}", end=end, file=sys.stderr, flush=True)


def recipe():
    """What the prefix is built from (this file and pinned.env: version,
    hash, sources and flags): after a change to either, the prefix is
    brought up to date (make recompiles only what changed)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update((Path(__file__).parent / "pinned.env").read_bytes())
    return digest.hexdigest() + "\n"


def fetch():
    """The verified sdist, fetched with pip the first time."""
    downloads = CACHE / "downloads"
    sdist = downloads / f"grpcio-{VERSION}.tar.gz"
    if sdist.exists() and sha256(sdist) == SHA256:
        return sdist
    say(f"fetching grpcio {VERSION} (C-core source, 14 MB) from PyPI with pip")
    downloads.mkdir(parents=True, exist_ok=True)
    pinned = downloads / "requirements.txt"
    pinned.write_text(f"grpcio=={VERSION} --hash=sha256:{SHA256}\n")
    # --require-hashes makes pip itself refuse a file with another hash.
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--no-binary", "grpcio", "--require-hashes", "-r", str(pinned),
         "-d", str(downloads)],
        check=True,
    )
    actual = sha256(sdist)
    if actual != SHA256:
        sys.exit(f"ccore: {sdist} has sha256 {actual}, expected {SHA256}: refusing it")
    return sdist


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unpack(sdist):
    marker = SRC / ".unpacked"
    if marker.exists():
        return
    say(f"unpacking into {SRC}")
    shutil.rmtree(SRC, ignore_errors=True)
    SRC.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts[1:]  # drop "grpcio-VERSION/"
            if not parts or member.issym() or member.islnk():
                continue
            member.name = str(Path(*parts))
            tar.extract(member, SRC, filter="data")
    marker.touch()


def server_sources():
    """The Makefile's libgrpc sources that a server links, in its order."""
    query = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", "-", "print-sources"],
        cwd=SRC, input="print-sources:\n\t@echo $(LIBGRPC_SRC)\n",
        capture_output=True, text=True, check=True,
    )
    all_sources = query.stdout.split()
    by_path = set(all_sources)
    keep = {s for s in all_sources if not XDS_ONLY.search(s) and not GENERATED.search(s)}

    # Walk the #include graph from the kept sources: a generated header that
    # is reached brings its .c file in (foo.upb.h -> foo.upb.c). Generated
    # reflection code also names the descriptors it depends on without
    # including them (extern _upb_DefPool_Init foo_proto_upbdefinit), so
    # those bring the file that defines them.
    definers = {}
    for source in all_sources:
        if GENERATED.search(source) and source.endswith(".upbdefs.c"):
            for name in _DEFINES.findall((SRC / source).read_text(errors="replace")):
                definers[name] = source
    seen, todo = set(), list(keep)

    def bring(source):
        if source in by_path and source not in keep:
            keep.add(source)
            todo.append(source)

    while todo:
        path = todo.pop()
        if path.endswith(".c") and GENERATED.search(path):
            for name in _EXTERNS.findall((SRC / path).read_text(errors="replace")):
                bring(definers.get(name, ""))
        for header in includes(path):
            if header in seen:
                continue
            seen.add(header)
            todo.append(header)
            if header.endswith(".h"):
                bring(header[:-2] + ".c")
                bring(header[:-2] + ".cc")
    return [s for s in all_sources if s in keep]


_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
_DEFINES = re.compile(r"^_upb_DefPool_Init (\w+) =", re.M)
_EXTERNS = re.compile(r"^extern _upb_DefPool_Init (\w+);", re.M)


def includes(path):
    text = (SRC / path).read_text(errors="replace")
    found = []
    for name in _INCLUDE.findall(text):
        for directory in INCLUDE_DIRS:
            candidate = os.path.normpath(os.path.join(directory, name))
            if (SRC / candidate).is_file():
                found.append(candidate)
                break
    return found


def make_args(sources):
    args = [
        "CONFIG=opt", "EMBED_OPENSSL=false", "EMBED_ZLIB=false",
        "EXTRA_DEFINES=GRPC_NO_XDS",
        # The Makefile always passes -g; a later -g0 wins.
        "EXTRA_CPPFLAGS=" + ("" if DEBUG_INFO else "-g0"),
    ]
    return args + ["LIBGRPC_SRC=" + " ".join(sources)]


# Sources per unity file: one compiler run reads C-core's headers (most of
# its compile time: abseil, the promise and call templates) once for several
# sources instead of once each. 11 sources took 41.9 s of CPU one by one and
# 13.5 s as one unity file. 0 or 1 turns it off.
UNITY = int(os.environ.get("YES_GRPC_UNITY") or 12)
# A source that defines macros or opens a namespace at file scope could
# change the meaning of the next one in its unity file, so it goes alone.
_STANDS_ALONE = re.compile(r"^(#\s*define|using namespace)", re.M)
UNITY_DIR = "yes-unity"
# Sources of 1.85.1 that clash with a neighbour in a unity file (the same
# file-local name defined twice, an overload made ambiguous), found by
# compiling every unity file with -fsyntax-only and taking out the source
# each error names until all compiled: re2 and ALTS repeat their static
# helpers in every file, and these others. (A clash this list misses still
# builds: see unify.)
KNOWN_ALONE_PATHS = re.compile(r"^third_party/re2/|/alts/")
KNOWN_ALONE = {
    "src/core/client_channel/client_channel_filter.cc",
    "src/core/client_channel/client_channel_plugin.cc",
    "src/core/client_channel/direct_channel.cc",
    "src/core/client_channel/global_subchannel_pool.cc",
    "src/core/client_channel/lb_metadata.cc",
    "src/core/client_channel/load_balanced_call_destination.cc",
    "src/core/client_channel/local_subchannel_pool.cc",
    "src/core/client_channel/retry_filter.cc",
    "src/core/client_channel/retry_filter_legacy_call_data.cc",
    "src/core/client_channel/retry_interceptor.cc",
    "src/core/credentials/transport/channel_creds_registry_init.cc",
    "src/core/credentials/transport/composite/composite_channel_credentials.cc",
    "src/core/credentials/transport/fake/fake_credentials.cc",
    "src/core/ext/transport/chttp2/transport/http2_server_transport.cc",
    "src/core/ext/transport/chttp2/transport/http2_settings.cc",
    "src/core/ext/transport/chttp2/transport/http2_settings_manager.cc",
    "src/core/ext/transport/chttp2/transport/http2_stats_collector.cc",
    "src/core/ext/transport/chttp2/transport/huffsyms.cc",
    "src/core/lib/surface/legacy_channel.cc",
    "src/core/lib/surface/metadata_array.cc",
    "src/core/lib/surface/validate_metadata.cc",
    "src/core/lib/surface/version.cc",
    "src/core/lib/transport/bdp_estimator.cc",
    "src/core/lib/transport/call_final_info.cc",
    "third_party/abseil-cpp/absl/debugging/internal/utf8_for_code_point.cc",
    "third_party/abseil-cpp/absl/debugging/leak_check.cc",
    "third_party/abseil-cpp/absl/debugging/stacktrace.cc",
    "third_party/abseil-cpp/absl/flags/commandlineflag.cc",
    "third_party/abseil-cpp/absl/flags/internal/commandlineflag.cc",
    "third_party/abseil-cpp/absl/time/internal/cctz/src/time_zone_posix.cc",
    "third_party/abseil-cpp/absl/time/time.cc",
    "third_party/abseil-cpp/absl/types/source_location.cc",
}


def unify(sources):
    """Puts the C++ sources that can share a compiler run into unity files
    under SRC/yes-unity; returns the sources for make and how many sources
    each make target stands for. Sources of a unity file that failed to
    compile (two of them defining the same name, say) are listed in
    yes-unity/alone.txt and compiled one by one from then on."""
    if UNITY < 2:
        return sources, {}
    directory = SRC / UNITY_DIR
    directory.mkdir(exist_ok=True)
    alone_list = directory / "alone.txt"
    alone = set(alone_list.read_text().split()) if alone_list.exists() else set()
    candidates = [
        s for s in sources
        if s.endswith(".cc") and not _STANDS_ALONE.search((SRC / s).read_text(errors="replace"))
    ]
    # Unity file n holds candidates n*UNITY.. less those that must go alone,
    # so taking a source out leaves every other unity file as it was.
    grouped = {
        s for s in candidates
        if s not in alone and s not in KNOWN_ALONE and not KNOWN_ALONE_PATHS.search(s)
    }
    members, targets = {}, [s for s in sources if s not in grouped]
    for n, start in enumerate(range(0, len(candidates), UNITY)):
        chunk = [s for s in candidates[start:start + UNITY] if s in grouped]
        if not chunk:
            continue
        unit = f"{UNITY_DIR}/unity-{n:03d}.cc"
        text = "".join(f'#include "{s}"\n' for s in chunk)
        path = SRC / unit
        if not path.exists() or path.read_text() != text:  # keeps make's timestamps
            path.write_text(text)
        members[unit] = chunk
        targets.append(unit)
    return targets, members


def failed_units(members):
    """The unity files whose object is missing or older than the file."""
    failed = []
    for unit in members:
        obj = SRC / "objs" / "opt" / (unit[:-3] + ".o")
        if not obj.exists() or obj.stat().st_mtime < (SRC / unit).stat().st_mtime:
            failed.append(unit)
    return failed


def build(sources):
    """Runs make until libgrpc.a is built, splitting unity files that do not
    compile; shows progress, and sends the whole output to a log file."""
    start = time.monotonic()
    log_path = HOME / "build.log"
    log_path.write_text("")
    while True:
        targets, members = unify(sources)
        if run_make(targets, members, log_path, start) == 0:
            break
        failed = failed_units(members)
        if not failed:
            tail = log_path.read_text().splitlines()[-30:]
            print("\n".join(tail), file=sys.stderr)
            sys.exit(f"ccore: make failed; the whole log is {log_path}")
        say(f"{len(failed)} unity file(s) did not compile as one; compiling their "
            "sources one by one")
        with open(SRC / UNITY_DIR / "alone.txt", "a") as alone:
            alone.writelines(s + "\n" for unit in failed for s in members[unit])
    say(f"compiled in {elapsed(time.monotonic() - start)}")


def run_make(targets, members, log_path, start):
    args = make_args(targets)
    plan = subprocess.run(
        ["make", "-n", "static_c", *args], cwd=SRC, capture_output=True, text=True, check=True
    ).stdout

    def weight(line):  # "[CXX]     Compiling yes-unity/unity-003.cc" counts 12
        return len(members.get(line.split("Compiling ")[1].strip().strip('"'), [1]))

    pending = sum(weight(line) for line in plan.splitlines() if "Compiling " in line)
    jobs = os.environ.get("YES_GRPC_JOBS") or str(os.cpu_count() or 2)
    say(f"compiling {pending} C/C++ sources ({len(members)} unity files) with {jobs} jobs; "
        f"log: {log_path}")
    done, last_report = 0, 0.0
    tty = sys.stderr.isatty()
    with open(log_path, "a") as log:
        # -k: finish what compiles, so that only failed unity files are redone.
        make = subprocess.Popen(
            ["make", "-k", f"-j{jobs}", "static_c", *args], cwd=SRC,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for line in make.stdout:
            log.write(line)
            if "Compiling " not in line:
                continue
            done += weight(line)
            now = time.monotonic()
            if tty or now - last_report >= 30 or done >= pending:
                last_report = now
                say(f"[{done}/{pending}] {elapsed(now - start)}", end="\r" if tty else "\n")
        status = make.wait()
    if tty:
        print(file=sys.stderr)
    return status


def elapsed(seconds):
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def install(stamp_text):
    shutil.rmtree(PREFIX, ignore_errors=True)
    (PREFIX / "lib" / "pkgconfig").mkdir(parents=True)
    shutil.copytree(SRC / "include" / "grpc", PREFIX / "include" / "grpc")
    # abseil's headers too, as a C-core install has libabsl's beside it:
    # ccore/log_sink.cc hands C-core's log lines to yes-grpc's logger
    # through abseil's LogSink, and must see the same abseil C-core uses.
    shutil.copytree(SRC / "third_party" / "abseil-cpp" / "absl", PREFIX / "include" / "absl",
                    ignore=_not_headers)
    shutil.copy2(SRC / "libs" / "opt" / "libgrpc.a", PREFIX / "lib" / "libgrpc.a")
    # One static archive holds C-core, abseil, re2, upb and c-ares; TLS and
    # compression come from the system's OpenSSL and zlib.
    (PREFIX / "lib" / "pkgconfig" / "grpc.pc").write_text(
        f"prefix={PREFIX}\n"
        "includedir=${prefix}/include\n"
        "libdir=${prefix}/lib\n\n"
        "Name: gRPC\n"
        f"Description: gRPC C-core {VERSION} without xDS, built by yes-grpc's ccore/build.py\n"
        f"Version: {VERSION}\n"
        "Cflags: -I${includedir}\n"
        "Libs: -L${libdir} -lgrpc -lssl -lcrypto -lz -lstdc++ -lpthread -ldl -lrt -lm\n"
    )
    STAMP.write_text(stamp_text)


def _not_headers(directory, names):
    return [n for n in names
            if not (Path(directory) / n).is_dir() and not n.endswith((".h", ".inc"))]


def is_complete():
    return STAMP.exists() and STAMP.read_text() == recipe()


def main():
    if sys.argv[1:] == ["--prefix"]:
        if not is_complete():
            sys.exit(f"yes-grpc: gRPC C-core {VERSION} is not built yet: run {BUILD_COMMAND}")
        print(PREFIX)
        return
    if sys.argv[1:]:
        sys.exit(__doc__)
    if is_complete():  # silently: scripts/client.sh's output is the client's
        print(PREFIX)
        return
    with exclusive():
        if is_complete():  # built by the run this one waited for
            say(f"C-core {VERSION} is built ({PREFIX})")
        else:
            start = time.monotonic()
            unpack(fetch())
            sources = server_sources()
            build(sources)
            install(recipe())
            say(f"C-core {VERSION} installed in {PREFIX} "
                f"({elapsed(time.monotonic() - start)} in all)")
    print(PREFIX)


class exclusive:
    """Holds HOME's lock while building: two builds started at once (say
    scripts/serve.sh in one terminal and a test in another) would otherwise
    compile into the same folder. The second waits, says so, and then finds
    the C-core built. The kernel drops the lock if the holder dies."""

    def __enter__(self):
        HOME.mkdir(parents=True, exist_ok=True)
        self.file = open(HOME.parent / f"{HOME.name}.lock", "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            say(f"another build of C-core {VERSION} is running on this cache ({holder}); "
                "waiting for it to finish")
            fcntl.flock(self.file, fcntl.LOCK_EX)
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"pid {os.getpid()}, started {time.strftime('%H:%M:%S')}\n")
        self.file.flush()
        return self

    def __exit__(self, *exc):
        self.file.truncate(0)
        self.file.close()


if __name__ == "__main__":
    main()
