//! Generates the protobuf messages and the grpcio service code for
//! `proto/yes.proto` into `OUT_DIR`, with the pure-Rust protobuf parser, so a
//! build needs no `protoc` binary.
//!
//! The code generators (`protobuf-codegen` 2 and `grpcio-compiler`, which match
//! grpcio's protobuf 2 codec) take protobuf 2 descriptors, but protobuf 2's
//! pure parser skips `service` blocks. So `protobuf-parse` (pure, protobuf 3)
//! parses the file, and the descriptors cross over as their wire bytes, which
//! are the same in both versions.

use std::{env, fs, path::PathBuf};

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let proto = "proto/yes.proto";
    println!("cargo:rerun-if-changed={proto}");

    let parsed = protobuf_parse::Parser::new()
        .pure()
        .include("proto")
        .input(proto)
        .file_descriptor_set()
        .unwrap_or_else(|e| panic!("cannot parse {proto}: {e:#}"));
    let bytes = protobuf3::Message::write_to_bytes(&parsed).expect("descriptors encode");
    let set: protobuf::descriptor::FileDescriptorSet =
        protobuf::Message::parse_from_bytes(&bytes).expect("descriptors decode");
    let descriptors = set.get_file();
    let to_generate = vec!["yes.proto".to_string()];

    let mut files = protobuf_codegen::gen(
        descriptors,
        &to_generate,
        &protobuf_codegen::Customize::default(),
    );
    files.extend(grpcio_compiler::codegen::gen(descriptors, &to_generate));

    for file in files {
        // The generated files open with inner attributes (`#![allow(..)]`),
        // which `include!` rejects; src/proto.rs puts them on the module.
        let text = String::from_utf8(file.content).expect("generated code is UTF-8");
        let text: String = text
            .lines()
            .filter(|line| !line.starts_with("#![") && !line.starts_with("//!"))
            .flat_map(|line| [line, "\n"])
            .collect();
        fs::write(out_dir.join(&file.name), text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.name));
    }
}
