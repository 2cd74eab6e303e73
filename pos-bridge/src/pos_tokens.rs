//! The bridge's `pos` tokens: short-lived access tokens the identity service
//! issues to each store's POS client credential through the OAuth 2.0
//! client-credentials grant (RFC 6749 §4.4), for the bridge's calls to
//! command-api (auto-accept, and the kitchen's feedback).
//!
//! A token is fetched when first needed and kept until three quarters of its
//! life have passed; the next call then fetches a new one, so a token is
//! never sent close to its expiry. Concurrent calls for one store wait for one
//! fetch. A token command-api refused (`401`: the identity service rotated
//! its keys past it, say) is forgotten, so the next attempt fetches another.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{Secret, Settings};

/// The part of a token's life after which it is renewed before use.
const RENEW_AFTER: f64 = 0.75;

/// Why no token could be had; every one is worth another try later.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the bridge has no POS client credential for store {0}")]
    NoCredential(String),
    #[error("the token endpoint {url} could not be reached: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("the token endpoint {url} answered {status}: {body}")]
    Refused {
        url: String,
        status: StatusCode,
        body: String,
    },
}

/// Each store's credential and its current token.
#[derive(Debug)]
pub struct PosTokens {
    http: reqwest::Client,
    /// The identity service's token endpoint, e.g.
    /// `http://127.0.0.1:8084/v1/auth/token`.
    url: String,
    clients: BTreeMap<String, Client>,
}

#[derive(Debug)]
struct Client {
    id: String,
    secret: Secret,
    current: Mutex<Option<Current>>,
}

#[derive(Debug)]
struct Current {
    token: Secret,
    renew_at: Instant,
}

/// When a token fetched at `fetched_at` that lives `expires_in` seconds is
/// renewed: after three quarters of its life.
fn renew_at(fetched_at: Instant, expires_in: u64) -> Instant {
    fetched_at + Duration::from_secs(expires_in).mul_f64(RENEW_AFTER)
}

/// RFC 6749 §5.1's answer (the fields used).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

impl PosTokens {
    /// The credentials of the stores of `settings` that have one.
    pub fn new(http: reqwest::Client, settings: &Settings) -> PosTokens {
        let clients = settings
            .stores
            .iter()
            .filter_map(|(store, s)| {
                let client = s.pos_client.as_ref()?;
                Some((
                    store.clone(),
                    Client {
                        id: client.id.clone(),
                        secret: client.secret.clone(),
                        current: Mutex::new(None),
                    },
                ))
            })
            .collect();
        PosTokens {
            http,
            url: settings.token_url.clone().unwrap_or_default(),
            clients,
        }
    }

    /// A `pos` token of `store`, fetched if there is none or it is due for
    /// renewal.
    pub async fn token(&self, store: &str) -> Result<Secret, TokenError> {
        let client = self
            .clients
            .get(store)
            .ok_or_else(|| TokenError::NoCredential(store.to_owned()))?;
        let mut current = client.current.lock().await;
        if let Some(c) = current.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let fetched_at = Instant::now();
        let answer = self.fetch(client).await?;
        tracing::info!(store, expires_in = answer.expires_in, "got a pos token");
        let token = Secret::new(answer.access_token);
        *current = Some(Current {
            token: token.clone(),
            renew_at: renew_at(fetched_at, answer.expires_in),
        });
        Ok(token)
    }

    /// Forgets `token` of `store` after command-api refused it, unless a
    /// newer one replaced it already.
    pub async fn refused(&self, store: &str, token: &Secret) {
        let Some(client) = self.clients.get(store) else {
            return;
        };
        let mut current = client.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|c| c.token.expose() == token.expose())
        {
            tracing::warn!(store, "command-api refused the pos token; fetching another");
            *current = None;
        }
    }

    async fn fetch(&self, client: &Client) -> Result<TokenAnswer, TokenError> {
        let unreachable = |source| TokenError::Unreachable {
            url: self.url.clone(),
            source,
        };
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&client.id, Some(client.secret.expose()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(TokenError::Refused {
                url: self.url.clone(),
                status,
                body: body.chars().take(300).collect(),
            });
        }
        response.json().await.map_err(unreachable)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::routing::post;

    use super::*;
    use crate::config::{PosClient, StoreSettings};

    /// A token endpoint that counts its calls and answers `t<n>` for 600 s
    /// to the client `c1` with secret `s1`.
    async fn endpoint() -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let app = Router::new().route(
            "/token",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    // "c1:s1" in Basic, and the grant in the form.
                    let basic = headers["authorization"].to_str().unwrap().to_owned();
                    assert_eq!(basic, "Basic YzE6czE=");
                    assert_eq!(body, "grant_type=client_credentials");
                    axum::Json(serde_json::json!({
                        "access_token": format!("t{n}"), "token_type": "Bearer", "expires_in": 600
                    }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, calls)
    }

    fn tokens(url: &str) -> PosTokens {
        let mut settings = Settings::new("http://127.0.0.1:1");
        settings.token_url = Some(url.to_owned());
        let store: StoreSettings = toml::from_str("").unwrap();
        settings.stores.insert(
            "s-1".into(),
            StoreSettings {
                pos_client: Some(PosClient {
                    id: "c1".into(),
                    secret: Secret::new("s1"),
                }),
                ..store
            },
        );
        PosTokens::new(reqwest::Client::new(), &settings)
    }

    #[tokio::test]
    async fn a_token_is_kept_renewed_before_it_expires_and_dropped_when_refused() {
        let (url, calls) = endpoint().await;
        let tokens = tokens(&url);
        let first = tokens.token("s-1").await.unwrap();
        assert_eq!(first.expose(), "t1");
        assert_eq!(tokens.token("s-1").await.unwrap().expose(), "t1");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "kept, not fetched again");

        // Three quarters of its life on (450 of 600 s), it is renewed.
        let due = {
            let current = tokens.clients["s-1"].current.lock().await;
            current.as_ref().unwrap().renew_at
        };
        let fetched = due - Duration::from_secs(450);
        assert!(
            fetched.elapsed() < Duration::from_secs(5),
            "renewed at 3/4 of 600 s"
        );
        tokens.clients["s-1"]
            .current
            .lock()
            .await
            .as_mut()
            .unwrap()
            .renew_at = Instant::now();
        assert_eq!(tokens.token("s-1").await.unwrap().expose(), "t2");

        // A token command-api refused is dropped; an older one is no reason
        // to drop the newer.
        tokens.refused("s-1", &first).await;
        assert_eq!(tokens.token("s-1").await.unwrap().expose(), "t2");
        tokens.refused("s-1", &Secret::new("t2")).await;
        assert_eq!(tokens.token("s-1").await.unwrap().expose(), "t3");
        assert!(matches!(
            tokens.token("another").await,
            Err(TokenError::NoCredential(_))
        ));
    }
}
