//! ABI proof: grpcio-sys's Rust bindings against the C-core actually linked.
//!
//! grpcio-sys 0.13 ships bindings that bindgen made from C-core 1.56's
//! headers, and we link other C-cores (ccore/pinned.env's by default, Debian's 1.51 in
//! platform mode). A type whose layout moved would corrupt memory silently,
//! so this test states what the Rust side believes (size, alignment and
//! every field's offset of each C type grpcio passes across the boundary,
//! every value of each enum it passes, the channel-argument keys and flags
//! it uses) as `static_assert`s, and compiles them with the C++ compiler
//! against the headers of the C-core this build linked (the include path
//! `ccore/pkg-config` gives grpcio-sys) together with grpcio-sys's own
//! `grpc_wrap.cc`, whose structs Rust reads too.
//!
//! Which types: the structs, unions and enums reachable from the functions
//! and types that grpcio, grpcio-health and yes-grpc name, through
//! parameters, return types and fields (computed from grpcio-sys's
//! `bindings.rs`; opaque handles such as `grpc_call` only cross as
//! pointers). Left out, on purpose: `gpr_log_func_args`, used only by
//! grpcio's `redirect_log`, which yes-grpc never calls and which C-core 1.66
//! removed with `gpr_set_log_function` (a binary calling it would not link).
//!
//! Differences found, and why they are harmless, are stated in
//! [`by_pointer`] and [`exempt_value`]: C-core 1.85's `grpc_slice_buffer`
//! (and the byte buffer holding one) is smaller, but only C-core allocates
//! those and grpcio reads none of their fields.

use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One C type as the bindings see it.
struct Layout {
    rust: &'static str,
    c: &'static str,
    /// Size and alignment; `None` for a type that only C-core allocates
    /// and grpcio only holds pointers to (see [`by_pointer`]), where only
    /// the offsets of its fields matter.
    size_align: Option<(usize, usize)>,
    fields: Vec<(&'static str, usize)>,
}

/// One C type's layout as the bindings see it. `offset_of!` works on
/// struct and union fields alike (a union's members all sit at 0, and the
/// C side checks that too).
macro_rules! layout {
    ($rust:ident, $c:expr, $kind:ident [$($field:ident),*]) => {
        Layout {
            rust: stringify!($rust),
            c: $c,
            size_align: by_pointer(stringify!($rust)).is_none().then(|| {
                (size_of::<grpcio_sys::$rust>(), align_of::<grpcio_sys::$rust>())
            }),
            fields: vec![$((c_field(stringify!($field)), offset_of!(grpcio_sys::$rust, $field))),*],
        }
    };
}

/// Types whose size may differ between C-core and the bindings without
/// harm, and why. C-core 1.85 keeps 3 slices inline in a `grpc_slice_buffer`
/// where 1.56 kept 8, so it and the byte buffer around it shrank; their
/// fields before the inline array sit where they did.
fn by_pointer(rust: &str) -> Option<&'static str> {
    const WHY: &str = "only C-core allocates it (grpc_raw_byte_buffer_create, \
                       grpc_byte_buffer_copy) and frees it; grpcio holds pointers to it \
                       and reads its bytes through grpc_byte_buffer_reader";
    [
        "grpc_byte_buffer",
        "grpc_byte_buffer_grpc_byte_buffer_data",
        "grpc_byte_buffer_grpc_byte_buffer_data_grpc_compressed_buffer",
        "grpc_slice_buffer",
    ]
    .contains(&rust)
    .then_some(WHY)
}

/// Enum values that may differ, and why.
fn exempt_value(name: &str) -> Option<&'static str> {
    (name == "GRPC_STATUS__DO_NOT_USE").then_some(
        "a sentinel that forces the enum's width (-1 in 1.51, 0x7fffffff since); never \
         sent or received",
    )
}

