//! TLS and mutual TLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`), with
//! certificates made for each test, our grpcio client and the real binaries.
//! (The grpc-java client over TLS and mTLS: tests/interop_java.rs.)

mod common;

use std::process::Command;

use grpcio::RpcStatusCode;

use yes_grpc::client::{connect, ClientTls};
use yes_grpc::proto::yes_grpc::SayYesClient;
use yes_grpc::server::StartError;
use yes_grpc::tls::TlsFiles;
use yes_grpc::YesServer;

use common::certs::Certs;
use common::process::ServerProcess;
use common::*;

const CLIENT: &str = env!("CARGO_BIN_EXE_yes-client");

fn files(certs: &Certs, client_ca: Option<&Certs>) -> TlsFiles {
    TlsFiles {
        cert: certs.path("server.pem"),
        key: certs.path("server.key"),
        client_ca: client_ca.map(|ca| ca.path("ca.pem")),
    }
}

fn tls_server(certs: &Certs, client_ca: Option<&Certs>) -> YesServer {
    server_with(|c| c.tls = Some(files(certs, client_ca)))
}

/// A client on a connection of its own that trusts `ca` (if any) and
/// presents `identity`'s client certificate (if any).
fn tls_client(server: &YesServer, ca: Option<&Certs>, identity: Option<&Certs>) -> SayYesClient {
    let tls = ClientTls {
        ca: ca.map(|c| c.path("ca.pem")),
        identity: identity.map(|c| (c.path("client.pem"), c.path("client.key"))),
        server_name: None,
    };
    connect(&server.local_addr().to_string(), false, Some(&tls)).unwrap()
}

/// Reads three replies, or returns the call's error.
fn three_replies(client: &SayYesClient) -> Result<Vec<String>, grpcio::Error> {
    let mut stream = client
        .yes_with_fc_opt(&request("secret"), with_timeout(PATIENCE))
        .unwrap();
    let mut replies = Vec::new();
    while replies.len() < 3 {
        match futures::executor::block_on(futures::StreamExt::next(&mut stream)) {
            Some(Ok(mut reply)) => replies.push(reply.take_message()),
            Some(Err(e)) => return Err(e),
            None => panic!("the stream ended after {} replies", replies.len()),
        }
    }
    Ok(replies)
}

/// The peers of the server's streams while `client` reads one of its own.
fn peers_while_streaming(server: &YesServer, client: &SayYesClient) -> Vec<String> {
    let mut stream = client.yes_with_fc(&request("who")).unwrap();
    assert_eq!(read(&mut stream, 1), ["who"]);
    server
        .registry()
        .streams()
        .into_iter()
        .map(|s| s.peer)
        .collect()
}

fn refused(result: Result<Vec<String>, grpcio::Error>) -> bool {
    matches!(result, Err(ref e) if code(e) == RpcStatusCode::UNAVAILABLE)
}

#[test]
fn tls_serves_clients_that_trust_its_ca_and_only_over_tls() {
    let certs = Certs::new("tls");
    let server = tls_server(&certs, None);

    assert_eq!(
        three_replies(&tls_client(&server, Some(&certs), None)).unwrap(),
        ["secret"; 3]
    );
    // A client certificate is not needed, nor harmful.
    assert!(three_replies(&tls_client(&server, Some(&certs), Some(&certs))).is_ok());
    // Plaintext to a TLS port, and TLS without trusting the CA, fail.
    assert!(refused(three_replies(&client(&server))));
    let other = Certs::new("other");
    assert!(refused(three_replies(&tls_client(
        &server,
        Some(&other),
        None
    ))));
    assert!(refused(three_replies(&tls_client(&server, None, None))));
    assert_eq!(server.registry().streams().len(), 0);

    // A server that asks for no client certificate names clients by their
    // address alone, even one that has a certificate.
    let peers = peers_while_streaming(&server, &tls_client(&server, Some(&certs), Some(&certs)));
    assert!(
        !peers.is_empty()
            && peers
                .iter()
                .all(|p| p.starts_with("ipv") && !p.contains('(')),
        "{peers:?}"
    );
}

#[test]
fn mutual_tls_refuses_clients_without_a_certificate_from_the_client_ca() {
    let certs = Certs::new("mtls");
    let rogue = Certs::new("rogue");
    let server = tls_server(&certs, Some(&certs));

    assert!(refused(three_replies(&tls_client(
        &server,
        Some(&certs),
        None
    ))));
    assert!(refused(three_replies(&tls_client(
        &server,
        Some(&certs),
        Some(&rogue)
    ))));
    let client = tls_client(&server, Some(&certs), Some(&certs));
    assert_eq!(three_replies(&client).unwrap(), ["secret"; 3]);

    // The server knows who the client is: its certificate's name is in the
    // stream's peer, so in every log line about the stream.
    let peers = peers_while_streaming(&server, &client);
    assert!(
        peers
            .iter()
            .any(|p| p.ends_with("(x509_common_name=mtls client)")),
        "{peers:?}"
    );
}

