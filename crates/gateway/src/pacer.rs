//! riskguard's own REST pacing, in place of projectx-client's.
//!
//! The gateway allows 200 calls per 60 s per login and answers HTTP 429 beyond that (GATEWAY.md §4).
//! projectx-client 8 paces for the same budget, but when a 429 comes without `Retry-After` it cools every call
//! of the client down for the whole 60 s window: a close, and the read-back that must follow an ambiguous
//! close, would wait a minute while a loss limit is breached. So the session builds its client with the
//! client's limiter off and no automatic retries, and paces here instead:
//!
//! - a rolling window (default 200 per 60 s) of which a reserve (default 20) only exits may use: closes
//!   and cancels still go when reads and stop updates have spent the rest;
//! - after a 429, a cool-down of `Retry-After` when it is shorter than the back-off, else the back-off: 0.5 s,
//!   doubling on each 429 in a row up to 30 s, and reset by the next call that gets through. A 429 means
//!   "slow down", and a close is worth more than obeying a long penalty on the first one; repeated 429s
//!   converge on whatever the gateway wants;
//! - a caller waits for admission up to its own deadline (exits: 2 s; reads: 30 s) and is refused after it,
//!   so nothing waits forever.
//!
//! The arithmetic is pure over the instants passed in, so it is unit-tested without a clock.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// What a call is, for the reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallClass {
    /// `closeContract`, `partialCloseContract`, `Order/cancel`: may use the reserve.
    Exit,
    /// Everything else: reads, logins, stop placement and modification.
    Other,
}

/// The budget: `max_calls` per `window`, of which `exit_reserve` only exits may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    pub max_calls: usize,
    pub window: Duration,
    pub exit_reserve: usize,
}

