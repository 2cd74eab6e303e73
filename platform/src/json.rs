//! The JSON body extractor of commands: every rejection is a problem+json
//! answer, and the request's fingerprint comes with the body.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::Problem;

/// The largest request body any service accepts (`413` beyond it).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON command body and the fingerprint of the request: SHA-256 over its
/// method, path and body bytes, so a retry under the same `Idempotency-Key` is
/// told from a different request. A malformed body, an unknown field (with
/// `#[serde(deny_unknown_fields)]` on the target), a wrong content type or an
/// oversized body answers problem+json.
#[derive(Debug, Clone)]
pub struct JsonRequest<T> {
    pub body: T,
    pub fingerprint: String,
}

impl<S, T> FromRequest<S> for JsonRequest<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // A command without fields may come without a body: it reads as `{}`.
        let empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v == "0")
            || (req.headers().get(header::CONTENT_LENGTH).is_none()
                && req.headers().get(header::TRANSFER_ENCODING).is_none());
        let json = empty
            || req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.split(';')
                        .next()
                        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
                });
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected `Content-Type: application/json`",
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(req.method().as_str());
        hasher.update(b" ");
        hasher.update(req.uri().path());
        hasher.update(b"\n");
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "payload_too_large"
            } else {
                "malformed_body"
            };
            Problem::new(status, code, rejection.body_text())
        })?;
        hasher.update(&bytes);
        let text: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        // Every body is a JSON object; serde would also read a struct from
        // an array of its fields' values in order.
        if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                "the body must be a JSON object",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(text);
        let body = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let at = e.path().to_string();
            let detail = if at == "." {
                e.inner().to_string()
            } else {
                format!("{at}: {}", e.inner())
            };
            Problem::new(StatusCode::BAD_REQUEST, "malformed_body", detail)
        })?;
        de.end()
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "malformed_body", e.to_string()))?;
        Ok(JsonRequest {
            body,
            fingerprint: format!("sha256:{}", hex::encode(hasher.finalize())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AllOptional {
        #[allow(dead_code)]
        name: Option<String>,
    }

    async fn extract(body: &'static str) -> Result<JsonRequest<AllOptional>, Problem> {
        let request = axum::http::Request::builder()
            .method("PATCH")
            .uri("/v1/me")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .body(axum::body::Body::from(body))
            .unwrap();
        JsonRequest::from_request(request, &()).await
    }

    #[tokio::test]
    async fn a_body_is_an_object_never_an_array_of_field_values() {
        assert!(extract("{}").await.is_ok());
        assert!(extract(" {\"name\": \"Ada\"}").await.is_ok());
        assert!(extract("").await.is_ok(), "an empty body reads as {{}}");
        for body in ["[null]", "[\"Ada\"]", "null", "\"Ada\""] {
            let refused = extract(body).await.unwrap_err();
            assert_eq!(
                (refused.status, refused.code),
                (StatusCode::BAD_REQUEST, "malformed_body"),
                "{body}"
            );
        }
    }
}
