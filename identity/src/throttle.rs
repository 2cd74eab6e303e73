//! Login throttling: failed logins are counted per account (its lowercased
//! email) and per client address within a sliding window; past the limit a
//! login is refused, even with the right password, until the oldest failure
//! leaves the window. Kept in memory, so each instance counts its own.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures of one account that close it for the rest of the window.
pub const ACCOUNT_LIMIT: usize = 5;
/// Failures from one address that close it: higher than an account's, as
/// many people may share an address (a carrier's NAT, a store's network).
pub const ADDRESS_LIMIT: usize = 20;
/// Past this many keys, a failure first drops the keys with no failure in
/// the window, so that the map stays the size of the current attack.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counted {
    Account(String),
    Address(IpAddr),
}

impl Counted {
    fn limit(&self) -> usize {
        match self {
            Counted::Account(_) => ACCOUNT_LIMIT,
            Counted::Address(_) => ADDRESS_LIMIT,
        }
    }
}

/// The failures of the window.
#[derive(Debug)]
pub struct LoginThrottle {
    window: Duration,
    failures: Mutex<HashMap<Counted, VecDeque<Instant>>>,
}

impl LoginThrottle {
    pub fn new(window: Duration) -> LoginThrottle {
        LoginThrottle {
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, address: IpAddr) -> [Counted; 2] {
        [
            Counted::Account(account.trim().to_lowercase()),
            Counted::Address(address),
        ]
    }

    /// `Err(seconds)` until a login of `account` from `address` may be
    /// tried again, or `Ok` when it may be tried now.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), u64> {
        self.check_at(account, address, Instant::now())
    }

    fn check_at(&self, account: &str, address: IpAddr, now: Instant) -> Result<(), u64> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let mut wait = Duration::ZERO;
        for key in Self::keys(account, address) {
            let limit = key.limit();
            let Some(times) = failures.get_mut(&key) else {
                continue;
            };
            times.retain(|t| now.duration_since(*t) < self.window);
            if times.len() >= limit {
                // The failure whose leaving brings the count under the limit.
                let leaving = times[times.len() - limit];
                wait = wait.max(self.window - now.duration_since(leaving));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            // Rounded up, so that a client waiting that long is let in.
            Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        }
    }

    /// Counts a failed login of `account` from `address`.
    pub fn failed(&self, account: &str, address: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for key in Self::keys(account, address) {
            let limit = key.limit();
            let times = failures.entry(key).or_default();
            times.push_back(now);
            while times.len() > limit {
                times.pop_front();
            }
        }
    }

    /// Forgets the failures of `account` after it logged in.
    pub fn succeeded(&self, account: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.remove(&Counted::Account(account.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn five_failures_close_an_account_until_the_first_leaves_the_window() {
        let throttle = LoginThrottle::new(Duration::from_secs(60));
        for _ in 0..ACCOUNT_LIMIT {
            assert_eq!(throttle.check("Ada@example.com", HOME), Ok(()));
            throttle.failed("Ada@example.com", HOME);
        }
        let later = Instant::now() + Duration::from_secs(10);
        let wait = throttle.check_at("ada@EXAMPLE.com", HOME, later);
        assert!(matches!(wait, Err(49..=50)), "{wait:?}");
        // Another account from the same address is still let in.
        assert_eq!(throttle.check("grace@example.com", HOME), Ok(()));
        let after = Instant::now() + Duration::from_secs(61);
        assert_eq!(throttle.check_at("ada@example.com", HOME, after), Ok(()));
    }

    #[test]
    fn an_address_closes_after_twenty_failures_of_any_accounts() {
        let throttle = LoginThrottle::new(Duration::from_secs(60));
        for n in 0..ADDRESS_LIMIT {
            throttle.failed(&format!("user{n}@example.com"), HOME);
        }
        assert!(throttle.check("someone@example.com", HOME).is_err());
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(throttle.check("someone@example.com", elsewhere), Ok(()));
    }

    #[test]
    fn a_login_forgets_the_accounts_failures() {
        let throttle = LoginThrottle::new(Duration::from_secs(60));
        for _ in 0..ACCOUNT_LIMIT - 1 {
            throttle.failed("ada@example.com", HOME);
        }
        throttle.succeeded("ada@example.com");
        throttle.failed("ada@example.com", HOME);
        assert_eq!(throttle.check("ada@example.com", HOME), Ok(()));
    }
}
