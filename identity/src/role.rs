//! The roles an account has, as the `users.role` column and the tokens'
//! `role` claim spell them.

use serde::{Deserialize, Serialize};

/// An account's role. (`pos`, the fourth role of the tokens, is a device's,
/// never an account's.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountRole {
    Customer,
    Staff,
    Admin,
}

impl AccountRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Customer => "customer",
            AccountRole::Staff => "staff",
            AccountRole::Admin => "admin",
        }
    }

    /// The role a stored spelling names.
    pub fn parse(role: &str) -> Option<AccountRole> {
        match role {
            "customer" => Some(AccountRole::Customer),
            "staff" => Some(AccountRole::Staff),
            "admin" => Some(AccountRole::Admin),
            _ => None,
        }
    }
}

/// The role of a POS device's token.
pub const POS_ROLE: &str = "pos";
