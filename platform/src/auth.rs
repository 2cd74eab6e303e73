//! Bearer tokens: JWTs with `sub`, `role`, `stores` and `exp`, as API.md
//! describes. `401` without a valid token, `403` outside the role or stores.
//!
//! Only ES256 tokens signed by a key the identity service publishes, with its
//! issuer and this service's audience, are accepted (see [`crate::jwks`]).
//! There is no shared secret and no way to mint a token here: the private
//! keys live only in the identity service (and, for tests, in testkit's test
//! issuer), so a service's settings cannot be used to forge one.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::Problem;
use crate::jwks::{JwksError, JwksSettings, JwksVerifier, MIN_REFRESH};
use crate::startup::retry_at_start;
use crate::verified::{self, Verified};

/// Where a service finds the keys of the tokens it accepts. All three are
/// required: a service without them refuses to start, rather than accept
/// tokens it cannot check or fall back to a weaker check.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthArgs {
    /// Address of the identity service's key set (its
    /// `/.well-known/jwks.json`). Only ES256 tokens signed by a key of that
    /// set are accepted. The set is fetched at start (retried for a while)
    /// and again when a token names an unknown `kid`, at most once per 5 s.
    /// `http` only (no TLS client is linked).
    #[arg(long, env = "QSR_JWT_JWKS_URL", value_name = "URL")]
    pub jwt_jwks_url: String,
    /// The only `iss` accepted: the identity service's issuer.
    #[arg(long, env = "QSR_JWT_ISSUER", value_name = "ISSUER")]
    pub jwt_issuer: String,
    /// The `aud` a token must name, e.g. `qsr`.
    #[arg(long, env = "QSR_JWT_AUDIENCE", value_name = "AUDIENCE")]
    pub jwt_audience: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Staff,
    Pos,
    Admin,
}

impl Role {
    /// The role as a token spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Staff => "staff",
            Role::Pos => "pos",
            Role::Admin => "admin",
        }
    }
}

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The customer id of a customer; who the bearer is otherwise.
    pub sub: String,
    pub role: Role,
    /// The stores a `staff` or `pos` token may act on.
    #[serde(default)]
    pub stores: Vec<String>,
    /// Expiry, in seconds since the epoch.
    pub exp: i64,
    /// Who issued the token; always present in a verified token (the
    /// verifier requires it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Whom the token is for; always present in a verified token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// When the token was issued, in seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The token's own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Whether a customer's email was verified when the token was issued;
    /// identity puts it in only where unverified customers may not order
    /// (`--allow-unverified-orders false`). Absent: no such rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl Claims {
    /// Claims with no `iss`, `aud`, `iat` or `jti`: a caller made in
    /// process (a unit test), never one of a request.
    pub fn new(sub: impl Into<String>, role: Role, stores: Vec<String>, exp: i64) -> Claims {
        Claims {
            sub: sub.into(),
            role,
            stores,
            exp,
            iss: None,
            aud: None,
            iat: None,
            jti: None,
            email_verified: None,
        }
    }
}

/// How the tokens of requests are verified, shared by every request: the
/// identity service's key set, and the tokens it verified already (see
/// `verified.rs`).
#[derive(Clone)]
pub struct JwtKeys {
    verifier: Arc<JwksVerifier>,
    verified: Arc<Verified<Claims>>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    /// ES256 tokens of a fetched key set.
    pub fn key_set(verifier: JwksVerifier) -> JwtKeys {
        JwtKeys {
            verifier: Arc::new(verifier),
            verified: Arc::default(),
        }
    }

    /// What a service verifies with: the key set of `--jwt-jwks-url`, fetched
    /// now (retried for [`crate::STARTUP_PATIENCE`]), with `--jwt-issuer` and
    /// `--jwt-audience` pinned.
    pub async fn for_service(args: &AuthArgs) -> anyhow::Result<JwtKeys> {
        let required = [
            ("QSR_JWT_JWKS_URL", &args.jwt_jwks_url),
            ("QSR_JWT_ISSUER", &args.jwt_issuer),
            ("QSR_JWT_AUDIENCE", &args.jwt_audience),
        ];
        for (name, value) in required {
            anyhow::ensure!(
                !value.trim().is_empty(),
                "{name} is empty: a service accepts only tokens of the identity service's key \
                 set, and needs its address, its issuer and the audience"
            );
        }
        let settings = JwksSettings {
            url: args.jwt_jwks_url.clone(),
            issuer: args.jwt_issuer.clone(),
            audience: args.jwt_audience.clone(),
            min_refresh: MIN_REFRESH,
        };
        let verifier = retry_at_start("fetching the token keys", || {
            JwksVerifier::fetch(settings.clone())
        })
        .await?;
        Ok(JwtKeys::key_set(verifier))
    }

    /// Checks a token's algorithm, signature, issuer, audience and times.
    ///
    /// A token that verified before is answered from the cache while it has
    /// not expired and its key is still published; counted in
    /// `qsr_jwt_verifications_total{outcome="cached"|"verified"|"refused"}`.
    pub async fn verify(&self, token: &str) -> Result<Claims, JwksError> {
        let digest = verified::digest(token);
        let now = chrono::Utc::now().timestamp();
        let cached = self
            .verified
            .get(&digest, now, |kid| self.verifier.publishes(kid));
        if let Some(claims) = cached {
            metrics::counter!("qsr_jwt_verifications_total", "outcome" => "cached").increment(1);
            return Ok(claims);
        }
        let claims = match self.verifier.verify::<Claims>(token).await {
            Ok(claims) => claims,
            Err(error) => {
                metrics::counter!("qsr_jwt_verifications_total", "outcome" => "refused")
                    .increment(1);
                return Err(error);
            }
        };
        metrics::counter!("qsr_jwt_verifications_total", "outcome" => "verified").increment(1);
        // It verified, so its header names a kid.
        if let Some(kid) = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid) {
            self.verified
                .insert(digest, kid, claims.exp, claims.clone(), now);
        }
        Ok(claims)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Claims);

