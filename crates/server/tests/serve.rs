//! `safegrid serve` as an operator runs it: started as a process, stopped with SIGTERM (what
//! systemd, Docker and Kubernetes send).
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// SIGTERM ends the server cleanly: exit status 0, and the SQLite write-ahead log folded into
/// the database file, so the next start does not inherit it.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_and_folds_the_write_ahead_log() {
    let dir = std::env::temp_dir().join(format!("safegrid-serve-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("db.sqlite");
    let config = dir.join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "database = \"sqlite://{}\"\nlisten = \"127.0.0.1:0\"\n",
            db.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_safegrid"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    for line in stdout.lines().map_while(Result::ok) {
        if let Some(rest) = line.split("serving on http://").nth(1) {
            addr = rest.split('/').next().map(str::to_string);
            break;
        }
    }
    let addr = addr.expect("the server printed where it serves");
    // A request answered means the database is open (and its log exists) before the stop.
    let health = std::net::TcpStream::connect(&addr).and_then(|mut s| {
        use std::io::{Read, Write};
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

    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("the server had not stopped 30 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(db.exists());
    assert!(
        !dir.join("db.sqlite-wal").exists(),
        "closing the database folds and removes the write-ahead log"
    );
    std::fs::remove_dir_all(&dir).ok();
}
