//! The event rate per minute of event time, for the console's chart.

use std::collections::BTreeMap;

use super::protocol::RatePoint;
use crate::parse::Event;

/// Minutes kept: a day of event time behind the newest.
const KEEP: i64 = 86_400;

#[derive(Debug, Default)]
pub struct Rates {
    minutes: BTreeMap<i64, RatePoint>,
}

impl Rates {
    pub fn add(&mut self, ev: &Event) {
        let minute = ev.time.div_euclid(60) * 60;
        let p = self.minutes.entry(minute).or_insert(RatePoint { minute, ..Default::default() });
        p.events += 1;
        p.errors += u32::from(ev.error_code.is_some());
    }

    /// The last day of minutes, oldest first (older ones are dropped).
    pub fn points(&mut self) -> Vec<RatePoint> {
        if let Some(&newest) = self.minutes.keys().next_back() {
            self.minutes.retain(|m, _| *m > newest - KEEP);
        }
        self.minutes.values().copied().collect()
    }
}
