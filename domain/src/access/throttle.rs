//! Login throttling (issue 5): after [`MAX_FAILED_LOGINS`] failed attempts for one user within
//! [`FAILED_LOGIN_WINDOW_MINUTES`] minutes, further attempts wait until the oldest of those
//! failures leaves the window.
//!
//! [`LoginThrottle`] is the per-user state, fed with the failure and success events in the order
//! they were recorded; it keeps only the failures that can still count, so it stays small inside
//! an aggregate or projection.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Failed attempts within the window after which further attempts must wait.
pub const MAX_FAILED_LOGINS: usize = 10;

/// The sliding window, in minutes, in which failed attempts are counted.
pub const FAILED_LOGIN_WINDOW_MINUTES: i64 = 15;

fn window() -> Duration {
    Duration::minutes(FAILED_LOGIN_WINDOW_MINUTES)
}

/// Login attempts for this user are paused until the given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "ログインの失敗が続いたため、{} UTCまでこのユーザーではログインできません。その時刻以降に再度\
     お試しいただくか、マネージャーにパスワードの再設定を依頼してください (too many failed logins for \
     this user ({MAX_FAILED_LOGINS} within {FAILED_LOGIN_WINDOW_MINUTES} minutes); try again at {} \
     UTC, or ask a manager to reset the password)",
    .0.format("%Y-%m-%d %H:%M:%S"),
    .0.format("%Y-%m-%d %H:%M:%S")
)]
pub struct RetryAt(pub DateTime<Utc>);

/// One user's recent failed logins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginThrottle {
    /// The latest failures, oldest first, at most [`MAX_FAILED_LOGINS`] of them.
    failures: Vec<DateTime<Utc>>,
}

impl LoginThrottle {
    /// Records a failed attempt at `at`. Failures that can no longer count for a check at or
    /// after `at` are dropped.
    pub fn record_failure(&mut self, at: DateTime<Utc>) {
        let position = self.failures.partition_point(|f| *f <= at);
        self.failures.insert(position, at);
        let latest = *self.failures.last().unwrap_or(&at);
        self.failures.retain(|f| *f + window() > latest);
        let excess = self.failures.len().saturating_sub(MAX_FAILED_LOGINS);
        self.failures.drain(..excess);
    }

    /// Records a successful login at `at`: failures up to `at` no longer count.
    pub fn record_success(&mut self, at: DateTime<Utc>) {
        self.failures.retain(|f| *f > at);
    }

    /// The failed attempts that count at `now` (those less than the window old).
    pub fn failures_in_window(&self, now: DateTime<Utc>) -> usize {
        self.failures
            .iter()
            .filter(|f| **f <= now && **f + window() > now)
            .count()
    }

    /// Whether an attempt at `now` may go ahead; if not, when the next one may.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), RetryAt> {
        let counted: Vec<&DateTime<Utc>> = self
            .failures
            .iter()
            .filter(|f| **f <= now && **f + window() > now)
            .collect();
        if counted.len() >= MAX_FAILED_LOGINS {
            // Counted failures are the latest ones, oldest first: when the oldest leaves the
            // window, fewer than the maximum remain.
            Err(RetryAt(*counted[0] + window()))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(minute: i64, second: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
            + Duration::minutes(minute)
            + Duration::seconds(second)
    }

    fn failing(times: impl IntoIterator<Item = DateTime<Utc>>) -> LoginThrottle {
        let mut throttle = LoginThrottle::default();
        for at in times {
            throttle.record_failure(at);
        }
        throttle
    }

    #[test]
    fn sec_throttle_nine_failures_still_allowed() {
        let throttle = failing((0..9).map(|i| t(i, 0)));
        assert_eq!(throttle.check(t(9, 0)), Ok(()));
    }

    #[test]
    fn sec_throttle_ten_failures_in_window_wait_for_the_oldest_to_leave() {
        let throttle = failing((0..10).map(|i| t(i, 0)));
        assert_eq!(throttle.check(t(10, 0)), Err(RetryAt(t(15, 0))));
        assert_eq!(throttle.check(t(14, 59)), Err(RetryAt(t(15, 0))));
        assert_eq!(throttle.check(t(15, 0)), Ok(()));
    }

    #[test]
    fn sec_throttle_failures_spread_over_more_than_the_window_do_not_block() {
        // 10 failures, 2 minutes apart: never 10 within 15 minutes.
        let throttle = failing((0..10).map(|i| t(i * 2, 0)));
        assert_eq!(throttle.check(t(18, 1)), Ok(()));
        assert_eq!(throttle.failures_in_window(t(18, 1)), 8);
    }

    #[test]
    fn sec_throttle_retry_time_follows_the_tenth_latest_failure() {
        // 12 failures: the wait is set by the 10th latest (t(2)), not the first (t(0)).
        let throttle = failing((0..12).map(|i| t(i, 0)));
        assert_eq!(throttle.check(t(12, 0)), Err(RetryAt(t(17, 0))));
    }

    #[test]
    fn sec_throttle_success_clears() {
        let mut throttle = failing((0..10).map(|i| t(i, 0)));
        throttle.record_success(t(10, 0));
        assert_eq!(throttle.check(t(10, 0)), Ok(()));
        assert_eq!(throttle.failures_in_window(t(10, 0)), 0);
    }

    #[test]
    fn sec_throttle_success_keeps_later_failures() {
        let mut throttle = failing([t(1, 0), t(3, 0)]);
        throttle.record_success(t(2, 0));
        assert_eq!(throttle.failures_in_window(t(4, 0)), 1);
    }

    #[test]
    fn sec_throttle_out_of_order_failures_count() {
        let mut times: Vec<_> = (0..10).map(|i| t(i, 0)).collect();
        times.reverse();
        let throttle = failing(times);
        assert_eq!(throttle.check(t(10, 0)), Err(RetryAt(t(15, 0))));
    }

    #[test]
    fn sec_throttle_state_stays_small() {
        let throttle = failing((0..1000).map(|i| t(0, i)));
        assert_eq!(throttle.failures.len(), MAX_FAILED_LOGINS);
        let throttle = failing((0..100).map(|i| t(i * 20, 0)));
        assert_eq!(throttle.failures.len(), 1);
    }

    #[test]
    fn sec_throttle_message_gives_the_time() {
        let message = RetryAt(t(15, 0)).to_string();
        assert!(message.contains("2026-11-23 09:15:00 UTC"), "{message}");
    }

    #[test]
    fn sec_throttle_serde_round_trip() {
        let throttle = failing((0..3).map(|i| t(i, 0)));
        let json = serde_json::to_string(&throttle).unwrap();
        assert_eq!(
            serde_json::from_str::<LoginThrottle>(&json).unwrap(),
            throttle
        );
    }
}
