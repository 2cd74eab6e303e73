//! The settings file: the stores and their sinks come from a TOML file, whose
//! values the environment can override (for secrets, mostly); the process's
//! own settings are flags (`cli.rs`):
//!
//! - `QSR_BRIDGE_COMMAND_API_URL`, `QSR_BRIDGE_TOKEN_URL`, `QSR_BRIDGE_DEAD_LETTER_TOPIC`,
//!   `QSR_BRIDGE_MAX_ATTEMPTS`, `QSR_BRIDGE_BACKOFF_INITIAL_MS`,
//!   `QSR_BRIDGE_BACKOFF_MAX_MS`, `QSR_BRIDGE_PRINTER_TIMEOUT_MS`,
//!   `QSR_BRIDGE_WEBHOOK_TIMEOUT_MS`;
//! - per store, with its id upper-cased and `-` as `_`:
//!   `QSR_BRIDGE_STORE_<ID>_POS_CLIENT_ID`, `_POS_CLIENT_SECRET`,
//!   `_FEEDBACK_SECRET`, `_PREP_MINUTES`,
//!   `_AUTO_ACCEPT`, `_PRINTERS` (comma-separated `host:port`s), and
//!   `_KDS_<n>_SECRET` for its n-th webhook (from 0).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// A secret: never shown by `Debug`, so it never reaches a log.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The settings file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where command-api is, for auto-accept and feedback.
    pub command_api_url: String,
    /// The identity service's token endpoint, where each store's POS client
    /// credential gets `pos` tokens (e.g. `http://127.0.0.1:8084/v1/auth/token`);
    /// needed when a store has a `pos_client`.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Where tickets go after `max_attempts` failed attempts.
    #[serde(default = "default_dead_letter_topic")]
    pub dead_letter_topic: String,
    /// Attempts at a ticket before it is dead-lettered.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The pause after the first failed attempt; it doubles, with jitter.
    #[serde(default = "default_backoff_initial_ms")]
    pub backoff_initial_ms: u64,
    /// The longest pause between attempts.
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
    /// To connect to a printer, and again to write a ticket to it.
    #[serde(default = "default_printer_timeout_ms")]
    pub printer_timeout_ms: u64,
    /// For a whole webhook or command-api request.
    #[serde(default = "default_webhook_timeout_ms")]
    pub webhook_timeout_ms: u64,
    /// How old a signed feedback request may be (against replayed requests).
    #[serde(default = "default_signature_tolerance_secs")]
    pub signature_tolerance_secs: u64,
    /// Days a delivered, dead-lettered or dropped ticket is kept (for replay)
    /// before it is deleted.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// By store id.
    #[serde(default)]
    pub stores: BTreeMap<String, StoreSettings>,
}

/// One store's kitchen.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// The store's IANA time zone for printed times until its profile is read
    /// from `qsr.stores` (which wins when it is); UTC without either.
    #[serde(default)]
    pub timezone: Option<String>,
    /// How long before pickup a scheduled order's ticket is fired.
    #[serde(default)]
    pub prep_minutes: u32,
    /// Accept each placed order through command-api at once.
    #[serde(default)]
    pub auto_accept: bool,
    /// The store's POS client credential (issued by an admin with
    /// `POST /v1/stores/{id}/pos-clients`): the bridge gets its `pos` tokens
    /// for command-api with it, from `token_url`.
    #[serde(default)]
    pub pos_client: Option<PosClient>,
    /// Signs POS stock updates and KDS callbacks (besides the webhooks' own secrets).
    #[serde(default)]
    pub feedback_secret: Option<Secret>,
    /// ESC/POS printers, as `host:port` (raw TCP, usually port 9100).
    #[serde(default)]
    pub printers: Vec<String>,
    /// Kitchen display webhooks.
    #[serde(default)]
    pub kds: Vec<KdsSettings>,
}

/// A client credential of the OAuth 2.0 client-credentials grant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosClient {
    pub id: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdsSettings {
    pub url: String,
    /// Signs each webhook (HMAC-SHA256) and verifies the display's callbacks.
    pub secret: Secret,
}

fn default_dead_letter_topic() -> String {
    "qsr.pos-bridge.dead-letter".into()
}
fn default_max_attempts() -> u32 {
    20
}
fn default_backoff_initial_ms() -> u64 {
    200
}
fn default_backoff_max_ms() -> u64 {
    30_000
}
fn default_printer_timeout_ms() -> u64 {
    3_000
}
fn default_webhook_timeout_ms() -> u64 {
    5_000
}
fn default_signature_tolerance_secs() -> u64 {
    300
}
fn default_retention_days() -> u32 {
    30
}

