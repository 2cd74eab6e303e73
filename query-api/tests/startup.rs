//! The start-up log line shows the settings, and no secret among them; a
//! service without the token key set's settings does not start.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const DB_PASSWORD: &str = "a-database-password-never-logged";

#[test]
fn the_start_up_log_line_shows_no_secret() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_query-api"))
        // Nothing listens on port 1: the service keeps retrying, and the test
        // ends it once the line is read.
        .env(
            "QSR_JWT_JWKS_URL",
            "http://127.0.0.1:1/.well-known/jwks.json",
        )
        .env("QSR_JWT_ISSUER", "https://issuer.startup-test.invalid")
        .env("QSR_JWT_AUDIENCE", "qsr")
        .env(
            "DATABASE_URL",
            format!("postgres://qsr:{DB_PASSWORD}@127.0.0.1:1/qsr"),
        )
        .env("QSR_QUERY_API_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let starting = loop {
        match received.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.contains("\"starting\"") => break Some(line),
            Ok(line) => seen.push(line),
            Err(_) => break None,
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let line = starting.unwrap_or_else(|| panic!("no start-up line in {seen:#?}"));
    assert!(
        line.contains("127.0.0.1:1/qsr"),
        "the settings are not shown: {line}"
    );
    assert!(
        line.contains("issuer.startup-test.invalid"),
        "the token settings are not shown: {line}"
    );
    assert!(
        !line.contains(DB_PASSWORD),
        "the database password was logged: {line}"
    );
}

#[test]
fn without_the_token_key_set_it_does_not_start_and_says_what_is_missing() {
    let output = Command::new(env!("CARGO_BIN_EXE_query-api"))
        .env_remove("QSR_JWT_JWKS_URL")
        .env_remove("QSR_JWT_ISSUER")
        .env_remove("QSR_JWT_AUDIENCE")
        .env("QSR_JWT_AUDIENCE", "qsr")
        .env("QSR_QUERY_API_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // What is missing comes before the usage line, which names every flag.
    let (missing, _) = stderr.split_once("Usage:").unwrap();
    for flag in ["--jwt-jwks-url", "--jwt-issuer"] {
        assert!(missing.contains(flag), "{flag} not named: {stderr}");
    }
    assert!(!missing.contains("--jwt-audience"), "{stderr}");
}
