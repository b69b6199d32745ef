//! TLS and mutual TLS on C-core's credentials, with certificates that can be
//! replaced on disk while the server runs.
//!
//! The files are checked when the server starts, so a missing or malformed
//! file stops it with a message that names the file and the flag, instead of
//! C-core's generic failure to listen. After that C-core asks
//! the reloader before each new connection's handshake; when the files
//! changed (e.g. cert-manager or a renewal job rotated them) it reads them
//! again, and new connections use the new certificate while open ones keep
//! theirs. A rotation that leaves unreadable files is logged and the previous
//! certificate stays in use.

use std::error::Error as StdError;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use grpcio::{
    CertificateRequestType, RpcContext, ServerCredentials, ServerCredentialsBuilder,
    ServerCredentialsFetcher,
};
use log::{info, warn};

/// Where the server's PEM files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain (`--tls-cert`), leaf first.
    pub cert: PathBuf,
    /// The certificate's private key (`--tls-key`).
    pub key: PathBuf,
    /// CA certificates that client certificates must chain to
    /// (`--tls-client-ca`); with it, a client without such a certificate is
    /// refused during the handshake (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// Whether clients must present a certificate.
    pub fn mutual(&self) -> bool {
        self.client_ca.is_some()
    }

    fn each(&self) -> impl Iterator<Item = (&'static str, &Path)> {
        [("--tls-cert", &self.cert), ("--tls-key", &self.key)]
            .into_iter()
            .map(|(flag, path)| (flag, path.as_path()))
            .chain(
                self.client_ca
                    .as_deref()
                    .map(|path| ("--tls-client-ca", path)),
            )
    }
}

/// A TLS file that cannot be used, and why.
#[derive(Debug)]
pub struct TlsError {
    flag: &'static str,
    path: PathBuf,
    why: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.flag, self.path.display(), self.why)
    }
}

impl TlsError {
    fn new(flag: &'static str, path: &Path, why: String) -> TlsError {
        TlsError {
            flag,
            path: path.to_owned(),
            why,
        }
    }
}

impl StdError for TlsError {}

/// Clients must present a verified certificate under mutual TLS, and are
/// not asked for one otherwise.
fn client_certificates(mutual: bool) -> CertificateRequestType {
    if mutual {
        CertificateRequestType::RequestAndRequireClientCertificateAndVerify
    } else {
        CertificateRequestType::DontRequestClientCertificate
    }
}

/// Checks the files and returns credentials that reload them when they
/// change.
pub fn credentials(files: &TlsFiles) -> Result<ServerCredentials, TlsError> {
    Pem::load(files)?;
    let reloader = Reloader {
        files: files.clone(),
        loaded: Mutex::new(None),
    };
    let request = client_certificates(files.mutual());
    Ok(ServerCredentials::with_fetcher(Box::new(reloader), request))
}

/// The contents of the files, each checked to be PEM of the right kind.
struct Pem {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Pem {
    fn load(files: &TlsFiles) -> Result<Pem, TlsError> {
        let cert = read_pem(&files.cert, "--tls-cert", CERTIFICATE)?;
        let key = read_pem(&files.key, "--tls-key", PRIVATE_KEY)?;
        let client_ca = match &files.client_ca {
            Some(path) => Some(read_pem(path, "--tls-client-ca", CERTIFICATE)?),
            None => None,
        };
        Ok(Pem {
            cert,
            key,
            client_ca,
        })
    }

    fn into_builder(self) -> ServerCredentialsBuilder {
        // C-core asserts (and aborts) when a fetched configuration has no
        // root certificates, even when clients are never asked for one
        // (ssl_security_connector.cc: `config->pem_root_certs != nullptr`).
        // Without --tls-client-ca the roots are never used, so the server's
        // own chain stands in.
        let request = client_certificates(self.client_ca.is_some());
        let roots = self.client_ca.unwrap_or_else(|| self.cert.clone());
        ServerCredentialsBuilder::new()
            .add_cert(self.cert, self.key)
            .root_cert(roots, request)
    }
}

/// PEM labels of certificates (chains and CA bundles).
pub const CERTIFICATE: &[&str] = &["CERTIFICATE"];
/// PEM labels of the private keys C-core reads: PKCS#8, RSA and EC.
pub const PRIVATE_KEY: &[&str] = &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];

/// Reads a PEM file and checks that it holds a block of one of `labels`.
/// C-core would only say that a server cannot listen, or that a client's
/// handshake failed, without naming the file; this names the flag.
pub fn read_pem(path: &Path, flag: &'static str, labels: &[&str]) -> Result<Vec<u8>, TlsError> {
    let error = |why: String| TlsError::new(flag, path, why);
    let bytes = fs::read(path).map_err(|e| error(format!("cannot read it: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| error("is not PEM text".into()))?;
    if text.contains('\0') {
        return Err(error("is not PEM text (it holds a NUL byte)".into()));
    }
    let found = labels
        .iter()
        .any(|label| text.contains(&format!("-----BEGIN {label}-----")));
    if !found {
        return Err(error(format!(
            "holds no PEM block \"-----BEGIN {}-----\"",
            labels[0]
        )));
    }
    Ok(bytes)
}

/// What C-core asks for the current certificate before each handshake.
struct Reloader {
    files: TlsFiles,
    /// The modification times of the files last loaded.
    loaded: Mutex<Option<Vec<SystemTime>>>,
}

impl Reloader {
    fn stamps(&self) -> Result<Vec<SystemTime>, TlsError> {
        self.files
            .each()
            .map(|(flag, path)| {
                fs::metadata(path)
                    .and_then(|meta| meta.modified())
                    .map_err(|e| TlsError::new(flag, path, format!("cannot read it: {e}")))
            })
            .collect()
    }
}

impl ServerCredentialsFetcher for Reloader {
    fn fetch(&self) -> Result<Option<ServerCredentialsBuilder>, Box<dyn StdError>> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let stamps = self
            .stamps()
            .inspect_err(|e| warn!("TLS: keeping the loaded certificate: {e}"))?;
        if loaded.as_ref() == Some(&stamps) {
            return Ok(None);
        }
        let pem = Pem::load(&self.files)
            .inspect_err(|e| warn!("TLS: keeping the loaded certificate: {e}"))?;
        let verb = if loaded.is_some() {
            "reloaded"
        } else {
            "loaded"
        };
        info!(
            "TLS: {verb} certificate {} and key {}{}",
            self.files.cert.display(),
            self.files.key.display(),
            match &self.files.client_ca {
                Some(ca) => format!("; clients must present a certificate from {}", ca.display()),
                None => String::new(),
            }
        );
        *loaded = Some(stamps);
        Ok(Some(pem.into_builder()))
    }
}

/// Who the client is, for the log: under mutual TLS, the identity C-core
/// verified from its certificate (the property C-core picks: the subject's
/// common name, or its alternative names), as `name=value[,value…]`. `None`
/// for plaintext, for TLS without client certificates, and for identities
/// that are not text.
pub fn client_identity(ctx: &RpcContext<'_>) -> Option<String> {
    let auth = ctx.auth_context()?;
    if !auth.peer_is_authenticated() {
        return None;
    }
    let name = auth.peer_identity_property_name()?.to_owned();
    let values = auth
        .peer_identity()
        .map(|property| property.value_str().map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    (!values.is_empty()).then(|| format!("{name}={}", values.join(",")))
}