#[test]
fn a_renewed_certificate_reaches_new_connections_without_a_restart() {
    let old = Certs::new("old");
    let new = Certs::new("new");
    let served = Certs::new("served");
    for file in ["server.pem", "server.key"] {
        std::fs::copy(old.path(file), served.path(file)).unwrap();
    }
    let server = tls_server(&served, None);
    let before = tls_client(&server, Some(&old), None);
    let mut flowing = before
        .yes_with_fc_opt(&request("old"), with_timeout(PATIENCE))
        .unwrap();
    read(&mut flowing, 10);
    assert!(refused(three_replies(&tls_client(
        &server,
        Some(&new),
        None
    ))));

    // Rotate: key first, then the certificate, as a renewal job might.
    for file in ["server.key", "server.pem"] {
        let staged = served.path(&format!("{file}.tmp"));
        std::fs::copy(new.path(file), &staged).unwrap();
        std::fs::rename(&staged, served.path(file)).unwrap();
    }
    assert_eq!(
        three_replies(&tls_client(&server, Some(&new), None)).unwrap(),
        ["secret"; 3]
    );
    // The connection made before the rotation keeps streaming.
    assert_eq!(read(&mut flowing, 10), ["old"; 10]);
}

#[test]
fn unusable_tls_files_stop_the_start_with_the_flag_and_the_file() {
    let certs = Certs::new("bad");
    let start = |tls: TlsFiles| match YesServer::start(&yes_grpc::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(tls),
        ..Default::default()
    }) {
        Ok(_) => panic!("the server started"),
        Err(e) => e,
    };

    let missing = start(TlsFiles {
        key: certs.path("nothing.key"),
        ..files(&certs, None)
    });
    assert!(matches!(missing, StartError::Tls(_)));
    let text = missing.to_string();
    assert!(
        text.contains("--tls-key") && text.contains("nothing.key"),
        "{text}"
    );

    let swapped = start(TlsFiles {
        key: certs.path("server.pem"),
        ..files(&certs, None)
    });
    assert!(swapped.to_string().contains("PRIVATE KEY"), "{swapped}");

    let ca_is_a_key = start(TlsFiles {
        client_ca: Some(certs.path("ca.key")),
        ..files(&certs, None)
    });
    assert!(
        ca_is_a_key.to_string().contains("--tls-client-ca"),
        "{ca_is_a_key}"
    );

    // A key that does not belong to the certificate: C-core refuses it.
    let mismatched = start(TlsFiles {
        key: certs.path("client.key"),
        ..files(&certs, None)
    });
    assert!(matches!(mismatched, StartError::BindTls(_)), "{mismatched}");
}

/// The real binaries: `yes-server --tls-* --tls-client-ca` and `yes-client`
/// with and without its certificate.
#[test]
fn the_binaries_speak_mutual_tls() {
    let certs = Certs::new("binaries");
    let mut server = ServerProcess::spawn(&[
        "--tls-cert",
        &certs.arg("server.pem"),
        "--tls-key",
        &certs.arg("server.key"),
        "--tls-client-ca",
        &certs.arg("ca.pem"),
    ]);
    server.log_until("over mutual TLS");
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    let yes_client = |args: &[&str]| {
        Command::new(CLIENT)
            .args(["--target", &format!("localhost:{port}"), "-n", "3"])
            .args(["--tls-ca", &certs.arg("ca.pem")])
            .args(args)
            .output()
            .unwrap()
    };

    let with_cert = yes_client(&[
        "--tls-cert",
        &certs.arg("client.pem"),
        "--tls-key",
        &certs.arg("client.key"),
        "mutual",
    ]);
    assert!(with_cert.status.success(), "{with_cert:?}");
    assert_eq!(
        String::from_utf8_lossy(&with_cert.stdout),
        "mutual\nmutual\nmutual\n"
    );

    let without = yes_client(&["--deadline", "10s"]);
    assert_eq!(without.status.code(), Some(1), "{without:?}");
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(stderr.starts_with("yes-client: UNAVAILABLE"), "{stderr}");

    // A certificate given as the key is named by its flag before any
    // handshake (C-core would only fail the handshake).
    let swapped = yes_client(&[
        "--tls-cert",
        &certs.arg("client.pem"),
        "--tls-key",
        &certs.arg("client.pem"),
    ]);
    assert_eq!(swapped.status.code(), Some(1), "{swapped:?}");
    let stderr = String::from_utf8_lossy(&swapped.stderr);
    assert!(
        stderr.starts_with("yes-client: INVALID_ARGUMENT: --tls-key ")
            && stderr.contains("PRIVATE KEY"),
        "{stderr}"
    );

    // A key that does not belong to the certificate: C-core's reasons come
    // through yes-server's logger (target "grpc"), then the flag's line; no
    // raw C-core line, nor abseil's "before absl::InitializeLog()" warning.
    let mismatched = common::process::run_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &certs.arg("server.pem"),
        "--tls-key",
        &certs.arg("client.key"),
    ]);
    assert_eq!(mismatched.status.code(), Some(1), "{mismatched:?}");
    let stderr = String::from_utf8_lossy(&mismatched.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with('[')) && !stderr.contains("absl"),
        "a line did not come through the logger:\n{stderr}"
    );
    assert!(lines.iter().any(|l| l.contains(" grpc] ")), "{stderr}");
    assert!(
        lines
            .last()
            .unwrap()
            .contains("cannot listen on 127.0.0.1:0 with TLS"),
        "{stderr}"
    );

    // --tls-cert without --tls-key is a usage error.
    let half = common::process::run_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &certs.arg("server.pem"),
    ]);
    assert_eq!(half.status.code(), Some(2), "{half:?}");
    assert!(String::from_utf8_lossy(&half.stderr).contains("--tls-key"));
    server.stop();
}
