//! Where tickets go: ESC/POS printers over raw TCP, kitchen display webhooks
//! over HTTP, and command-api (for auto-accept). One attempt at a time; the
//! delivery loop owns retries.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::config::{Secret, StoreSettings};
use crate::pos_tokens::PosTokens;
use crate::signing::{SIGNATURE_HEADER, TICKET_HEADER, TIMESTAMP_HEADER, sign};
use crate::ticket::{Ticket, TicketKind};

/// One destination of a store's tickets.
#[derive(Debug, Clone)]
pub struct Sink {
    /// Stable across restarts: `printer:<host:port>`, `kds:<url>`, `command-api`.
    pub name: String,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub enum Target {
    Printer {
        addr: String,
    },
    Kds {
        url: String,
        secret: Secret,
    },
    /// With the `pos` tokens of `store`'s client credential.
    CommandApi {
        base: String,
        store: String,
    },
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt: unreachable, timed out, busy.
    Transient(String),
    /// Another attempt would fail the same way: the ticket goes to the
    /// dead-letter topic at once.
    Permanent(String),
}

impl Failure {
    pub fn reason(&self) -> &str {
        match self {
            Failure::Transient(r) | Failure::Permanent(r) => r,
        }
    }
}

/// What every attempt shares.
#[derive(Debug, Clone)]
pub struct Senders {
    pub http: reqwest::Client,
    pub printer_timeout: Duration,
    pub tokens: Arc<PosTokens>,
}

impl Sink {
    /// A store's sinks, from its settings.
    pub fn of_store(id: &str, store: &StoreSettings, command_api_url: &str) -> Vec<Sink> {
        let mut sinks = Vec::new();
        for addr in &store.printers {
            sinks.push(Sink {
                name: format!("printer:{addr}"),
                target: Target::Printer { addr: addr.clone() },
            });
        }
        for kds in &store.kds {
            sinks.push(Sink {
                name: format!("kds:{}", kds.url),
                target: Target::Kds {
                    url: kds.url.clone(),
                    secret: kds.secret.clone(),
                },
            });
        }
        if store.auto_accept && store.pos_client.is_some() {
            sinks.push(Sink {
                name: "command-api".into(),
                target: Target::CommandApi {
                    base: command_api_url.trim_end_matches('/').to_owned(),
                    store: id.to_owned(),
                },
            });
        }
        sinks
    }

    /// `printer`, `kds` or `command_api`: the metrics' label.
    pub fn kind(&self) -> &'static str {
        match self.target {
            Target::Printer { .. } => "printer",
            Target::Kds { .. } => "kds",
            Target::CommandApi { .. } => "command_api",
        }
    }

    /// Whether tickets of `kind` go to this sink.
    pub fn takes(&self, kind: TicketKind) -> bool {
        match self.target {
            Target::Printer { .. } => matches!(kind, TicketKind::Kitchen | TicketKind::Cancelled),
            Target::Kds { .. } => {
                matches!(
                    kind,
                    TicketKind::Order | TicketKind::Kitchen | TicketKind::Status
                )
            }
            Target::CommandApi { .. } => kind == TicketKind::Accept,
        }
    }

    /// One attempt to hand `ticket` over.
    pub async fn send(&self, senders: &Senders, ticket: &Ticket) -> Result<(), Failure> {
        match &self.target {
            Target::Printer { addr } => print(addr, senders.printer_timeout, &ticket.to_escpos())
                .await
                .map_err(|e| Failure::Transient(format!("printer {addr}: {e:#}"))),
            Target::Kds { url, secret } => post_webhook(&senders.http, url, secret, ticket).await,
            Target::CommandApi { base, store } => accept(senders, base, store, ticket).await,
        }
    }
}

/// Connects, writes the whole ticket and closes, each step under `timeout`.
/// A printer on port 9100 answers nothing: a ticket written and flushed to
/// the socket is as delivered as raw TCP can tell.
async fn print(addr: &str, timeout: Duration, bytes: &[u8]) -> anyhow::Result<()> {
    let mut stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .context("connecting timed out")?
        .context("connecting")?;
    stream.set_nodelay(true).context("setting TCP_NODELAY")?;
    tokio::time::timeout(timeout, async {
        stream.write_all(bytes).await?;
        stream.flush().await?;
        stream.shutdown().await
    })
    .await
    .context("writing timed out")?
    .context("writing")?;
    Ok(())
}

fn classify(status: StatusCode, what: &str) -> Result<(), Failure> {
    if status.is_success() {
        return Ok(());
    }
    let reason = format!("{what} answered {status}");
    if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        Err(Failure::Transient(reason))
    } else {
        Err(Failure::Permanent(reason))
    }
}

/// POSTs the ticket as JSON, signed: `x-qsr-timestamp`, and `x-qsr-signature`
/// over the timestamp and the body; `x-qsr-ticket-id` for deduplication.
async fn post_webhook(
    http: &reqwest::Client,
    url: &str,
    secret: &Secret,
    ticket: &Ticket,
) -> Result<(), Failure> {
    let body = serde_json::to_vec(ticket)
        .map_err(|e| Failure::Permanent(format!("encoding the ticket: {e}")))?;
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(secret.expose(), timestamp, &body);
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TICKET_HEADER, &ticket.ticket_id)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| Failure::Transient(format!("webhook {url}: {e}")))?;
    classify(response.status(), &format!("webhook {url}"))
}

/// Accepts the ticket's order through command-api with the store's `pos`
/// token. An order that moved on already (accepted by staff, cancelled) is
/// `409`: nothing is left to do.
async fn accept(
    senders: &Senders,
    base: &str,
    store: &str,
    ticket: &Ticket,
) -> Result<(), Failure> {
    let token = senders
        .tokens
        .token(store)
        .await
        .map_err(|e| Failure::Transient(format!("{e}")))?;
    let url = format!("{base}/v1/orders/{}/accept", ticket.order_id);
    let response = senders
        .http
        .post(&url)
        .bearer_auth(token.expose())
        .header(
            "idempotency-key",
            format!("pos-bridge-accept-{}", ticket.order_id),
        )
        .json(&serde_json::json!({}))
        .send()
        .await
        .map_err(|e| Failure::Transient(format!("command-api: {e}")))?;
    if response.status() == StatusCode::UNAUTHORIZED {
        // The next attempt fetches another token.
        senders.tokens.refused(store, &token).await;
        return Err(Failure::Transient(
            "command-api refused the pos token".into(),
        ));
    }
    if response.status() == StatusCode::CONFLICT {
        tracing::info!(order_id = %ticket.order_id, "the order had moved on; not accepted");
        return Ok(());
    }
    classify(response.status(), "command-api accept")
}
