//! Server reflection (`grpc.reflection.v1` and `v1alpha`), asked by our own
//! grpcio client and by Python's `grpcio-reflection`, a real third-party
//! reflection client.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use futures::executor::block_on;
use futures::{SinkExt, StreamExt, TryStreamExt};
use grpcio::{Client, Method, MethodType, RpcStatusCode, WriteFlags};
use protobuf::descriptor::FileDescriptorProto;
use protobuf::Message;

use yes_grpc::proto::reflection_v1::{
    ExtensionRequest, ServerReflectionRequest, ServerReflectionResponse,
};
use yes_grpc::reflection::{METHOD_V1, METHOD_V1ALPHA};

use common::*;

type Reflection = Method<ServerReflectionRequest, ServerReflectionResponse>;

/// Sends `requests` on one reflection stream and returns every response.
fn ask(
    client: &Client,
    method: &Reflection,
    requests: Vec<ServerReflectionRequest>,
) -> Vec<ServerReflectionResponse> {
    let (mut sender, receiver) = client
        .duplex_streaming(method, with_timeout(PATIENCE))
        .unwrap();
    block_on(async {
        for request in requests {
            sender.send((request, WriteFlags::default())).await.unwrap();
        }
        sender.close().await.unwrap();
        receiver.try_collect().await.unwrap()
    })
}

fn request(host: &str, set: impl FnOnce(&mut ServerReflectionRequest)) -> ServerReflectionRequest {
    let mut request = ServerReflectionRequest::new();
    request.set_host(host.to_owned());
    set(&mut request);
    request
}

fn list_services() -> ServerReflectionRequest {
    request("", |r| r.set_list_services(String::new()))
}

fn by_symbol(symbol: &str) -> ServerReflectionRequest {
    request("", |r| r.set_file_containing_symbol(symbol.to_owned()))
}

fn by_file(name: &str) -> ServerReflectionRequest {
    request("", |r| r.set_file_by_filename(name.to_owned()))
}

/// The file descriptors of a file_descriptor_response.
fn files(response: &ServerReflectionResponse) -> Vec<FileDescriptorProto> {
    assert!(
        response.has_file_descriptor_response(),
        "expected files, got {response:?}"
    );
    response
        .get_file_descriptor_response()
        .get_file_descriptor_proto()
        .iter()
        .map(|bytes| FileDescriptorProto::parse_from_bytes(bytes).unwrap())
        .collect()
}

fn error_code(response: &ServerReflectionResponse) -> RpcStatusCode {
    assert!(
        response.has_error_response(),
        "expected an error, got {response:?}"
    );
    RpcStatusCode::from(response.get_error_response().get_error_code())
}

#[test]
fn both_versions_list_every_service_and_echo_the_request() {
    let server = server();
    let client = Client::new(channel(&server));
    for method in [&METHOD_V1, &METHOD_V1ALPHA] {
        let asked = request("example.com", |r| r.set_list_services("*".into()));
        let responses = ask(&client, method, vec![asked.clone()]);
        assert_eq!(responses.len(), 1);
        let response = &responses[0];
        let names: Vec<&str> = response
            .get_list_services_response()
            .get_service()
            .iter()
            .map(|s| s.get_name())
            .collect();
        assert_eq!(
            names,
            [
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
                "yes.SayYes",
            ],
            "{}",
            method.name
        );
        assert_eq!(response.get_valid_host(), "example.com");
        assert_eq!(response.get_original_request(), &asked);
    }
}

