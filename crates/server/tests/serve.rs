//! `safegrid serve` as an operator runs it: started as a process, stopped with SIGTERM (what
//! systemd, Docker and Kubernetes send).
#![forbid(unsafe_code)]
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// SIGTERM ends the server cleanly: exit status 0, and the SQLite write-ahead log folded into
/// the database file, so the next start does not inherit it.
#[test]
fn sigterm_stops_the_server_and_folds_the_write_ahead_log() {
    let (dir, mut child, addr) = serve();
    // A request answered means the database is open (and its log exists) before the stop.
    let health = TcpStream::connect(&addr).and_then(|mut s| {
        write!(
            s,
            "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer)
    });
    let health = health.unwrap();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        dir.join("db.sqlite-wal").exists(),
        "SQLite runs in WAL mode"
    );

    let (status, _) = terminate(&mut child);
    assert!(status.success(), "exit status {status:?}");
    assert!(dir.join("db.sqlite").exists());
    assert!(
        !dir.join("db.sqlite-wal").exists(),
        "closing the database folds and removes the write-ahead log"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A request that never finishes (a client that stopped sending its body) does not keep the
/// server from stopping: it waits the grace period (10 s), then closes the database anyway.
#[test]
fn a_stalled_request_does_not_hold_the_stop_past_the_grace_period() {
    let (dir, mut child, addr) = serve();
    let mut stalled = TcpStream::connect(&addr).unwrap();
    write!(
        stalled,
        "POST /api/v1/cases HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100000\r\n\r\n{{\"description\": \""
    )
    .unwrap();
    stalled.flush().unwrap();
    // Let the server start reading the request before the stop.
    std::thread::sleep(Duration::from_millis(300));

    let (status, took) = terminate(&mut child);
    assert!(status.success(), "exit status {status:?}");
    assert!(
        took < Duration::from_secs(25),
        "stopped {took:?} after SIGTERM"
    );
    assert!(
        !dir.join("db.sqlite-wal").exists(),
        "the database was closed although a request was still open"
    );
    drop(stalled);
    std::fs::remove_dir_all(&dir).ok();
}

/// Each line logged while a request is served carries the request's id (its span), so a
/// complaint quoting the id from an error answer is found in the log.
#[test]
fn the_log_lines_of_a_request_carry_its_id() {
    let (dir, mut child, addr) = serve_with(|cmd| {
        cmd.env("SAFEGRID_LOG", "info,safegrid::request=debug")
            .stderr(Stdio::piped());
    });
    let answer = TcpStream::connect(&addr).and_then(|mut s| {
        write!(
            s,
            "GET /api/v1/cases?q=13800138000 HTTP/1.1\r\nHost: {addr}\r\nX-Request-Id: complaint-4711\r\n\
             Connection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer)
    });
    let answer = answer.unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: complaint-4711"),
        "{answer}"
    );
    let (status, _) = terminate(&mut child);
    assert!(status.success(), "exit status {status:?}");
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("id=complaint-4711"))
        .collect();
    assert!(
        lines.len() >= 2,
        "the request's start and end are logged in its span: {log}"
    );
    for l in &lines {
        assert!(l.contains("method=GET path=/api/v1/cases"), "{l}");
        // The query string stays out of the log: it may carry a phone number.
        assert!(!l.contains("13800138000"), "{l}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// HTTPS by safegrid itself with a certificate it makes (`tls_self_signed`): `config check` makes
/// and names it, `serve` says https, answers a client trusting only the made authority, and stops
/// on SIGTERM like the plain listener.
#[test]
fn https_with_a_made_certificate_from_config_check_to_sigterm() {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let (dir, mut child, addr) = serve_with(|cmd| {
        cmd.env("SAFEGRID__TLS_SELF_SIGNED", "true")
            .stderr(Stdio::inherit());
    });
    let check = Command::new(env!("CARGO_BIN_EXE_safegrid"))
        .arg("--config")
        .arg(dir.join("serve.toml"))
        .args(["config", "check"])
        .env("SAFEGRID__TLS_SELF_SIGNED", "true")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{printed}");
    assert!(
        printed.contains("# HTTPS: server certificate SHA-256 "),
        "{printed}"
    );
    assert!(printed.contains("tls/ca.pem"), "{printed}");

    let pem = std::fs::read(dir.join("tls/ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(safegrid::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(&addr).unwrap());
    write!(
        tls,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = tls.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let (status, _) = terminate(&mut child);
    assert!(status.success(), "exit status {status:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Starts `safegrid serve` on a new SQLite file in a folder of its own; returns the folder, the
/// process and the address it serves on.
fn serve() -> (PathBuf, Child, String) {
    serve_with(|cmd| {
        cmd.stderr(Stdio::inherit());
    })
}

/// [`serve`] with the command adjusted by `adjust` (environment, where the log goes).
fn serve_with(adjust: impl FnOnce(&mut Command)) -> (PathBuf, Child, String) {
    let dir = std::env::temp_dir().join(format!("safegrid-serve-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "database = \"sqlite://{}\"\nlisten = \"127.0.0.1:0\"\n",
            dir.join("db.sqlite").display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_safegrid"));
    cmd.args(["--config".as_ref(), config.as_os_str(), "serve".as_ref()])
        .stdout(Stdio::piped());
    adjust(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let addr = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.split("serving on ").nth(1)?.split("://").nth(1)?;
            rest.split('/').next().map(str::to_string)
        })
        .expect("the server printed where it serves");
    (dir, child, addr)
}

/// Sends SIGTERM; returns the exit status and how long the process took to end (killed, and
/// the test failed, past 60 s).
fn terminate(child: &mut Child) -> (ExitStatus, Duration) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let asked = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, asked.elapsed());
        }
        if asked.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the server had not stopped 60 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
