//! `ccore/build.py` as users meet it: two builds started at once on one
//! cache (say `scripts/serve.sh` in one terminal and the README's client
//! build in another while C-core still compiles).

mod common;

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use common::PATIENCE;

#[test]
fn a_second_build_on_the_same_cache_waits_for_the_first_and_says_so() {
    let cache =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ccore-lock-{}", std::process::id()));
    let _ = fs::remove_dir_all(&cache);
    let version = env!("YES_GRPC_PINNED_CCORE");
    let lock_path = cache.join("ccore").join(format!("{version}.lock"));
    fs::create_dir_all(lock_path.parent().unwrap()).unwrap();

    // The first build: holds the lock and says who it is, as build.py does.
    let mut lock = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&lock_path)
        .unwrap();
    writeln!(lock, "pid 4242, started 12:00:00").unwrap();
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);

    let mut second = Command::new("python3")
        .arg("ccore/build.py")
        .env("YES_GRPC_CACHE", &cache)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let stderr = BufReader::new(second.stderr.take().unwrap());
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let said = lines
        .recv_timeout(PATIENCE)
        .expect("the second build says something");
    assert_eq!(
        said,
        format!(
            "ccore: another build of C-core {version} is running on this cache \
             (pid 4242, started 12:00:00); waiting for it to finish"
        )
    );
    // It waits: nothing fetched, nothing unpacked, still running.
    assert!(!cache.join("downloads").exists());
    assert!(!cache.join("ccore").join(version).join("src").exists());
    assert!(second.try_wait().unwrap().is_none());

    second.kill().unwrap();
    second.wait().unwrap();
    drop(lock);
    fs::remove_dir_all(&cache).unwrap();
}
