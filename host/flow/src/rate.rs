//! Rate limits: how often runs of a flow may begin, and how often actions may
//! call an application through one connection.
//!
//! A [`Limiter`] is the generic cell rate algorithm (GCRA): it keeps the
//! theoretical arrival time of the next event, so it needs one number per
//! limit however many events wait, and a caller can *reserve* the moment it
//! may go (a run parked until then holds that slot; waiting runs do not all
//! wake at once to fight over one). A connector's `rate-limited` answer
//! pauses the whole limiter until its retry-after.
//!
//! Limits are kept in memory, per process: nodes sharing a store each allow
//! the rate.

use weft_core::model::RateLimitDef;

/// One limit's state.
#[derive(Debug, Clone)]
pub struct Limiter {
    rate: Option<RateLimitDef>,
    /// When the next event would go if events came evenly (ms, fractional).
    next: f64,
    /// Nothing goes before this (ms): the application asked to slow down.
    paused_until: u64,
}

impl Limiter {
    pub fn new(rate: Option<RateLimitDef>) -> Self {
        Self { rate, next: 0.0, paused_until: 0 }
    }

    /// The limit this limiter keeps.
    pub fn rate(&self) -> Option<RateLimitDef> {
        self.rate
    }

    /// Keep `rate` from now on (a connection or flow changed); the state stays.
    pub fn set_rate(&mut self, rate: Option<RateLimitDef>) {
        self.rate = rate;
    }

    /// When an event arriving at `now` may go: `now` or later.
    fn slot(&self, now: u64) -> f64 {
        let mut at = (now as f64).max(self.paused_until as f64);
        if let Some(rate) = &self.rate {
            let tolerance = rate.burst.unwrap_or(1).saturating_sub(1) as f64 * rate.interval_ms();
            at = at.max(self.next - tolerance);
        }
        at
    }

    fn commit(&mut self, at: f64) {
        if let Some(rate) = &self.rate {
            self.next = self.next.max(at) + rate.interval_ms();
        }
    }

    /// Reserve the moment an event arriving at `now` may go (ms), and count it.
    pub fn reserve(&mut self, now: u64) -> u64 {
        let at = self.slot(now);
        self.commit(at);
        at.ceil() as u64
    }

    /// Count an event at `now` if it may go now; else when it could.
    pub fn try_take(&mut self, now: u64) -> Result<(), u64> {
        let at = self.slot(now);
        if at <= now as f64 {
            self.commit(at);
            Ok(())
        } else {
            Err(at.ceil() as u64)
        }
    }

    /// Let nothing go before `until` (ms).
    pub fn pause_until(&mut self, until: u64) {
        self.paused_until = self.paused_until.max(until);
    }

    /// Whether this limiter holds nothing back at `now`: no rate, no pause.
    pub fn is_idle(&self, now: u64) -> bool {
        self.rate.is_none() && self.paused_until <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: u32, burst: u32) -> Option<RateLimitDef> {
        Some(RateLimitDef { per_second: Some(per_second), per_minute: None, burst: Some(burst) })
    }

    #[test]
    fn a_burst_goes_at_once_then_events_are_spaced() {
        let mut l = Limiter::new(rate(10, 3));
        let slots: Vec<u64> = (0..6).map(|_| l.reserve(1_000)).collect();
        assert_eq!(slots, [1_000, 1_000, 1_000, 1_100, 1_200, 1_300]);
        // A quiet spell refills the burst, no more.
        let slots: Vec<u64> = (0..4).map(|_| l.reserve(5_000)).collect();
        assert_eq!(slots, [5_000, 5_000, 5_000, 5_100]);
    }

    #[test]
    fn no_window_of_a_second_holds_more_than_the_rate_and_the_burst() {
        let mut l = Limiter::new(rate(7, 4));
        let mut slots: Vec<u64> = (0..200).map(|i| l.reserve(i * 13)).collect();
        slots.sort();
        for (i, start) in slots.iter().enumerate() {
            let within = slots[i..].iter().take_while(|t| **t < start + 1_000).count();
            assert!(within <= 7 + 4, "{within} events in the second from {start}");
        }
    }

    #[test]
    fn try_take_says_when_and_takes_nothing_when_refused() {
        let mut l = Limiter::new(Some(RateLimitDef { per_second: None, per_minute: Some(60), burst: None }));
        assert_eq!(l.try_take(0), Ok(()));
        assert_eq!(l.try_take(10), Err(1_000));
        assert_eq!(l.try_take(999), Err(1_000));
        assert_eq!(l.try_take(1_000), Ok(()));
    }

    #[test]
    fn a_pause_holds_everything_back_even_without_a_rate() {
        let mut l = Limiter::new(None);
        assert!(l.is_idle(0));
        l.pause_until(7_000);
        assert!(!l.is_idle(100));
        assert_eq!(l.reserve(100), 7_000);
        assert_eq!(l.try_take(6_999), Err(7_000));
        assert_eq!(l.try_take(7_000), Ok(()));
        assert!(l.is_idle(7_000));
    }
}
