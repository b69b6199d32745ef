//! Generates Rust code from the `.proto` files under `proto/` into `OUT_DIR`,
//! with the pure-Rust protobuf parser, so a build needs no `protoc` binary:
//!
//! * `yes.proto`: messages and the grpcio service code, in `OUT_DIR/yes/`;
//! * the two server-reflection protocols (`grpc.reflection.v1` and the older
//!   `v1alpha` that many clients still use) and `grpc.health.v1`, messages
//!   only, in `OUT_DIR/reflection_v1/`, `OUT_DIR/reflection_v1alpha/` and
//!   `OUT_DIR/health/`. Reflection describes health from this copy because
//!   the descriptor grpcio-health embeds does not decode. They are copies of
//!   the files Debian's `grpc-proto` ships; a test keeps them equal.
//!
//! The code generators (`protobuf-codegen` 2 and `grpcio-compiler`, which match
//! grpcio's protobuf 2 codec) take protobuf 2 descriptors, but protobuf 2's
//! pure parser skips `service` blocks. So `protobuf-parse` (pure, protobuf 3)
//! parses each file, and the descriptors cross over as their wire bytes, which
//! are the same in both versions.

use std::{env, fs, path::Path, path::PathBuf, process::Command};

fn main() {
    tell_ccore();
    // C-core, a shared library on the platform's C-core, calls the server's
    // own accept4 (src/main.rs, src/accept.rs) only if the binary exports it.
    println!("cargo:rustc-link-arg-bin=yes-server=-Wl,--export-dynamic-symbol=accept4");
    let includes = ccore_includes();
    route_ccore_logs(includes.as_deref());
    println!("cargo:rustc-check-cfg=cfg(ccore_mutex_checks)");
    if let Some(includes) = &includes {
        mutex_checks(includes);
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    generate(&out_dir.join("yes"), "yes.proto", true);
    generate(
        &out_dir.join("reflection_v1"),
        "grpc/reflection/v1/reflection.proto",
        false,
    );
    generate(
        &out_dir.join("reflection_v1alpha"),
        "grpc/reflection/v1alpha/reflection.proto",
        false,
    );
    generate(
        &out_dir.join("health"),
        "grpc/health/v1/health.proto",
        false,
    );
    generate(
        &out_dir.join("channelz"),
        "grpc/channelz/v1/channelz.proto",
        false,
    );
}

/// Tells the crate which C-core the build chose (`YES_GRPC_CCORE`, see
/// `ccore/pkg-config`) and which release `ccore/pinned.env` pins, so that a
/// test can check the linked C-core is the one chosen.
fn tell_ccore() {
    println!("cargo:rerun-if-env-changed=YES_GRPC_CCORE");
    println!("cargo:rerun-if-changed=ccore/pinned.env");
    let mode = env::var("YES_GRPC_CCORE").unwrap_or_else(|_| "pinned".into());
    println!("cargo:rustc-env=YES_GRPC_CCORE_MODE={mode}");
    let pinned = fs::read_to_string("ccore/pinned.env").expect("ccore/pinned.env is readable");
    let pinned = pinned
        .lines()
        .find_map(|line| line.strip_prefix("VERSION="))
        .expect("ccore/pinned.env has a line VERSION=X.Y.Z");
    println!("cargo:rustc-env=YES_GRPC_PINNED_CCORE={pinned}");
    // For the ABI test's `cargo metadata --filter-platform`.
    let target = env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=YES_GRPC_TARGET={target}");
}

/// The linked C-core's include path (pkg-config's `-I` flags), or `None`
/// when grpcio-sys builds its own bundled C-core (no pkg-config).
fn ccore_includes() -> Option<Vec<PathBuf>> {
    for name in ["PKG_CONFIG", "PKG_CONFIG_PATH", "GRPCIO_SYS_USE_PKG_CONFIG"] {
        println!("cargo:rerun-if-env-changed={name}");
    }
    if env::var("GRPCIO_SYS_USE_PKG_CONFIG").as_deref() != Ok("1") {
        return None;
    }
    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = Command::new(&pkg_config)
        .args(["--cflags", "grpc"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {pkg_config}: {e}"));
    if !out.status.success() {
        // ccore/pkg-config says why (e.g. the pinned C-core is not built).
        panic!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let cflags = String::from_utf8(out.stdout).expect("pkg-config prints text");
    let mut includes: Vec<PathBuf> = cflags
        .split_whitespace()
        .filter_map(|flag| flag.strip_prefix("-I"))
        .map(PathBuf::from)
        .collect();
    includes.extend(["/usr/local/include", "/usr/include"].map(PathBuf::from));
    Some(includes)
}

/// Compiles ccore/mutex_checks.cc against the linked C-core's abseil
/// (`cfg(ccore_mutex_checks)`), so that src/ccore.rs can switch off
/// abseil's mutex deadlock detection: a debug check that abseil runs only
/// when built without NDEBUG, as Debian builds it (why it matters: the file).
fn mutex_checks(includes: &[PathBuf]) {
    println!("cargo:rerun-if-changed=ccore/mutex_checks.cc");
    println!("cargo:rustc-cfg=ccore_mutex_checks");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .includes(includes)
        .file("ccore/mutex_checks.cc")
        .compile("yes_grpc_mutex_checks");
}

/// Chooses how `src/ccore.rs` routes C-core's log lines into ours, by the
/// linked C-core's own `<grpc/support/log.h>`: C-cores before 1.66 (Debian's
/// 1.51, grpcio-sys's bundled 1.56) take a callback (`gpr_set_log_function`);
/// later ones log through abseil, and get ccore/log_sink.cc, an abseil
/// `LogSink`, compiled here against that C-core's abseil headers
/// (`cfg(ccore_absl_log)`). Without pkg-config (`includes` is `None`),
/// grpcio-sys builds its bundled C-core (1.56).
fn route_ccore_logs(includes: Option<&[PathBuf]>) {
    println!("cargo:rustc-check-cfg=cfg(ccore_absl_log)");
    println!("cargo:rerun-if-changed=ccore/log_sink.cc");
    let Some(includes) = includes else {
        return;
    };
    // The C-core's headers are in the first directory of the search order
    // with a <grpc/support/log.h> that is not ccore/compat's shim (which
    // reads the next one). The callback is declared there or, until about
    // 1.54, in codegen/log.h.
    let read = |dir: &Path, header: &str| fs::read_to_string(dir.join(header)).ok();
    let ccore_dir = includes
        .iter()
        .find(|dir| {
            read(dir, "grpc/support/log.h").is_some_and(|text| !text.contains("#include_next"))
        })
        .expect("the C-core's <grpc/support/log.h> is on pkg-config's include path");
    let has_callback = ["grpc/support/log.h", "grpc/impl/codegen/log.h"]
        .iter()
        .any(|header| {
            read(ccore_dir, header).is_some_and(|text| text.contains("gpr_set_log_function"))
        });
    if has_callback {
        return;
    }
    println!("cargo:rustc-cfg=ccore_absl_log");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        // As C-core itself is built (ccore/build.py: CONFIG=opt).
        .define("NDEBUG", None)
        .includes(includes)
        .file("ccore/log_sink.cc")
        .compile("yes_grpc_log_sink");
}

/// Generates the messages of `proto/<name>` (and its grpcio service code if
/// `with_service`) into `dir`. The descriptor that the generated code embeds
/// keeps `name` as its file name, which is what reflection clients ask for.
fn generate(dir: &Path, name: &str, with_service: bool) {
    println!("cargo:rerun-if-changed=proto/{name}");
    let parsed = protobuf_parse::Parser::new()
        .pure()
        .include("proto")
        .input(Path::new("proto").join(name))
        .file_descriptor_set()
        .unwrap_or_else(|e| panic!("cannot parse proto/{name}: {e:#}"));
    let bytes = protobuf3::Message::write_to_bytes(&parsed).expect("descriptors encode");
    let set: protobuf::descriptor::FileDescriptorSet =
        protobuf::Message::parse_from_bytes(&bytes).expect("descriptors decode");
    // The parser leaves out the well-known types it knows itself (channelz
    // imports four); the code generator needs them to resolve names.
    let mut descriptors = set.get_file().to_vec();
    for known in [
        protobuf3::well_known_types::any::file_descriptor(),
        protobuf3::well_known_types::duration::file_descriptor(),
        protobuf3::well_known_types::timestamp::file_descriptor(),
        protobuf3::well_known_types::wrappers::file_descriptor(),
    ] {
        let bytes = protobuf3::Message::write_to_bytes(known.proto()).expect("encodes");
        let known: protobuf::descriptor::FileDescriptorProto =
            protobuf::Message::parse_from_bytes(&bytes).expect("decodes");
        if !descriptors.iter().any(|d| d.get_name() == known.get_name()) {
            descriptors.push(known);
        }
    }
    let descriptors = &descriptors[..];
    let to_generate = vec![name.to_string()];

    let mut files = protobuf_codegen::gen(
        descriptors,
        &to_generate,
        &protobuf_codegen::Customize::default(),
    );
    if with_service {
        files.extend(grpcio_compiler::codegen::gen(descriptors, &to_generate));
    }

    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    for file in files {
        // The generated files open with inner attributes (`#![allow(..)]`),
        // which `include!` rejects; src/proto.rs puts them on the module.
        let text = String::from_utf8(file.content).expect("generated code is UTF-8");
        let text: String = text
            .lines()
            .filter(|line| !line.starts_with("#![") && !line.starts_with("//!"))
            .flat_map(|line| [line, "\n"])
            .collect();
        fs::write(dir.join(&file.name), text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.name));
    }
}
