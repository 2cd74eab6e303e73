//! The test SMTP sink (`make test` starts it with the infrastructure): where
//! it listens (`QSR_TEST_SMTP_URL`, default the local stack's
//! `smtp://127.0.0.1:2525`) and the Maildir it writes each message to
//! (`QSR_TEST_MAIL_DIR`, default `.stack/mail`; a file per message under
//! `new/`). Tests find their mail by recipient and subject, polling until a
//! deadline; recipients are unique per test.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The sink's address.
pub fn smtp_url() -> String {
    std::env::var("QSR_TEST_SMTP_URL").unwrap_or_else(|_| "smtp://127.0.0.1:2525".to_owned())
}

fn mail_dir() -> PathBuf {
    let dir = std::env::var_os("QSR_TEST_MAIL_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.stack/mail")),
        PathBuf::from,
    );
    dir.join("new")
}

/// A received mail: its headers and its decoded body.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: String,
    pub body: String,
}

impl Received {
    fn parse(raw: &str) -> Received {
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let quoted = headers
            .to_ascii_lowercase()
            .contains("content-transfer-encoding: quoted-printable");
        Received {
            headers: headers.to_owned(),
            body: if quoted {
                decode_quoted_printable(body)
            } else {
                body.to_owned()
            },
        }
    }

    /// The value of header `name` (the first line of it).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers
            .lines()
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_owned())
    }

    /// The token of the body's link to `path` (`/verify-email`, …).
    pub fn token(&self, path: &str) -> String {
        let marker = format!("{path}?token=");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {marker} link in {}", self.body))
            + marker.len();
        self.body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

/// RFC 2045 quoted-printable: soft line breaks and `=XX` bytes.
fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mails to `recipient` whose subject holds `subject`, as the sink has
/// them now.
pub fn find(recipient: &str, subject: &str) -> Vec<Received> {
    let Ok(entries) = std::fs::read_dir(mail_dir()) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .map(|raw| Received::parse(&raw))
        .filter(|mail| {
            mail.header("to").is_some_and(|to| {
                to.to_ascii_lowercase()
                    .contains(&recipient.to_ascii_lowercase())
            }) && mail.header("subject").is_some_and(|s| s.contains(subject))
        })
        .collect()
}

/// The mail to `recipient` whose subject holds `subject`, waiting for it up
/// to 20 seconds.
pub async fn wait_for(recipient: &str, subject: &str) -> Received {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(mail) = find(recipient, subject).pop() {
            return mail;
        }
        assert!(
            Instant::now() < deadline,
            "no mail {subject:?} to {recipient} in {}",
            mail_dir().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
