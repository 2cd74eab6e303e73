//! Bearer tokens: JWTs with `sub`, `role`, `stores` and `exp`, as API.md
//! describes. `401` without a valid token, `403` outside the role or stores.
//!
//! Two kinds of verification, chosen by [`AuthArgs`]: with a key set address
//! (`QSR_JWT_JWKS_URL`), only ES256 tokens signed by a key the identity
//! service publishes, with its issuer and this service's audience (see
//! [`crate::jwks`]); without one, HS256 tokens of the shared secret
//! (`QSR_JWT_SECRET`). The HS256 path is there for now only: issue 12 removes
//! it, with its built-in development secret, once the identity service and the
//! test harness mint ES256 tokens.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::Problem;
use crate::jwks::{JwksSettings, JwksVerifier, MIN_REFRESH};
use crate::startup::retry_at_start;

/// The documented development secret; set `QSR_JWT_SECRET` anywhere else.
pub const DEVELOPMENT_SECRET: &str = "qsr-development-secret-do-not-use-in-production";

/// The secret is a [`SecretString`]: `Debug` (so a logged `Config`) shows
/// `[REDACTED]`, and `--help` does not show the environment's value.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthArgs {
    /// Secret of the HS256 tokens (at least 32 bytes in production).
    #[arg(long, env = "QSR_JWT_SECRET", default_value = DEVELOPMENT_SECRET,
          hide_default_value = true, hide_env_values = true, value_parser = secret)]
    pub jwt_secret: SecretString,
    /// Address of the identity service's key set (its
    /// `/.well-known/jwks.json`). When set, only ES256 tokens signed by a key
    /// of that set are accepted (HS256 ones are refused and `--jwt-secret` is
    /// not used), and `--jwt-issuer` and `--jwt-audience` are required. The
    /// set is fetched at start (retried for a while) and again when a token
    /// names an unknown `kid`, at most once per 5 s. `http` only (no TLS client
    /// is linked).
    #[arg(
        long,
        env = "QSR_JWT_JWKS_URL",
        requires = "jwt_issuer",
        requires = "jwt_audience"
    )]
    pub jwt_jwks_url: Option<String>,
    /// The only `iss` accepted with `--jwt-jwks-url`.
    #[arg(long, env = "QSR_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// The `aud` a token must name with `--jwt-jwks-url`, e.g. `qsr`.
    #[arg(long, env = "QSR_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
}

impl AuthArgs {
    /// HS256 tokens of `secret`, no key set.
    pub fn with_secret(secret: &str) -> AuthArgs {
        AuthArgs {
            jwt_secret: SecretString::from(secret),
            jwt_jwks_url: None,
            jwt_issuer: None,
            jwt_audience: None,
        }
    }
}

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
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
    /// Who issued the token (checked with a key set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Whom the token is for (checked with a key set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// When the token was issued, in seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The token's own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl Claims {
    /// Claims with no `iss`, `aud`, `iat` or `jti`, as the HS256 tokens have.
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
        }
    }
}

/// How the tokens of requests are verified, shared by every request: a shared
/// secret (HS256, can also mint) or a key set (ES256, verifies only).
#[derive(Clone)]
pub struct JwtKeys {
    kind: KeysKind,
}