#[test]
fn symbols_and_file_names_find_the_files_that_define_them() {
    let server = server();
    let client = Client::new(channel(&server));
    let asked = vec![
        by_symbol("yes.SayYes"),
        by_symbol("yes.SayYes.YesWithFc"),
        by_symbol(".yes.YesReply"),
        by_symbol("yes.YesRequest.message"),
        by_file("yes.proto"),
        by_symbol("grpc.health.v1.HealthCheckResponse.ServingStatus"),
        by_file("grpc/reflection/v1alpha/reflection.proto"),
    ];
    let responses = ask(&client, &METHOD_V1, asked);
    assert_eq!(responses.len(), 7);

    for response in &responses[..5] {
        let files = files(response);
        assert_eq!(files.len(), 1, "yes.proto imports nothing");
        let yes = &files[0];
        assert_eq!((yes.get_name(), yes.get_package()), ("yes.proto", "yes"));
        let service = &yes.get_service()[0];
        assert_eq!(service.get_name(), "SayYes");
        let methods: Vec<_> = service
            .get_method()
            .iter()
            .map(|m| {
                (
                    m.get_name(),
                    m.get_input_type(),
                    m.get_output_type(),
                    m.get_client_streaming(),
                    m.get_server_streaming(),
                )
            })
            .collect();
        assert_eq!(
            methods,
            [
                ("Yes", ".yes.YesRequest", ".yes.YesReply", false, true),
                ("YesWithFc", ".yes.YesRequest", ".yes.YesReply", false, true),
            ]
        );
    }
    let health = files(&responses[5]);
    assert_eq!(health[0].get_name(), "grpc/health/v1/health.proto");
    assert_eq!(health[0].get_service()[0].get_name(), "Health");
    let alpha = files(&responses[6]);
    assert_eq!(alpha[0].get_package(), "grpc.reflection.v1alpha");
}

#[test]
fn unknown_names_get_not_found_and_the_stream_goes_on() {
    let server = server();
    let client = Client::new(channel(&server));
    let mut extension = ExtensionRequest::new();
    extension.set_containing_type("yes.YesRequest".into());
    extension.set_extension_number(100);
    let asked = vec![
        by_symbol("yes.SayNo"),
        by_file("no.proto"),
        request("", |r| r.set_file_containing_extension(extension)),
        request("", |r| {
            r.set_all_extension_numbers_of_type("yes.YesRequest".into())
        }),
        request("", |r| {
            r.set_all_extension_numbers_of_type("yes.Nothing".into())
        }),
        request("", |_| {}),
        list_services(),
    ];
    let responses = ask(&client, &METHOD_V1ALPHA, asked);
    assert_eq!(responses.len(), 7);
    assert_eq!(error_code(&responses[0]), RpcStatusCode::NOT_FOUND);
    assert!(responses[0]
        .get_error_response()
        .get_error_message()
        .contains("yes.SayNo"));
    assert_eq!(error_code(&responses[1]), RpcStatusCode::NOT_FOUND);
    assert_eq!(error_code(&responses[2]), RpcStatusCode::NOT_FOUND);
    let numbers = responses[3].get_all_extension_numbers_response();
    assert_eq!(numbers.get_base_type_name(), "yes.YesRequest");
    assert!(numbers.get_extension_number().is_empty());
    assert_eq!(error_code(&responses[4]), RpcStatusCode::NOT_FOUND);
    assert_eq!(error_code(&responses[5]), RpcStatusCode::INVALID_ARGUMENT);
    assert_eq!(
        responses[6]
            .get_list_services_response()
            .get_service()
            .len(),
        4
    );
}

#[test]
fn a_request_that_is_not_protobuf_gets_invalid_argument() {
    let server = server();
    let client = Client::new(channel(&server));
    let raw = raw_method(MethodType::Duplex, METHOD_V1.name);
    let (mut sender, mut receiver) = client
        .duplex_streaming(&raw, with_timeout(PATIENCE))
        .unwrap();
    let error = block_on(async {
        // Field 1 as a varint, then a truncated varint. The write itself
        // may fail once the server has answered with a status.
        let _ = sender.send((vec![0x0a, 0xff], WriteFlags::default())).await;
        match receiver.next().await {
            Some(Err(e)) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    });
    assert_eq!(code(&error), RpcStatusCode::INVALID_ARGUMENT);
    assert!(
        message(&error).contains("ServerReflectionRequest"),
        "{error:?}"
    );
    // The server goes on answering others.
    assert_eq!(ask(&client, &METHOD_V1, vec![list_services()]).len(), 1);
}

#[test]
fn reflection_can_be_turned_off() {
    let server = server_with(|c| c.reflection = false);
    let client = Client::new(channel(&server));
    let (mut sender, mut receiver) = client
        .duplex_streaming(&METHOD_V1, with_timeout(PATIENCE))
        .unwrap();
    let error = block_on(async {
        let _ = sender.send((list_services(), WriteFlags::default())).await;
        match receiver.next().await {
            Some(Err(e)) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    });
    assert_eq!(code(&error), RpcStatusCode::UNIMPLEMENTED);
}

/// Our copies of the reflection and health protos are the ones Debian's
/// `grpc-proto` ships (installed by scripts/setup-debian.sh): the wire
/// format must match.
#[test]
fn vendored_protos_match_debian_grpc_proto() {
    for path in [
        "grpc/reflection/v1/reflection.proto",
        "grpc/reflection/v1alpha/reflection.proto",
        "grpc/health/v1/health.proto",
        "grpc/channelz/v1/channelz.proto",
    ] {
        let reference = Path::new("/usr/share/grpc-proto").join(path);
        let reference = std::fs::read_to_string(&reference).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}): install Debian's grpc-proto (scripts/setup-debian.sh)",
                reference.display()
            )
        });
        let ours = std::fs::read_to_string(Path::new("proto").join(path)).unwrap();
        assert!(ours == reference, "proto/{path} differs from grpc-proto's");
    }
}

