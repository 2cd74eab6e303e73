//! Bearer tokens: HS256 JWTs with `sub`, `role`, `stores` and `exp`, as API.md
//! describes. `401` without a valid token, `403` outside the role or stores.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::Problem;

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
}

/// The keys of one secret, shared by every request.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    pub fn new(secret: &str) -> JwtKeys {
        JwtKeys {
            encoding: Arc::new(EncodingKey::from_secret(secret.as_bytes())),
            decoding: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
        }
    }

    pub fn from_args(args: &AuthArgs) -> JwtKeys {
        JwtKeys::new(args.jwt_secret.expose_secret())
    }

    /// Signs `claims` into a token.
    pub fn mint(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// Checks a token's signature and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|data| data.claims)
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

    #[test]
    fn the_jwt_secret_never_shows_in_debug_output() {
        let cli = Cli::try_parse_from(["svc", "--jwt-secret", SECRET]).unwrap();
        assert_eq!(cli.auth.jwt_secret.expose_secret(), SECRET);
        let shown = format!("{cli:?} {cli:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
        let literal = AuthArgs {
            jwt_secret: SECRET.into(),
        };
        assert!(!format!("{literal:?}").contains(SECRET));
        let keys = JwtKeys::from_args(&literal);
        let token = keys.mint(&claims(Role::Admin, &[], later())).unwrap();
        assert!(JwtKeys::new(SECRET).verify(&token).is_ok());
        let default = Cli::try_parse_from(["svc"]).unwrap();
        assert_eq!(default.auth.jwt_secret.expose_secret(), DEVELOPMENT_SECRET);
    }

    fn claims(role: Role, stores: &[&str], exp: i64) -> Claims {
        Claims {
            sub: "u-1".into(),
            role,
            stores: stores.iter().map(|s| (*s).to_owned()).collect(),
            exp,
        }
    }

    fn later() -> i64 {
        chrono::Utc::now().timestamp() + 3600
    }

    #[test]
    fn a_minted_token_verifies_and_a_foreign_or_expired_one_does_not() {
        let keys = JwtKeys::new("secret-one-that-is-long-enough-32b");
        let minted = claims(Role::Staff, &["s-1"], later());
        let token = keys.mint(&minted).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), minted);
        let other = JwtKeys::new("another-secret-that-is-long-enough");
        assert!(other.verify(&token).is_err());
        let expired = keys
            .mint(&claims(
                Role::Admin,
                &[],
                chrono::Utc::now().timestamp() - 60,
            ))
            .unwrap();
        assert!(keys.verify(&expired).is_err());
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
