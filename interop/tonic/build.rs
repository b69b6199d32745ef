//! The yes.SayYes client, generated from the repository's proto/yes.proto
//! (protoc from Debian's protobuf-compiler).
fn main() {
    tonic_prost_build::configure()
        .build_server(false)
        .compile_protos(&["../../proto/yes.proto"], &["../../proto"])
        .expect("proto/yes.proto compiles");
}