impl Settings {
    /// Settings with every default and no stores yet.
    pub fn new(command_api_url: impl Into<String>) -> Settings {
        Settings {
            command_api_url: command_api_url.into(),
            token_url: None,
            dead_letter_topic: default_dead_letter_topic(),
            max_attempts: default_max_attempts(),
            backoff_initial_ms: default_backoff_initial_ms(),
            backoff_max_ms: default_backoff_max_ms(),
            printer_timeout_ms: default_printer_timeout_ms(),
            webhook_timeout_ms: default_webhook_timeout_ms(),
            signature_tolerance_secs: default_signature_tolerance_secs(),
            retention_days: default_retention_days(),
            stores: BTreeMap::new(),
        }
    }

    /// Reads and checks the file, then applies the environment's overrides.
    pub fn load(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the settings file {}", path.display()))?;
        let settings = Settings::parse(&text, |name| std::env::var(name).ok())
            .with_context(|| format!("in the settings file {}", path.display()))?;
        Ok(settings)
    }

    /// Parses `text`, applies overrides from `env`, and validates the result.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let mut settings: Settings = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        settings.apply_env(env)?;
        settings.validate()?;
        Ok(settings)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn number<T: std::str::FromStr>(name: &str, value: String) -> anyhow::Result<T> {
            value
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{name}={value:?} is not a valid number"))
        }
        let var = |suffix: &str| {
            let name = format!("QSR_BRIDGE_{suffix}");
            env(&name).map(|v| (name, v))
        };
        if let Some((_, v)) = var("COMMAND_API_URL") {
            self.command_api_url = v;
        }
        if let Some((_, v)) = var("TOKEN_URL") {
            self.token_url = Some(v);
        }
        if let Some((_, v)) = var("DEAD_LETTER_TOPIC") {
            self.dead_letter_topic = v;
        }
        if let Some((n, v)) = var("MAX_ATTEMPTS") {
            self.max_attempts = number(&n, v)?;
        }
        if let Some((n, v)) = var("BACKOFF_INITIAL_MS") {
            self.backoff_initial_ms = number(&n, v)?;
        }
        if let Some((n, v)) = var("BACKOFF_MAX_MS") {
            self.backoff_max_ms = number(&n, v)?;
        }
        if let Some((n, v)) = var("PRINTER_TIMEOUT_MS") {
            self.printer_timeout_ms = number(&n, v)?;
        }
        if let Some((n, v)) = var("WEBHOOK_TIMEOUT_MS") {
            self.webhook_timeout_ms = number(&n, v)?;
        }
        for (id, store) in &mut self.stores {
            let prefix = format!("STORE_{}_", id.to_uppercase().replace('-', "_"));
            let var = |suffix: &str| var(&format!("{prefix}{suffix}"));
            match (
                var("POS_CLIENT_ID"),
                var("POS_CLIENT_SECRET"),
                &mut store.pos_client,
            ) {
                (None, None, _) => {}
                (id, secret, Some(client)) => {
                    if let Some((_, v)) = id {
                        client.id = v;
                    }
                    if let Some((_, v)) = secret {
                        client.secret = Secret(v);
                    }
                }
                (Some((_, id)), Some((_, secret)), None) => {
                    store.pos_client = Some(PosClient {
                        id,
                        secret: Secret(secret),
                    });
                }
                (Some((name, _)), None, None) | (None, Some((name, _)), None) => {
                    bail!("{name} is set without its pair (_POS_CLIENT_ID and _POS_CLIENT_SECRET)")
                }
            }
            if let Some((_, v)) = var("FEEDBACK_SECRET") {
                store.feedback_secret = Some(Secret(v));
            }
            if let Some((n, v)) = var("PREP_MINUTES") {
                store.prep_minutes = number(&n, v)?;
            }
            if let Some((n, v)) = var("AUTO_ACCEPT") {
                store.auto_accept = match v.trim() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => bail!("{n}={v:?} is not true or false"),
                };
            }
            if let Some((_, v)) = var("PRINTERS") {
                store.printers = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            for (n, kds) in store.kds.iter_mut().enumerate() {
                if let Some((_, v)) = var(&format!("KDS_{n}_SECRET")) {
                    kds.secret = Secret(v);
                }
            }
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        let url = reqwest::Url::parse(&self.command_api_url)
            .map_err(|e| anyhow::anyhow!("command_api_url {:?}: {e}", self.command_api_url))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("command_api_url must be an http or https URL");
        }
        if let Some(token_url) = &self.token_url {
            let url = reqwest::Url::parse(token_url)
                .map_err(|e| anyhow::anyhow!("token_url {token_url:?}: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                bail!("token_url must be an http or https URL");
            }
        }
        if self.dead_letter_topic.trim().is_empty() {
            bail!("dead_letter_topic must not be empty");
        }
        if self.max_attempts == 0 {
            bail!("max_attempts must be at least 1");
        }
        if self.backoff_initial_ms == 0 || self.backoff_initial_ms > self.backoff_max_ms {
            bail!("backoff_initial_ms must be at least 1 and at most backoff_max_ms");
        }
        if self.retention_days == 0 {
            bail!("retention_days must be at least 1");
        }
        if self.printer_timeout_ms == 0 || self.webhook_timeout_ms == 0 {
            bail!("printer_timeout_ms and webhook_timeout_ms must be at least 1");
        }
        for (id, store) in &self.stores {
            let valid_id = !id.is_empty()
                && id.len() <= 64
                && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid_id {
                bail!("stores.{id}: a store id is lower-case letters, digits and `-`");
            }
            if let Some(tz) = &store.timezone
                && tz.parse::<chrono_tz::Tz>().is_err()
            {
                bail!("stores.{id}.timezone {tz:?} is not an IANA time zone");
            }
            if store.prep_minutes > 24 * 60 {
                bail!("stores.{id}.prep_minutes must be at most a day (1440)");
            }
            if store.auto_accept && store.pos_client.is_none() {
                bail!(
                    "stores.{id}: auto_accept needs a pos_client (or QSR_BRIDGE_STORE_{}_POS_CLIENT_ID and _SECRET)",
                    id.to_uppercase().replace('-', "_")
                );
            }
            if store.pos_client.is_some() && self.token_url.is_none() {
                bail!("stores.{id}.pos_client needs token_url (or QSR_BRIDGE_TOKEN_URL)");
            }
            for printer in &store.printers {
                let port = printer
                    .rsplit_once(':')
                    .map(|(host, port)| (host, port.parse::<u16>()));
                if !matches!(port, Some((host, Ok(_))) if !host.is_empty()) {
                    bail!("stores.{id}.printers: {printer:?} is not host:port");
                }
            }
            for (n, kds) in store.kds.iter().enumerate() {
                let url = reqwest::Url::parse(&kds.url)
                    .map_err(|e| anyhow::anyhow!("stores.{id}.kds[{n}].url {:?}: {e}", kds.url))?;
                if !matches!(url.scheme(), "http" | "https") {
                    bail!("stores.{id}.kds[{n}].url must be an http or https URL");
                }
                if kds.secret.0.len() < 16 {
                    bail!("stores.{id}.kds[{n}].secret must be at least 16 characters");
                }
            }
            if let Some(secret) = &store.feedback_secret
                && secret.0.len() < 16
            {
                bail!("stores.{id}.feedback_secret must be at least 16 characters");
            }
        }
        Ok(())
    }

