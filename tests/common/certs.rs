//! Test certificates, made with the `openssl` command (Debian's `openssl`,
//! installed by scripts/setup-debian.sh): a CA, a server certificate for
//! localhost, 127.0.0.1 and ::1, and a client certificate, all P-256 with
//! PKCS#8 keys (which grpc-java's Netty needs too).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of PEM files signed by one fresh CA.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    /// Makes a CA named `name` with a server and a client certificate, in a
    /// fresh directory under the test's target directory.
    pub fn new(name: &str) -> Certs {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "certs-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let certs = Certs { dir };
        let subject = format!("/CN={name} test CA");
        certs.new_key(
            &["-x509", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
            &subject,
        );
        certs.issue(
            "server",
            "/CN=localhost",
            "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n",
        );
        certs.issue(
            "client",
            &format!("/CN={name} client"),
            "extendedKeyUsage=clientAuth\n",
        );
        certs
    }

    /// `NAME.pem` and `NAME.key`, signed by this CA.
    fn issue(&self, name: &str, subject: &str, extensions: &str) {
        let ext = format!("{name}.ext");
        std::fs::write(self.dir.join(&ext), extensions).unwrap();
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        self.new_key(&["-keyout", &key, "-out", &csr], subject);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &pem,
        ]);
    }

    /// `openssl req` making a new P-256 key (PKCS#8, unencrypted) for
    /// `subject`, with `args` saying where it goes and what is made.
    fn new_key(&self, args: &[&str], subject: &str) {
        let new_key = [
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        self.openssl(&[&new_key, args, &["-subj", subject]].concat());
    }

    fn openssl(&self, args: &[&str]) {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("openssl runs (scripts/setup-debian.sh installs it)");
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The path of one of the files: ca.pem, server.pem, server.key,
    /// client.pem, client.key.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// The path as a string, for command lines.
    pub fn arg(&self, file: &str) -> String {
        self.path(file).to_str().unwrap().to_owned()
    }
}

/// Private keys do not outlive the test that made them.
impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