fn unauthenticated(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
}

fn forbidden(detail: &str) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
}

impl Caller {
    pub fn role(&self) -> Role {
        self.0.role
    }

    pub fn sub(&self) -> &str {
        &self.0.sub
    }

    /// Who the caller is, as one key: `<role>:<sub>`, with `%`, `/` and `:`
    /// in the subject percent-encoded, so two callers never share a scope and
    /// a scope ends at the first `/` after it. What a caller owns (its
    /// idempotency keys, its share of a limit) is kept under its scope.
    pub fn scope(&self) -> String {
        let sub = self
            .sub()
            .replace('%', "%25")
            .replace('/', "%2F")
            .replace(':', "%3A");
        format!("{}:{sub}", self.role().as_str())
    }

    /// `403` unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Problem> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(forbidden("this role may not do this"))
        }
    }

    /// `403` unless the caller may act on `store_id`: an admin on any store, a
    /// staff or POS token on the stores it names, a customer on none this way.
    pub fn require_store(&self, store_id: &str) -> Result<(), Problem> {
        let allowed = match self.0.role {
            Role::Admin => true,
            Role::Staff | Role::Pos => self.0.stores.iter().any(|s| s == store_id),
            Role::Customer => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(forbidden("this token may not act on this store"))
        }
    }
}

impl<S> FromRequestParts<S> for Caller
where
    JwtKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // A middleware that needed the caller first (command-api's placement
        // limit) leaves it here, so the token is verified once per request.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthenticated("missing `Authorization: Bearer <token>`"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthenticated("expected `Authorization: Bearer <token>`"))?;
        let claims = JwtKeys::from_ref(state)
            .verify(token.trim())
            .await
            .map_err(|e| unauthenticated(&format!("invalid token: {e}")))?;
        Ok(Caller(claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A command line with the auth flags, as the services have.
    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        auth: AuthArgs,
    }

    const URL: &str = "http://identity:8084/.well-known/jwks.json";

    #[test]
    fn a_service_without_the_key_set_settings_does_not_start() {
        let all = [
            "svc",
            "--jwt-jwks-url",
            URL,
            "--jwt-issuer",
            "i",
            "--jwt-audience",
            "qsr",
        ];
        let cli = Cli::try_parse_from(all).unwrap();
        assert_eq!(cli.auth.jwt_jwks_url, URL);
        assert_eq!(cli.auth.jwt_issuer, "i");
        assert_eq!(cli.auth.jwt_audience, "qsr");
        // Each one missing, or all: clap names what is missing.
        for missing in [1, 3, 5] {
            let mut partial = all.to_vec();
            let flag = partial.remove(missing);
            partial.remove(missing);
            let error = Cli::try_parse_from(partial).unwrap_err().to_string();
            assert!(error.contains(flag), "{flag}: {error}");
        }
        let error = Cli::try_parse_from(["svc"]).unwrap_err().to_string();
        for flag in ["--jwt-jwks-url", "--jwt-issuer", "--jwt-audience"] {
            assert!(error.contains(flag), "{error}");
        }
    }

    #[tokio::test]
    async fn an_empty_setting_is_refused_by_name_before_any_fetch() {
        let args = AuthArgs {
            jwt_jwks_url: URL.into(),
            jwt_issuer: " ".into(),
            jwt_audience: "qsr".into(),
        };
        let error = JwtKeys::for_service(&args).await.unwrap_err().to_string();
        assert!(error.contains("QSR_JWT_ISSUER"), "{error}");
    }

    fn claims(role: Role, stores: &[&str], exp: i64) -> Claims {
        Claims::new(
            "u-1",
            role,
            stores.iter().map(|s| (*s).to_owned()).collect(),
            exp,
        )
    }

    fn later() -> i64 {
        chrono::Utc::now().timestamp() + 3600
    }

    #[test]
    fn a_scope_is_the_role_and_the_escaped_subject() {
        let mut caller = Caller(claims(Role::Pos, &["s-1"], later()));
        assert_eq!(caller.scope(), "pos:u-1");
        caller.0.sub = "a/b:c%d".into();
        caller.0.role = Role::Customer;
        assert_eq!(caller.scope(), "customer:a%2Fb%3Ac%25d");
    }

    #[test]
    fn roles_and_stores_bound_what_a_caller_may_do() {
        let staff = Caller(claims(Role::Staff, &["s-1"], later()));
        assert!(staff.require(&[Role::Staff, Role::Pos]).is_ok());
        assert!(staff.require(&[Role::Admin]).is_err());
        assert!(staff.require_store("s-1").is_ok());
        assert!(staff.require_store("s-2").is_err());
        assert!(
            Caller(claims(Role::Admin, &[], later()))
                .require_store("any")
                .is_ok()
        );
        assert!(
            Caller(claims(Role::Customer, &[], later()))
                .require_store("s-1")
                .is_err()
        );
    }
}
