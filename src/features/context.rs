//! What a window is weighed against beyond itself: who else used its addresses, its
//! addresses' failed sign-ins, and the principal's usual hours.

use super::{Agg, FeatureStore, History, rules};

impl FeatureStore {
    /// 1 for addresses no other principal used before `start`, falling as more did (the
    /// least-shared of the window's addresses counts).
    pub(super) fn shared_before(&self, root: u64, a: &Agg, start: i64) -> f64 {
        let others = |ip: &u64| {
            self.ip_users.get(ip).map_or(0, |users| users.iter().filter(|(r, s)| **r != root && s.0 < start).count())
        };
        a.ips.iter().map(others).min().map_or(1.0, |n| 1.0 / (1.0 + n as f64))
    }

    /// The brute-force bit for an entity-window whose addresses failed many sign-ins.
    pub(super) fn brute_force(&self, start: i64, a: &Agg) -> u16 {
        let hit = a.console_failures > 0
            && a.ips
                .iter()
                .any(|ip| self.login_failures.get(&(start, *ip)).is_some_and(|&n| n >= rules::BRUTE_FORCE_FAILURES));
        if hit { rules::CONSOLE_BRUTE_FORCE } else { 0 }
    }
}

/// How usual this window's hours of day are for the principal: the share of its other events
/// that fell in the same hours (weighted by this window's own spread). With no other events,
/// the uniform 1/24.
pub(super) fn hour_share(hist: Option<&History>, a: &Agg) -> f64 {
    let Some(h) = hist else { return 1.0 / 24.0 };
    let total: u32 = h.hours.iter().sum::<u32>().saturating_sub(a.events);
    if total == 0 {
        return 1.0 / 24.0;
    }
    (0..24)
        .map(|i| {
            let others = h.hours[i].saturating_sub(a.hours[i]);
            f64::from(a.hours[i]) / f64::from(a.events) * f64::from(others) / f64::from(total)
        })
        .sum()
}