/// bindgen renames C fields that are Rust keywords (`type` -> `type_`).
fn c_field(rust: &'static str) -> &'static str {
    rust.strip_suffix('_').unwrap_or(rust)
}

/// One C enum (or enum-like constants) as the bindings see it.
struct Values {
    name: &'static str,
    values: Vec<(&'static str, i64)>,
}

macro_rules! values {
    (grpc_status_code, [$($value:ident),*]) => {
        Values {
            name: "grpc_status_code",
            values: vec![$((stringify!($value), grpcio_sys::grpc_status_code::$value as i64)),*],
        }
    };
    ($enum:ident, [$($value:ident),*]) => {
        Values {
            name: stringify!($enum),
            values: vec![$((stringify!($value), grpcio_sys::$enum::$value as i64)),*],
        }
    };
}

fn layouts() -> Vec<Layout> {
    vec![
        layout!(gpr_timespec, "gpr_timespec", struct [tv_sec, tv_nsec, clock_type]),
        layout!(grpc_arg, "grpc_arg", struct [type_, key, value]),
        layout!(grpc_arg_grpc_arg_value, "std::remove_reference_t<decltype(std::declval<grpc_arg>().value)>", union [string, integer, pointer]),
        layout!(grpc_arg_grpc_arg_value_grpc_arg_pointer, "std::remove_reference_t<decltype(std::declval<std::remove_reference_t<decltype(std::declval<grpc_arg>().value)>>().pointer)>", struct [p, vtable]),
        layout!(grpc_arg_pointer_vtable, "grpc_arg_pointer_vtable", struct [destroy]),
        layout!(grpc_auth_property, "grpc_auth_property", struct [name, value, value_length]),
        layout!(grpc_auth_property_iterator, "grpc_auth_property_iterator", struct [ctx, index, name]),
        layout!(grpc_byte_buffer, "grpc_byte_buffer", struct [reserved, type_, data]),
        layout!(grpc_byte_buffer_grpc_byte_buffer_data, "std::remove_reference_t<decltype(std::declval<grpc_byte_buffer>().data)>", union [reserved, raw]),
        layout!(grpc_byte_buffer_grpc_byte_buffer_data__bindgen_ty_1, "std::remove_reference_t<decltype(std::declval<std::remove_reference_t<decltype(std::declval<grpc_byte_buffer>().data)>>().reserved)>", struct [reserved]),
        layout!(grpc_byte_buffer_grpc_byte_buffer_data_grpc_compressed_buffer, "std::remove_reference_t<decltype(std::declval<std::remove_reference_t<decltype(std::declval<grpc_byte_buffer>().data)>>().raw)>", struct [compression, slice_buffer]),
        layout!(grpc_byte_buffer_reader, "grpc_byte_buffer_reader", struct [buffer_in, buffer_out, current]),
        layout!(
            grpc_byte_buffer_reader_grpc_byte_buffer_reader_current,
            "std::remove_reference_t<decltype(std::declval<grpc_byte_buffer_reader>().current)>",
            union[index]
        ),
        layout!(grpc_call_details, "grpc_call_details", struct [method, host, deadline]),
        layout!(grpc_channel_args, "grpc_channel_args", struct [num_args, args]),
        layout!(grpc_event, "grpc_event", struct [type_, success, tag]),
        layout!(grpc_metadata, "grpc_metadata", struct [key, value, internal_data]),
        layout!(grpc_metadata__bindgen_ty_1, "std::remove_reference_t<decltype(std::declval<grpc_metadata>().internal_data)>", struct [obfuscated]),
        layout!(grpc_metadata_array, "grpc_metadata_array", struct [count, capacity, metadata]),
        layout!(grpc_slice, "grpc_slice", struct [refcount, data]),
        layout!(grpc_slice_buffer, "grpc_slice_buffer", struct [base_slices, slices, count, capacity, length, inlined]),
        layout!(grpc_slice_grpc_slice_data, "std::remove_reference_t<decltype(std::declval<grpc_slice>().data)>", union [refcounted, inlined]),
        layout!(grpc_slice_grpc_slice_data_grpc_slice_inlined, "std::remove_reference_t<decltype(std::declval<std::remove_reference_t<decltype(std::declval<grpc_slice>().data)>>().inlined)>", struct [length, bytes]),
        layout!(grpc_slice_grpc_slice_data_grpc_slice_refcounted, "std::remove_reference_t<decltype(std::declval<std::remove_reference_t<decltype(std::declval<grpc_slice>().data)>>().refcounted)>", struct [length, bytes]),
        layout!(grpc_ssl_pem_key_cert_pair, "grpc_ssl_pem_key_cert_pair", struct [private_key, cert_chain]),
        layout!(grpc_ssl_verify_peer_options, "grpc_ssl_verify_peer_options", struct [verify_peer_callback_userdata, verify_peer_destruct]),
        layout!(grpcwrap_batch_context, "grpcwrap_batch_context", struct [send_initial_metadata, send_message, send_status_from_server, recv_initial_metadata, recv_message, recv_status_on_client, recv_close_on_server_cancelled]),
        layout!(grpcwrap_batch_context__bindgen_ty_1, "std::remove_reference_t<decltype(std::declval<grpcwrap_batch_context>().send_status_from_server)>", struct [trailing_metadata]),
        layout!(grpcwrap_batch_context__bindgen_ty_2, "std::remove_reference_t<decltype(std::declval<grpcwrap_batch_context>().recv_status_on_client)>", struct [trailing_metadata, status, status_details, error_string]),
        layout!(grpcwrap_request_call_context, "grpcwrap_request_call_context", struct [call, call_details, request_metadata]),
    ]
}

fn enums() -> Vec<Values> {
    vec![
        values!(
            gpr_clock_type,
            [
                GPR_CLOCK_MONOTONIC,
                GPR_CLOCK_REALTIME,
                GPR_CLOCK_PRECISE,
                GPR_TIMESPAN
            ]
        ),
        values!(
            gpr_log_severity,
            [
                GPR_LOG_SEVERITY_DEBUG,
                GPR_LOG_SEVERITY_INFO,
                GPR_LOG_SEVERITY_ERROR
            ]
        ),
        values!(
            grpc_arg_type,
            [GRPC_ARG_STRING, GRPC_ARG_INTEGER, GRPC_ARG_POINTER]
        ),
        values!(grpc_byte_buffer_type, [GRPC_BB_RAW]),
        values!(
            grpc_call_error,
            [
                GRPC_CALL_OK,
                GRPC_CALL_ERROR,
                GRPC_CALL_ERROR_NOT_ON_SERVER,
                GRPC_CALL_ERROR_NOT_ON_CLIENT,
                GRPC_CALL_ERROR_ALREADY_ACCEPTED,
                GRPC_CALL_ERROR_ALREADY_INVOKED,
                GRPC_CALL_ERROR_NOT_INVOKED,
                GRPC_CALL_ERROR_ALREADY_FINISHED,
                GRPC_CALL_ERROR_TOO_MANY_OPERATIONS,
                GRPC_CALL_ERROR_INVALID_FLAGS,
                GRPC_CALL_ERROR_INVALID_METADATA,
                GRPC_CALL_ERROR_INVALID_MESSAGE,
                GRPC_CALL_ERROR_NOT_SERVER_COMPLETION_QUEUE,
                GRPC_CALL_ERROR_BATCH_TOO_BIG,
                GRPC_CALL_ERROR_PAYLOAD_TYPE_MISMATCH,
                GRPC_CALL_ERROR_COMPLETION_QUEUE_SHUTDOWN
            ]
        ),
        values!(
            grpc_completion_type,
            [GRPC_QUEUE_SHUTDOWN, GRPC_QUEUE_TIMEOUT, GRPC_OP_COMPLETE]
        ),
        values!(
            grpc_compression_algorithm,
            [
                GRPC_COMPRESS_NONE,
                GRPC_COMPRESS_DEFLATE,
                GRPC_COMPRESS_GZIP,
                GRPC_COMPRESS_ALGORITHMS_COUNT
            ]
        ),
        values!(
            grpc_compression_level,
            [
                GRPC_COMPRESS_LEVEL_NONE,
                GRPC_COMPRESS_LEVEL_LOW,
                GRPC_COMPRESS_LEVEL_MED,
                GRPC_COMPRESS_LEVEL_HIGH,
                GRPC_COMPRESS_LEVEL_COUNT
            ]
        ),
        values!(
            grpc_connectivity_state,
            [
                GRPC_CHANNEL_IDLE,
                GRPC_CHANNEL_CONNECTING,
                GRPC_CHANNEL_READY,
                GRPC_CHANNEL_TRANSIENT_FAILURE,
                GRPC_CHANNEL_SHUTDOWN
            ]
        ),
        values!(
            grpc_ssl_certificate_config_reload_status,
            [
                GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED,
                GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW,
                GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL
            ]
        ),
        values!(
            grpc_ssl_client_certificate_request_type,
            [
                GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
                GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY,
                GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY,
                GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY,
                GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            ]
        ),
        values!(
            grpc_status_code,
            [
                GRPC_STATUS_OK,
                GRPC_STATUS_CANCELLED,
                GRPC_STATUS_UNKNOWN,
                GRPC_STATUS_INVALID_ARGUMENT,
                GRPC_STATUS_DEADLINE_EXCEEDED,
                GRPC_STATUS_NOT_FOUND,
                GRPC_STATUS_ALREADY_EXISTS,
                GRPC_STATUS_PERMISSION_DENIED,
                GRPC_STATUS_UNAUTHENTICATED,
                GRPC_STATUS_RESOURCE_EXHAUSTED,
                GRPC_STATUS_FAILED_PRECONDITION,
                GRPC_STATUS_ABORTED,
                GRPC_STATUS_OUT_OF_RANGE,
                GRPC_STATUS_UNIMPLEMENTED,
                GRPC_STATUS_INTERNAL,
                GRPC_STATUS_UNAVAILABLE,
                GRPC_STATUS_DATA_LOSS,
                GRPC_STATUS__DO_NOT_USE
            ]
        ),
    ]
}

/// A channel-argument key: its name in C, and its bytes (NUL-terminated) in
/// the bindings.
type Key = (&'static str, &'static [u8]);

/// Channel-argument keys grpcio sets, as the bindings spell them. The first
/// group is what yes-server itself sets: C-core must know each of them.
fn arg_keys() -> (Vec<Key>, Vec<Key>) {
    macro_rules! keys {
        ($($key:ident),*) => { vec![$((stringify!($key), &grpcio_sys::$key[..])),*] };
    }
    let ours = keys!(
        GRPC_ARG_MAX_CONCURRENT_STREAMS,
        GRPC_ARG_KEEPALIVE_TIME_MS,
        GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
        GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
        GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE,
        GRPC_ARG_RESOURCE_QUOTA,
        GRPC_ARG_LB_POLICY_NAME
    );
    let grpcio = keys!(
        GRPC_ARG_ALLOW_REUSEPORT,
        GRPC_ARG_DEFAULT_AUTHORITY,
        GRPC_ARG_ENABLE_HTTP_PROXY,
        GRPC_ARG_ENABLE_RETRIES,
        GRPC_ARG_GZIP_COMPRESSION_LEVEL,
        GRPC_ARG_HTTP2_BDP_PROBE,
        GRPC_ARG_HTTP2_INITIAL_SEQUENCE_NUMBER,
        GRPC_ARG_HTTP2_MAX_FRAME_SIZE,
        GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
        GRPC_ARG_HTTP2_MAX_PING_STRIKES,
        GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
        GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS,
        GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES,
        GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
        GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
        GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
        GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
        GRPC_ARG_MIN_MESSAGE_SIZE_TO_COMPRESS,
        GRPC_ARG_OPTIMIZATION_TARGET,
        GRPC_ARG_PRIMARY_USER_AGENT_STRING,
        GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE,
        GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE,
        GRPC_ARG_TCP_READ_CHUNK_SIZE,
        GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
        GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM,
        GRPC_COMPRESSION_CHANNEL_DEFAULT_LEVEL
    );
    (ours, grpcio)
}

/// Integer flags grpcio passes in write and metadata flags.
fn flags() -> Vec<(&'static str, i64)> {
    vec![
        (
            "GRPC_WRITE_BUFFER_HINT",
            grpcio_sys::GRPC_WRITE_BUFFER_HINT as i64,
        ),
        (
            "GRPC_WRITE_NO_COMPRESS",
            grpcio_sys::GRPC_WRITE_NO_COMPRESS as i64,
        ),
        (
            "GRPC_INITIAL_METADATA_WAIT_FOR_READY",
            grpcio_sys::GRPC_INITIAL_METADATA_WAIT_FOR_READY as i64,
        ),
    ]
}

/// The C++ source that asserts all of the above.
fn checks(grpc_wrap: &Path, extra: &str) -> (String, usize, usize) {
    let mut cc = String::new();
    let mut fields = 0;
    let mut values = 0;
    cc.push_str("#include <cstddef>\n#include <string_view>\n#include <type_traits>\n");
    cc.push_str("#include <utility>\n#define GRPC_SYS_SECURE 1\n");
    cc.push_str(&format!("#include \"{}\"\n", grpc_wrap.display()));
    // Since 1.6x the credential types live in a header of their own, which
    // grpc_security.h no longer includes.
    cc.push_str("#if __has_include(<grpc/credentials.h>)\n#include <grpc/credentials.h>\n#endif\n");
    for (i, t) in layouts().iter().enumerate() {
        cc.push_str(&format!("using T{i} = {};\n", t.c));
        if let Some((size, align)) = t.size_align {
            cc.push_str(&format!(
                "static_assert(sizeof(T{i}) == {size}, \"{}: size {size} in the bindings\");\n",
                t.rust
            ));
            cc.push_str(&format!(
                "static_assert(alignof(T{i}) == {align}, \"{}: alignment {align} in the \
                 bindings\");\n",
                t.rust
            ));
        }
        for (field, offset) in &t.fields {
            fields += 1;
            cc.push_str(&format!(
                "static_assert(offsetof(T{i}, {field}) == {offset}, \"{}.{field}: offset {offset} \
                 in the bindings\");\n",
                t.rust
            ));
        }
    }
    for e in enums() {
        // Every enum crosses as a 32-bit integer (bindgen's `u32`/`i32`).
        cc.push_str(&format!(
            "static_assert(sizeof({}) == 4, \"{}: 4 bytes in the bindings\");\n",
            e.name, e.name
        ));
        for (name, value) in &e.values {
            if exempt_value(name).is_some() {
                continue;
            }
            values += 1;
            cc.push_str(&format!(
                "static_assert((long long){name} == {value}LL, \"{}::{name}: {value} in the \
                 bindings\");\n",
                e.name
            ));
        }
    }
    for (name, value) in flags() {
        cc.push_str(&format!(
            "static_assert({name} == {value}, \"{name}: {value} in the bindings\");\n"
        ));
    }
    let (ours, grpcio) = arg_keys();
    for (group, keys) in [("ours", ours), ("grpcio", grpcio)] {
        for (name, bytes) in keys {
            let key = std::str::from_utf8(bytes.strip_suffix(b"\0").unwrap()).unwrap();
            cc.push_str(&format!(
                "#ifdef {name}\nstatic_assert(std::string_view({name}) == \"{key}\", \"{name}: \
                 '{key}' in the bindings\");\n#else\n#pragma message(\"absent {group} {name}\")\n\
                 #endif\n"
            ));
        }
    }
    cc.push_str(extra);
    (cc, fields, values)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// grpcio-sys's source directory, where cargo unpacked it.
///
/// `cargo metadata` resolves only this target's packages (so it needs none
/// that a build here did not already download, such as the `windows-*`
/// crates), and may fetch: `--offline` failed on every fresh machine, whose
/// registry holds only what the build fetched.
fn grpcio_sys_dir() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", env!("YES_GRPC_TARGET")])
        .current_dir(repo())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "grpcio-sys")
        .expect("grpcio-sys is a dependency");
    Path::new(package["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned()
}

/// The include path grpcio-sys compiled its wrapper with.
fn cflags() -> Vec<String> {
    let out = Command::new(repo().join("ccore/pkg-config"))
        .args(["--cflags", "grpc"])
        .env("YES_GRPC_CCORE", env!("YES_GRPC_CCORE_MODE"))
        .output()
        .expect("ccore/pkg-config runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Compiles `source` (syntax and static assertions only); returns whether it
/// passed and what the compiler said.
fn compile(name: &str, source: &str) -> (bool, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("abi");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    let out = Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()))
        .args(["-std=c++17", "-fsyntax-only", "-w", "-fmax-errors=0"])
        .args(cflags())
        .arg(&path)
        .output()
        .expect("a C++ compiler runs (scripts/setup-debian.sh installs g++)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bindings_match_the_linked_c_core_headers() {
    let grpc_wrap = grpcio_sys_dir().join("grpc_wrap.cc");
    let (source, fields, values) = checks(&grpc_wrap, "");
    let (ok, said) = compile("abi.cc", &source);
    let mismatches: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("static assertion failed") || l.contains("error"))
        .collect();
    assert!(
        ok,
        "grpcio-sys's bindings disagree with C-core {} headers:\n{}",
        yes_grpc::ccore::describe(),
        if mismatches.is_empty() { &said } else { "" }.to_owned() + &mismatches.join("\n")
    );
    let absent_ours: Vec<&str> = said
        .lines()
        .filter_map(|l| l.split("#pragma message: absent ours ").nth(1))
        .map(|l| l.trim_end_matches(['\'', '\u{2019}']))
        .collect();
    assert!(
        absent_ours.is_empty(),
        "C-core {} no longer knows channel arguments yes-server sets: {absent_ours:?}",
        yes_grpc::ccore::describe()
    );
    let absent: Vec<&str> = said
        .lines()
        .filter_map(|l| l.split("#pragma message: absent grpcio ").nth(1))
        .map(|l| l.trim_end_matches(['\'', '\u{2019}']))
        .collect();
    let (ours, grpcio) = arg_keys();
    let pointer_only = layouts().iter().filter(|t| t.size_align.is_none()).count();
    println!(
        "abi: {} headers agree with grpcio-sys's bindings: {} types (sizes and alignments of {}, \
         {fields} field offsets; {pointer_only} only C-core allocates: offsets only), {} enums \
         (widths, {values} values), {} flags, {} channel-argument keys; keys these headers do \
         not define (grpcio methods yes-grpc does not call): {absent:?}",
        yes_grpc::ccore::describe(),
        layouts().len(),
        layouts().len() - pointer_only,
        enums().len(),
        flags().len(),
        ours.len() + grpcio.len() - absent.len(),
    );
}

#[test]
fn the_check_catches_a_layout_that_moved() {
    // Proves the assertions are really evaluated against these headers: a
    // size one byte off must fail to compile, naming the type.
    let grpc_wrap = grpcio_sys_dir().join("grpc_wrap.cc");
    let wrong = format!(
        "static_assert(sizeof(grpc_slice) == {}, \"grpc_slice: deliberately wrong\");\n",
        size_of::<grpcio_sys::grpc_slice>() + 1
    );
    let (source, _, _) = checks(&grpc_wrap, &wrong);
    let (ok, said) = compile("abi-wrong.cc", &source);
    assert!(!ok, "a wrong size compiled");
    assert!(said.contains("grpc_slice: deliberately wrong"), "{said}");
}
