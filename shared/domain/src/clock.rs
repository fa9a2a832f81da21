//! Where the functions get the time. Lambda reads the system clock; the local
//! devstack and the tests use a clock they can set and move forward, so a
//! week-long sequence can be run in seconds against the real code.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or advanced. Clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().expect("the clock lock is never poisoned") = now;
    }

    /// Moves the time forward (never back) and returns the new time.
    pub fn advance(&self, by: TimeDelta) -> DateTime<Utc> {
        let mut now = self.0.lock().expect("the clock lock is never poisoned");
        *now += by.max(TimeDelta::zero());
        *now
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("the clock lock is never poisoned")
    }
}

/// The system clock moved forward by a settable offset: the devstack's clock,
/// which `POST /dev/clock/advance` fast-forwards while time keeps running.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock(Arc<Mutex<TimeDelta>>);

impl OffsetClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, by: TimeDelta) -> DateTime<Utc> {
        let mut offset = self.0.lock().expect("the clock lock is never poisoned");
        *offset += by.max(TimeDelta::zero());
        Utc::now() + *offset
    }

    pub fn offset(&self) -> TimeDelta {
        *self.0.lock().expect("the clock lock is never poisoned")
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}