impl Default for RateBudget {
    /// The gateway's general limit (GATEWAY.md §4) with a tenth kept for exits.
    fn default() -> Self {
        RateBudget {
            max_calls: 200,
            window: Duration::from_secs(60),
            exit_reserve: 20,
        }
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct State {
    admitted: VecDeque<Instant>,
    cool_until: Option<Instant>,
    /// 429s in a row.
    strikes: u32,
}

#[derive(Debug)]
pub(crate) struct Pacer {
    budget: RateBudget,
    state: Mutex<State>,
}

impl Pacer {
    pub(crate) fn new(budget: RateBudget) -> Self {
        let budget = RateBudget {
            max_calls: budget.max_calls.max(1),
            exit_reserve: budget.exit_reserve.min(budget.max_calls.saturating_sub(1)),
            ..budget
        };
        Pacer {
            budget,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admit a call at `now`, or say when to ask again.
    pub(crate) fn try_admit(&self, class: CallClass, now: Instant) -> Result<(), Instant> {
        let mut s = self.state();
        if let Some(until) = s.cool_until {
            if until > now {
                return Err(until);
            }
            s.cool_until = None;
        }
        while s
            .admitted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.budget.window)
        {
            s.admitted.pop_front();
        }
        let capacity = match class {
            CallClass::Exit => self.budget.max_calls,
            CallClass::Other => self.budget.max_calls - self.budget.exit_reserve,
        };
        if s.admitted.len() < capacity {
            s.admitted.push_back(now);
            return Ok(());
        }
        // The call that frees a slot for this class: the (len - capacity)-th oldest leaving the window.
        let freeing = s.admitted.len() - capacity;
        Err(s
            .admitted
            .get(freeing)
            .map_or(now, |t| *t + self.budget.window))
    }

    /// Wait for admission up to `max_wait`; refused with the wait it would have needed.
    pub(crate) async fn admit(&self, class: CallClass, max_wait: Duration) -> Result<(), Duration> {
        let deadline = Instant::now() + max_wait;
        loop {
            let now = Instant::now();
            match self.try_admit(class, now) {
                Ok(()) => return Ok(()),
                Err(at) if at <= deadline => tokio::time::sleep_until(at).await,
                Err(at) => return Err(at.saturating_duration_since(now)),
            }
        }
    }

    /// The gateway answered 429 at `now`, suggesting `retry_after` (projectx-client reports its 60 s
    /// window when the answer had no `Retry-After`). Returns the cool-down applied.
    pub(crate) fn throttled(&self, retry_after: Option<Duration>, now: Instant) -> Duration {
        let mut s = self.state();
        s.strikes = s.strikes.saturating_add(1);
        let backoff = FIRST_BACKOFF
            .saturating_mul(1u32 << (s.strikes - 1).min(16))
            .min(MAX_BACKOFF);
        let cool = retry_after.map_or(backoff, |r| r.min(backoff));
        let until = now + cool;
        s.cool_until = Some(s.cool_until.map_or(until, |u| u.max(until)));
        cool
    }

    /// A call got through: the 429 streak is over.
    pub(crate) fn passed(&self) {
        self.state().strikes = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pacer(max: usize, reserve: usize) -> Pacer {
        Pacer::new(RateBudget {
            max_calls: max,
            window: Duration::from_secs(60),
            exit_reserve: reserve,
        })
    }

    #[test]
    fn the_reserve_is_for_exits_only() {
        let p = pacer(3, 1);
        let t0 = Instant::now();
        assert!(p.try_admit(CallClass::Other, t0).is_ok());
        assert!(p.try_admit(CallClass::Other, t0).is_ok());
        // Reads have spent their share: the next one waits for the first call to leave the window.
        assert_eq!(
            p.try_admit(CallClass::Other, t0),
            Err(t0 + Duration::from_secs(60))
        );
        assert!(p.try_admit(CallClass::Exit, t0).is_ok());
        assert!(p.try_admit(CallClass::Exit, t0).is_err());
        // A minute later the window has emptied.
        assert!(
            p.try_admit(CallClass::Other, t0 + Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn a_429_without_retry_after_cools_down_briefly_then_longer_if_it_repeats() {
        let p = pacer(200, 20);
        let t0 = Instant::now();
        // projectx-client reports its whole window when the gateway gave no Retry-After.
        let cool = p.throttled(Some(Duration::from_secs(60)), t0);
        assert_eq!(cool, Duration::from_millis(500));
        assert_eq!(
            p.try_admit(CallClass::Exit, t0 + Duration::from_millis(100)),
            Err(t0 + cool)
        );
        assert!(p.try_admit(CallClass::Exit, t0 + cool).is_ok());
        // Two more in a row double each time; a shorter Retry-After is honoured as it is.
        assert_eq!(p.throttled(None, t0), Duration::from_secs(1));
        assert_eq!(p.throttled(None, t0), Duration::from_secs(2));
        assert_eq!(
            p.throttled(Some(Duration::from_millis(300)), t0),
            Duration::from_millis(300)
        );
        // ...and the streak ends with a call that gets through.
        p.passed();
        assert_eq!(p.throttled(None, t0), Duration::from_millis(500));
    }

    #[test]
    fn the_back_off_is_capped() {
        let p = pacer(200, 20);
        let t0 = Instant::now();
        let mut last = Duration::ZERO;
        for _ in 0..40 {
            last = p.throttled(None, t0);
        }
        assert_eq!(last, MAX_BACKOFF);
    }

    #[test]
    fn a_reserve_as_large_as_the_budget_leaves_one_call_for_the_rest() {
        let p = pacer(2, 5);
        let t0 = Instant::now();
        assert!(p.try_admit(CallClass::Other, t0).is_ok());
        assert!(p.try_admit(CallClass::Other, t0).is_err());
        assert!(p.try_admit(CallClass::Exit, t0).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn admission_waits_up_to_its_deadline_and_no_longer() {
        let p = pacer(1, 0);
        assert!(p.admit(CallClass::Other, Duration::ZERO).await.is_ok());
        // The next slot is 60 s away: a 2 s deadline is refused at once with the wait it needed.
        let refused = p.admit(CallClass::Exit, Duration::from_secs(2)).await;
        assert!(refused.is_err_and(|w| w > Duration::from_secs(59)));
        // A 61 s deadline waits it out (paused time: the test does not take a minute).
        let start = Instant::now();
        assert!(
            p.admit(CallClass::Other, Duration::from_secs(61))
                .await
                .is_ok()
        );
        assert!(start.elapsed() >= Duration::from_secs(59));
    }
}
