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

use std::{env, fs, path::Path, path::PathBuf};

fn main() {
    tell_ccore();
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
}

/// Tells the crate which C-core the build chose (`YES_GRPC_CCORE`, see
/// `ccore/pkg-config`) and which release `ccore/build.py` pins, so that a
/// test can check the linked C-core is the one chosen.
fn tell_ccore() {
    println!("cargo:rerun-if-env-changed=YES_GRPC_CCORE");
    println!("cargo:rerun-if-changed=ccore/build.py");
    let mode = env::var("YES_GRPC_CCORE").unwrap_or_else(|_| "pinned".into());
    println!("cargo:rustc-env=YES_GRPC_CCORE_MODE={mode}");
    let script = fs::read_to_string("ccore/build.py").expect("ccore/build.py is readable");
    let pinned = script
        .lines()
        .find_map(|line| line.strip_prefix("VERSION = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("ccore/build.py has a line VERSION = \"X.Y.Z\"");
    println!("cargo:rustc-env=YES_GRPC_PINNED_CCORE={pinned}");
    // For the ABI test's `cargo metadata --filter-platform`.
    let target = env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=YES_GRPC_TARGET={target}");
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
    let descriptors = set.get_file();
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
