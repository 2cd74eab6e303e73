//! The mails the service writes: a subject and a plain-text body with a
//! link into the web app, which carries the token to the matching route.
//! Lines of text stay under 76 characters; the link's line may not, and is
//! then sent quoted-printable, which mail readers decode.

/// A mail to queue in the outbox.
#[derive(Debug, Clone)]
pub struct Mail {
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// `base` and `path` joined, with the token as the query.
fn link(base: &str, path: &str, token: &str) -> String {
    format!("{}{path}?token={token}", base.trim_end_matches('/'))
}

/// Asks a new customer to confirm their address.
pub fn verify_email(public_url: &str, recipient: &str, token: &str) -> Mail {
    Mail {
        recipient: recipient.to_owned(),
        subject: "Confirm your email address".to_owned(),
        body: format!(
            "Welcome!\n\nConfirm that this is your email address by opening\n\
             this link within 48 hours:\n\n{}\n\n\
             If you did not create an account, ignore this mail.\n",
            link(public_url, "/verify-email", token)
        ),
    }
}

/// Lets the owner of an account choose a new password.
pub fn reset_password(public_url: &str, recipient: &str, token: &str) -> Mail {
    Mail {
        recipient: recipient.to_owned(),
        subject: "Reset your password".to_owned(),
        body: format!(
            "Someone asked to reset the password of your account.\n\
             Choose a new one by opening this link within an hour:\n\n{}\n\n\
             If it was not you, ignore this mail: your password stays as it is.\n",
            link(public_url, "/reset-password", token)
        ),
    }
}

/// Invites a staff member or an admin.
pub fn invitation(public_url: &str, recipient: &str, role: &str, token: &str) -> Mail {
    Mail {
        recipient: recipient.to_owned(),
        subject: "You are invited".to_owned(),
        body: format!(
            "You are invited to join as {role}.\n\
             Choose your name and password by opening this link within 7 days:\n\n{}\n",
            link(public_url, "/invitation", token)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_into_the_web_app() {
        let mail = verify_email("http://app.test/", "a@example.com", "abc");
        assert!(
            mail.body
                .contains("http://app.test/verify-email?token=abc\n")
        );
        let mail = invitation("http://app.test", "a@example.com", "staff", "xyz");
        assert!(mail.body.contains("http://app.test/invitation?token=xyz"));
    }
}