/// The pinned third-party client, in a virtualenv of its own.
const PYTHON_PACKAGES: &str = "grpcio-reflection==1.85.1";

/// A Python with `grpcio-reflection`, installed from PyPI on first use.
fn python_with_reflection() -> PathBuf {
    // Tests run on threads of one process: two that found no venv at once
    // both made it, and one ran its script while the other was rewriting
    // the venv under it (the script died without a word).
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(make_python_with_reflection).clone()
}

fn make_python_with_reflection() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-reflection");
    let python = venv.join("bin/python3");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import grpc_reflection, google.protobuf"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        return python;
    }
    eprintln!("installing {PYTHON_PACKAGES} into {}", venv.display());
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 runs (scripts/setup-debian.sh installs it)");
    assert!(
        made.success(),
        "python3 -m venv failed: install python3-venv"
    );
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(PYTHON_PACKAGES)
        .status()
        .unwrap();
    assert!(installed.success(), "pip install {PYTHON_PACKAGES} failed");
    assert!(ready(&python));
    python
}

/// Runs `tests/python/SCRIPT ARGS` with grpcio-reflection; the JSON it
/// prints.
fn run_python(script: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new(python_with_reflection())
        .arg(Path::new("tests/python").join(script))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn python_grpcio_reflection_discovers_and_calls_the_service() {
    let server = server();
    let addr = server.local_addr().to_string();
    let learned = run_python("reflection_client.py", &[&addr, "reflected"]);
    eprintln!("python grpcio-reflection learned: {learned}");
    assert_eq!(
        learned["services"],
        serde_json::json!([
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "yes.SayYes"
        ])
    );
    assert_eq!(learned["file"], "yes.proto");
    for name in ["Yes", "YesWithFc"] {
        let method = &learned["say_yes"][name];
        assert_eq!(method["input"], "yes.YesRequest");
        assert_eq!(method["output"], "yes.YesReply");
        assert_eq!(method["server_streaming"], true);
        assert_eq!(method["client_streaming"], false);
    }
    assert_eq!(
        learned["health"]["Check"]["input"],
        "grpc.health.v1.HealthCheckRequest"
    );
    assert_eq!(
        learned["replies"],
        serde_json::json!(["reflected", "reflected", "reflected"])
    );
}

/// A third-party client reads channelz the way grpcurl does: through
/// reflection (channelz.proto and the well-known types it imports), then
/// the servers, sockets and each socket, decoded by Python's protobuf.
#[test]
fn python_reads_channelz_through_reflection() {
    // The binary: one server in the process, so the first one listed.
    let server = common::process::ServerProcess::spawn(&["--channelz"]);
    let client = server.client();
    let mut stream = client.yes_with_fc(&common::request("seen")).unwrap();
    assert_eq!(read(&mut stream, 500).len(), 500);
    let read = run_python("channelz_client.py", &[&server.addr]);
    eprintln!("python read channelz: {read}");
    assert!(read["services"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "grpc.channelz.v1.Channelz"));
    assert_eq!(read["servers"]["server"].as_array().unwrap().len(), 1);
    let sent: Vec<u64> = read["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["data"]["messagesSent"]
                .as_str()
                .unwrap_or("0")
                .parse()
                .unwrap()
        })
        .collect();
    assert!(sent.iter().any(|&n| n >= 500), "{read}");
}
