//! Brute force at sign-in: failed credential checks are counted per account (the user
//! a Basic credential names) and per client address, with governor's GCRA; once either
//! runs out, that account or address is refused (even with the right secret) until the
//! limiter would allow it again. Successful sign-ins count nothing, so they are never
//! slowed, and other accounts are not affected by one under attack. Limits are per
//! replica: with N replicas an attacker gets up to N times the budget.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How many failed checks each key gets answered in `period` before the next attempts
/// are refused (the budget refills evenly over the period).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInLimit {
    pub per_account: u32,
    pub per_address: u32,
    pub period: Duration,
}

impl Default for SignInLimit {
    /// Ten failures a minute per account; a hundred per address, so that one address
    /// shared by many users (a NAT, a CI fleet) is not locked out by one of them.
    fn default() -> Self {
        SignInLimit {
            per_account: 10,
            per_address: 100,
            period: Duration::from_secs(60),
        }
    }
}

/// Who is signing in, as far as the limiter can tell.
#[derive(Clone, Copy, Debug, Default)]
pub struct Origin<'a> {
    pub account: Option<&'a str>,
    pub address: Option<IpAddr>,
}

/// Keys with their own budget are kept until this many exist, then pruned of those
/// whose budget is full again.
const PRUNE_AT: usize = 10_000;

pub struct SignInLimiter {
    accounts: Option<DefaultKeyedRateLimiter<String>>,
    addresses: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Keys out of budget, and until when.
    blocked: moka::sync::Cache<String, Instant>,
}

impl SignInLimiter {
    pub fn new(limit: SignInLimit) -> Self {
        // The failure that empties the bucket is the one governor refuses (a failure is
        // counted after its check), so the bucket holds one fewer: the n-th failure is
        // the last one answered, the next attempt is refused.
        let quota = |n: u32| {
            let refill = limit.period / NonZeroU32::new(n)?.get();
            Some(
                Quota::with_period(refill)?
                    .allow_burst(NonZeroU32::new(n.saturating_sub(1).max(1))?),
            )
        };
        SignInLimiter {
            accounts: quota(limit.per_account).map(RateLimiter::keyed),
            addresses: quota(limit.per_address).map(RateLimiter::keyed),
            blocked: moka::sync::Cache::builder()
                .max_capacity(PRUNE_AT as u64)
                .time_to_live(limit.period)
                .build(),
        }
    }

    /// `Err(wait)` while `origin`'s account or address is out of budget.
    pub fn check(&self, origin: Origin<'_>) -> Result<(), Duration> {
        let now = Instant::now();
        let wait = keys(origin)
            .filter_map(|k| self.blocked.get(&k))
            .filter_map(|until| until.checked_duration_since(now))
            .max();
        match wait {
            Some(w) if !w.is_zero() => Err(w),
            _ => Ok(()),
        }
    }

    /// Counts a failed check for `origin`; `Err(wait)` once that used up a budget. Only
    /// the key out of budget is refused: an address trying many accounts does not lock
    /// them all out, nor one account the address.
    pub fn failed(&self, origin: Origin<'_>) -> Result<(), Duration> {
        let mut wait = None;
        if let (Some(limiter), Some(account)) = (&self.accounts, origin.account) {
            wait = self.count(limiter, account.to_owned(), format!("account {account}"));
        }
        if let (Some(limiter), Some(address)) = (&self.addresses, origin.address) {
            let w = self.count(limiter, address, format!("address {address}"));
            wait = wait.max(w);
        }
        wait.map_or(Ok(()), Err)
    }

    fn count<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: K,
        name: String,
    ) -> Option<Duration> {
        let result = limiter.check_key(&key);
        if limiter.len() > PRUNE_AT {
            limiter.retain_recent();
        }
        let wait = result.err()?.wait_time_from(DefaultClock::default().now());
        self.blocked.insert(name, Instant::now() + wait);
        Some(wait)
    }
}

fn keys(origin: Origin<'_>) -> impl Iterator<Item = String> {
    let account = origin.account.map(|a| format!("account {a}"));
    let address = origin.address.map(|a| format!("address {a}"));
    account.into_iter().chain(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Origin<'static> = Origin {
        account: Some("alice"),
        address: None,
    };

    #[test]
    fn an_account_is_refused_after_its_budget_and_others_are_not() {
        let limiter = SignInLimiter::new(SignInLimit {
            per_account: 3,
            per_address: 100,
            period: Duration::from_secs(30),
        });
        for _ in 0..2 {
            assert_eq!(limiter.check(ALICE), Ok(()));
            assert_eq!(limiter.failed(ALICE), Ok(()));
        }
        assert_eq!(limiter.check(ALICE), Ok(()), "the third is still checked");
        let wait = limiter.failed(ALICE).expect_err("and spends the budget");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert!(
            limiter.check(ALICE).is_err(),
            "refused until the bucket refills"
        );
        let bob = Origin {
            account: Some("bob"),
            address: None,
        };
        assert_eq!(limiter.check(bob), Ok(()), "another account is not slowed");
    }

    #[test]
    fn an_address_has_its_own_budget_and_zero_turns_a_limit_off() {
        let limiter = SignInLimiter::new(SignInLimit {
            per_account: 0,
            per_address: 2,
            period: Duration::from_secs(30),
        });
        let from = Origin {
            account: Some("alice"),
            address: Some([127, 0, 0, 1].into()),
        };
        limiter.failed(from).unwrap();
        assert!(
            limiter.failed(from).is_err(),
            "two failures spend a budget of two"
        );
        assert!(limiter.check(from).is_err());
        let elsewhere = Origin {
            account: Some("alice"),
            address: Some([10, 0, 0, 1].into()),
        };
        assert_eq!(
            limiter.check(elsewhere),
            Ok(()),
            "only the address ran out, not the account"
        );
    }
}
