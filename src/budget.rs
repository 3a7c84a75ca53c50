//! The action's time budget, from `CRM_meta_timeout`: waits (DAD, probes,
//! foreground announcements) are cut to what is left, minus a reserve kept
//! for cleaning up, so that Pacemaker never has to kill the agent.

use std::time::{Duration, Instant};

/// Time from the start of an action until the caller kills it, less a reserve.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
}

impl Budget {
    /// A budget for an action the caller allows `timeout` for. A tenth of
    /// it (at least 500 ms, at most 5 s) is kept back for cleanup.
    pub fn new(started: Instant, timeout: Duration) -> Budget {
        let reserve = (timeout / 10).clamp(Duration::from_millis(500), Duration::from_secs(5));
        Budget { deadline: started + timeout.saturating_sub(reserve) }
    }

    /// The instant the budget ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// What is left of the budget (zero when spent).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_is_a_tenth_within_bounds() {
        let now = Instant::now();
        assert_eq!(Budget::new(now, Duration::from_secs(20)).deadline - now, Duration::from_secs(18));
        assert_eq!(Budget::new(now, Duration::from_secs(2)).deadline - now, Duration::from_millis(1500));
        assert_eq!(Budget::new(now, Duration::from_secs(120)).deadline - now, Duration::from_secs(115));
        assert_eq!(Budget::new(now, Duration::from_millis(100)).deadline, now);
    }
}
