//! A test kitchen display: an HTTP server that checks the signature of every
//! webhook (answering 401 to a bad one and counting it), records each ticket
//! with when it came, and can be told to be slow or to fail.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Utc};
use pos_bridge::signing::{SIGNATURE_HEADER, TICKET_HEADER, TIMESTAMP_HEADER, sign, verify};
use serde_json::Value;

use crate::helpers::{KDS_SECRET, PATIENCE, bind};

#[derive(Debug, Clone)]
pub struct Received {
    pub ticket_id: String,
    pub body: Value,
    pub at: DateTime<Utc>,
    /// Which run of the bridge sent it (see `TestKds::next_epoch`), as of
    /// the request's arrival.
    pub epoch: u32,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    bad_signatures: AtomicU32,
    delay_ms: AtomicU64,
    /// 0: answer 200; otherwise this status.
    fail_with: AtomicU16,
    epoch: AtomicU32,
}

#[derive(Clone)]
pub struct TestKds {
    pub url: String,
    shared: Arc<Shared>,
}

async fn hook(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verified = verify(
        &[KDS_SECRET],
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        Utc::now().timestamp(),
        60,
    );
    if verified.is_err() {
        shared.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    // Read on arrival, not after the delay: a request of a bridge that is
    // killed during the delay still belongs to that bridge's run.
    let epoch = shared.epoch.load(Ordering::SeqCst);
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let fail = shared.fail_with.load(Ordering::SeqCst);
    if fail != 0 {
        return StatusCode::from_u16(fail).unwrap();
    }
    let body: Value = serde_json::from_slice(&body).unwrap();
    let ticket_id = header(TICKET_HEADER).unwrap_or_default().to_owned();
    assert_eq!(
        body["ticket_id"],
        ticket_id.as_str(),
        "the header names the body's ticket"
    );
    shared.received.lock().unwrap().push(Received {
        ticket_id,
        body,
        at: Utc::now(),
        epoch,
    });
    StatusCode::OK
}

impl TestKds {
    pub async fn start() -> TestKds {
        let listener = bind().await;
        let addr: SocketAddr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestKds {
            url: format!("http://{addr}/hook"),
            shared,
        }
    }

    pub fn set_delay(&self, delay: Duration) {
        self.shared
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn fail_with(&self, status: u16) {
        self.shared.fail_with.store(status, Ordering::SeqCst);
    }

    pub fn next_epoch(&self) {
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
    }

    pub fn bad_signatures(&self) -> u32 {
        self.shared.bad_signatures.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits for a ticket with this id.
    pub async fn wait_for(&self, ticket_id: &str) -> Received {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(r) = self
                .received()
                .into_iter()
                .find(|r| r.ticket_id == ticket_id)
            {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the display never got {ticket_id}; it has {:?}",
                self.received()
                    .iter()
                    .map(|r| &r.ticket_id)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Headers of a request signed with `secret` now.
pub fn signed(secret: &str, body: &[u8]) -> [(&'static str, String); 2] {
    let now = Utc::now().timestamp();
    [
        (TIMESTAMP_HEADER, now.to_string()),
        (SIGNATURE_HEADER, sign(secret, now, body)),
    ]
}