#[derive(Clone)]
enum KeysKind {
    Secret {
        encoding: Arc<EncodingKey>,
        decoding: Arc<DecodingKey>,
    },
    KeySet(Arc<JwksVerifier>),
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Secret(#[from] jsonwebtoken::errors::Error),
    #[error("{0}")]
    KeySet(#[from] crate::jwks::JwksError),
}

impl JwtKeys {
    /// HS256 tokens of `secret`.
    pub fn new(secret: &str) -> JwtKeys {
        JwtKeys {
            kind: KeysKind::Secret {
                encoding: Arc::new(EncodingKey::from_secret(secret.as_bytes())),
                decoding: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
            },
        }
    }

    /// HS256 tokens of the secret of `args`, for minting (the key set is not
    /// looked at; a service verifies with [`JwtKeys::for_service`]).
    pub fn from_args(args: &AuthArgs) -> JwtKeys {
        JwtKeys::new(args.jwt_secret.expose_secret())
    }

    /// ES256 tokens of a fetched key set.
    pub fn key_set(verifier: JwksVerifier) -> JwtKeys {
        JwtKeys {
            kind: KeysKind::KeySet(Arc::new(verifier)),
        }
    }

    /// What a service verifies with: the key set of `--jwt-jwks-url` when it
    /// is set (fetched now, retried for [`crate::STARTUP_PATIENCE`]), HS256
    /// tokens of `--jwt-secret` otherwise.
    pub async fn for_service(args: &AuthArgs) -> anyhow::Result<JwtKeys> {
        let Some(url) = args.jwt_jwks_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(JwtKeys::from_args(args));
        };
        let (Some(issuer), Some(audience)) = (&args.jwt_issuer, &args.jwt_audience) else {
            anyhow::bail!("--jwt-jwks-url needs --jwt-issuer and --jwt-audience");
        };
        let settings = JwksSettings {
            url: url.to_owned(),
            issuer: issuer.clone(),
            audience: audience.clone(),
            min_refresh: MIN_REFRESH,
        };
        let verifier = retry_at_start("fetching the token keys", || {
            JwksVerifier::fetch(settings.clone())
        })
        .await?;
        Ok(JwtKeys::key_set(verifier))
    }

    /// Signs `claims` into an HS256 token; an error with a key set, whose
    /// private keys only the identity service holds.
    pub fn mint(&self, claims: &Claims) -> anyhow::Result<String> {
        match &self.kind {
            KeysKind::Secret { encoding, .. } => Ok(jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                claims,
                encoding,
            )?),
            KeysKind::KeySet(_) => anyhow::bail!("a key set verifies tokens; it cannot mint"),
        }
    }

    /// Checks a token's algorithm, signature and times (and, with a key set,
    /// its issuer and audience).
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        match &self.kind {
            KeysKind::Secret { decoding, .. } => {
                let mut validation = Validation::new(Algorithm::HS256);
                validation.leeway = 5;
                validation.set_required_spec_claims(&["exp", "sub"]);
                Ok(jsonwebtoken::decode::<Claims>(token, decoding, &validation)?.claims)
            }
            KeysKind::KeySet(verifier) => Ok(verifier.verify(token).await?),
        }
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

    const SECRET: &str = "a-known-secret-of-at-least-32-bytes!";

    #[tokio::test]
    async fn the_jwt_secret_never_shows_in_debug_output() {
        let cli = Cli::try_parse_from(["svc", "--jwt-secret", SECRET]).unwrap();
        assert_eq!(cli.auth.jwt_secret.expose_secret(), SECRET);
        let shown = format!("{cli:?} {cli:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
        let literal = AuthArgs::with_secret(SECRET);
        assert!(!format!("{literal:?}").contains(SECRET));
        let keys = JwtKeys::from_args(&literal);
        let token = keys.mint(&claims(Role::Admin, &[], later())).unwrap();
        let verified = JwtKeys::new(SECRET).verify(&token).await;
        assert!(verified.is_ok());
        let default = Cli::try_parse_from(["svc"]).unwrap();
        assert_eq!(default.auth.jwt_secret.expose_secret(), DEVELOPMENT_SECRET);
    }

    #[test]
    fn a_key_set_address_needs_an_issuer_and_an_audience() {
        let url = "http://identity:8084/.well-known/jwks.json";
        assert!(Cli::try_parse_from(["svc", "--jwt-jwks-url", url]).is_err());
        let only_iss = ["svc", "--jwt-jwks-url", url, "--jwt-issuer", "i"];
        assert!(Cli::try_parse_from(only_iss).is_err());
        let all = [
            "svc",
            "--jwt-jwks-url",
            url,
            "--jwt-issuer",
            "i",
            "--jwt-audience",
            "qsr",
        ];
        let cli = Cli::try_parse_from(all).unwrap();
        assert_eq!(cli.auth.jwt_jwks_url.as_deref(), Some(url));
        assert_eq!(cli.auth.jwt_audience.as_deref(), Some("qsr"));
        assert_eq!(
            Cli::try_parse_from(["svc"]).unwrap().auth.jwt_jwks_url,
            None
        );
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

    #[tokio::test]
    async fn a_minted_token_verifies_and_a_foreign_or_expired_one_does_not() {
        let keys = JwtKeys::new("secret-one-that-is-long-enough-32b");
        let minted = claims(Role::Staff, &["s-1"], later());
        let token = keys.mint(&minted).unwrap();
        assert_eq!(keys.verify(&token).await.unwrap(), minted);
        let other = JwtKeys::new("another-secret-that-is-long-enough");
        assert!(other.verify(&token).await.is_err());
        let expired = keys
            .mint(&claims(
                Role::Admin,
                &[],
                chrono::Utc::now().timestamp() - 60,
            ))
            .unwrap();
        assert!(keys.verify(&expired).await.is_err());
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