    pub fn printer_timeout(&self) -> Duration {
        Duration::from_millis(self.printer_timeout_ms)
    }

    pub fn webhook_timeout(&self) -> Duration {
        Duration::from_millis(self.webhook_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        command_api_url = "http://127.0.0.1:8080"
        token_url = "http://127.0.0.1:8084/v1/auth/token"
        max_attempts = 5

        [stores.downtown-42]
        prep_minutes = 12
        auto_accept = true
        pos_client = { id = "0b9f3c1e-client", secret = "from-the-file" }
        printers = ["10.0.0.5:9100"]
        kds = [{ url = "http://kds.local/hook", secret = "sixteen-chars-at-least" }]
    "#;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn reads_a_file_with_defaults_for_what_it_leaves_out() {
        let s = Settings::parse(FILE, no_env).unwrap();
        assert_eq!(s.max_attempts, 5);
        assert_eq!(s.dead_letter_topic, "qsr.pos-bridge.dead-letter");
        let store = &s.stores["downtown-42"];
        assert_eq!(store.prep_minutes, 12);
        assert!(store.auto_accept);
        assert_eq!(store.printers, ["10.0.0.5:9100"]);
        assert_eq!(store.kds[0].secret.expose(), "sixteen-chars-at-least");
        let shown = format!("{s:?}");
        for secret in ["from-the-file", "sixteen-chars-at-least"] {
            assert!(!shown.contains(secret), "{secret} was shown: {shown}");
        }
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let env = |name: &str| match name {
            "QSR_BRIDGE_MAX_ATTEMPTS" => Some("9".to_owned()),
            "QSR_BRIDGE_STORE_DOWNTOWN_42_POS_CLIENT_SECRET" => Some("from-env".to_owned()),
            "QSR_BRIDGE_STORE_DOWNTOWN_42_PRINTERS" => Some("a:1, b:2".to_owned()),
            "QSR_BRIDGE_STORE_DOWNTOWN_42_KDS_0_SECRET" => Some("another-long-secret".to_owned()),
            "QSR_BRIDGE_STORE_DOWNTOWN_42_FEEDBACK_SECRET" => Some("a-feedback-secret".to_owned()),
            _ => None,
        };
        let s = Settings::parse(FILE, env).unwrap();
        assert_eq!(s.max_attempts, 9);
        let store = &s.stores["downtown-42"];
        let client = store.pos_client.as_ref().unwrap();
        assert_eq!(client.secret.expose(), "from-env");
        assert_eq!(
            client.id, "0b9f3c1e-client",
            "the file's id, with the env's secret"
        );
        assert_eq!(store.printers, ["a:1", "b:2"]);
        assert_eq!(store.kds[0].secret.expose(), "another-long-secret");
        assert_eq!(
            store.feedback_secret.as_ref().unwrap().expose(),
            "a-feedback-secret"
        );
        let shown = format!("{s:?} {s:#?}");
        for secret in ["from-env", "another-long-secret", "a-feedback-secret"] {
            assert!(!shown.contains(secret), "{secret} was shown: {shown}");
        }
    }

    #[test]
    fn the_demo_settings_files_are_valid() {
        let client = |name: &str| match name {
            "QSR_BRIDGE_STORE_DEMO_DOWNTOWN_POS_CLIENT_ID" => Some("issued-id".to_owned()),
            "QSR_BRIDGE_STORE_DEMO_DOWNTOWN_POS_CLIENT_SECRET" => Some("issued".to_owned()),
            "QSR_BRIDGE_TOKEN_URL" => Some("http://127.0.0.1:8084/v1/auth/token".to_owned()),
            _ => None,
        };
        let local = include_str!("../../stack/demo/pos-bridge.toml");
        let s = Settings::parse(local, client).unwrap();
        let demo = &s.stores["demo-downtown"];
        let pos_client = demo.pos_client.as_ref().unwrap();
        assert_eq!(
            (pos_client.id.as_str(), pos_client.secret.expose()),
            ("issued-id", "issued")
        );
        assert_eq!(demo.printers, ["127.0.0.1:9100"]);
        assert!(Settings::parse(local, no_env).is_ok());
        let compose = include_str!("../../stack/demo/pos-bridge.compose.toml");
        let s = Settings::parse(compose, no_env).unwrap();
        assert_eq!(s.stores["demo-downtown"].printers, ["print-sink:9100"]);
    }

    #[test]
    fn a_bad_file_says_where_and_what() {
        let cases = [
            ("command_api_url = 3", "command_api_url"),
            ("command_api_url = \"http://x\"\nsurprise = 1", "surprise"),
            (
                "command_api_url = \"http://x\"\n[stores.s]\nprinters = [\"nohost\"]",
                "stores.s.printers",
            ),
            (
                "command_api_url = \"http://x\"\n[stores.s]\nauto_accept = true",
                "needs a pos_client",
            ),
            (
                "command_api_url = \"http://x\"\n[stores.s]\npos_client = { id = \"a\", secret = \"b\" }",
                "needs token_url",
            ),
            (
                "command_api_url = \"http://x\"\n[stores.Bad_Id]\n",
                "a store id is",
            ),
            (
                "command_api_url = \"http://x\"\nmax_attempts = 0",
                "max_attempts",
            ),
            (
                "command_api_url = \"http://x\"\n[stores.s]\ntimezone = \"Mars/Olympus\"",
                "stores.s.timezone",
            ),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", Settings::parse(text, no_env).unwrap_err());
            assert!(error.contains(expected), "{text:?} gave {error}");
        }
        let env = |name: &str| (name == "QSR_BRIDGE_MAX_ATTEMPTS").then(|| "many".to_owned());
        let error = Settings::parse("command_api_url = \"http://x\"", env).unwrap_err();
        assert!(error.to_string().contains("QSR_BRIDGE_MAX_ATTEMPTS"));
    }
}
