//! Realistic synthetic CloudTrail with labelled attacks: `trailtop gen` and the `demo` source.
//!
//! Generation walks the clock an hour at a time. Each hour, every actor of the benign
//! population (see `population`) gets its share of events from its schedule, and the events
//! of scheduled attack instances (see `attacks`) that fall in the hour are mixed in. An hour's
//! randomness is seeded by (seed, hour), so the same seed gives the same bytes.

mod attacks;
mod build;
mod catalog;
mod population;
mod record;
pub mod write;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

pub use attacks::{ALL as ALL_SCENARIOS, Scenario};
use population::{Actor, population};
pub use record::Record;

/// Ground truth for one malicious event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The scenario's id.
    pub scenario: &'static str,
    /// The principal as the parser derives it.
    pub principal: String,
    /// The attacker's address.
    pub source_ip: String,
}

/// A generated record and, for an attack, its label.
#[derive(Debug, Clone)]
pub struct GenEvent {
    /// Its time, Unix seconds.
    pub time: i64,
    /// The record as CloudTrail writes it.
    pub record: Box<Record>,
    /// What attack it belongs to, if any.
    pub label: Option<Label>,
}

/// A realistic account's traffic, hour by hour, with attacks scheduled into it.
pub struct Generator {
    seed: u64,
    actors: Vec<Actor>,
    /// Events per unit of intensity.
    scale: f64,
    carry: f64,
    /// Attack events not yet emitted, sorted by time (latest last).
    pending: Vec<GenEvent>,
    next_hour: i64,
    instances: u64,
    /// With a total to meet: benign events still to emit, and the end of the period (its last
    /// hour takes what rounding left over, so the total is exact).
    budget: Option<(u64, i64)>,
}

impl Generator {
    /// A generator whose benign traffic runs at `events_per_hour` on average over a week.
    pub fn with_rate(seed: u64, start: i64, events_per_hour: f64) -> Self {
        let mut g = Self::new(seed, start);
        let week = g.intensity_sum(g.next_hour, g.next_hour + 7 * 86_400);
        g.scale = events_per_hour * 168.0 / week.max(1e-9);
        g
    }

    /// A generator that emits `events` in total (±1) over `[start, start + days)`, attacks
    /// included, with each of `scenarios` placed once per week (at least once).
    pub fn for_total(seed: u64, start: i64, days: u32, events: u64, scenarios: &[Scenario]) -> Self {
        let mut g = Self::new(seed, start);
        let end = g.next_hour + i64::from(days) * 86_400;
        let mut sched_rng = SmallRng::seed_from_u64(seed ^ 0x5EED_A77A_C4ED);
        let per = (days / 7).max(1);
        for rep in 0..per {
            for (i, s) in scenarios.iter().enumerate() {
                // After a day of baseline when there is room, and inside the period.
                let lo = if days >= 2 { g.next_hour + 86_400 } else { g.next_hour + 6 * 3600 };
                let hi = (end - s.span() - 3600).max(lo + 1);
                let t = sched_rng.gen_range(lo..hi);
                g.schedule(*s, t, u64::from(rep) * 100 + i as u64);
            }
        }
        g.pending.retain(|e| e.time < end);
        let benign = events.saturating_sub(g.pending.len() as u64);
        g.scale = benign as f64 / g.intensity_sum(g.next_hour, end).max(1e-9);
        g.budget = Some((benign, end));
        g
    }

    /// Attack events scheduled and not yet emitted.
    pub fn attack_events(&self) -> usize {
        self.pending.len()
    }

    fn new(seed: u64, start: i64) -> Self {
        Self {
            seed,
            actors: population(),
            scale: 1.0,
            carry: 0.0,
            pending: Vec::new(),
            next_hour: start.div_euclid(3600) * 3600,
            instances: 0,
            budget: None,
        }
    }

    fn intensity_sum(&self, from: i64, to: i64) -> f64 {
        (from..to)
            .step_by(3600)
            .map(|h| self.actors.iter().enumerate().map(|(i, a)| a.intensity(i, h)).sum::<f64>())
            .sum()
    }

    /// Adds an instance of `s` starting at `t`; `instance` varies victims and addresses.
    pub fn schedule(&mut self, s: Scenario, t: i64, instance: u64) {
        self.instances += 1;
        let mut rng =
            SmallRng::seed_from_u64(self.seed ^ instance.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ (s as u64) << 56);
        for (time, record) in attacks::events(s, t, instance, &mut rng) {
            let label = label_of(s, &record);
            self.pending.push(GenEvent { time, record: Box::new(record), label: Some(label) });
        }
        self.pending.sort_by_key(|e| std::cmp::Reverse(e.time));
    }

    /// Attack instances scheduled so far.
    pub fn scheduled_instances(&self) -> u64 {
        self.instances
    }

    /// Start of the hour the next call to [`Generator::next_hour`] produces.
    pub fn clock(&self) -> i64 {
        self.next_hour
    }

    /// All events of the next hour, in time order.
    pub fn next_hour(&mut self) -> Vec<GenEvent> {
        self.next_hours(1).pop().unwrap_or_default()
    }

    /// The next `k` hours, each in time order. Counts are drawn in order (they carry
    /// fractions from hour to hour); the records of the hours are made in parallel, each from
    /// its own seed, so the result does not depend on `k`.
    pub fn next_hours(&mut self, k: usize) -> Vec<Vec<GenEvent>> {
        let plans: Vec<(i64, Vec<usize>, Vec<GenEvent>)> = (0..k)
            .map(|_| {
                let hour = self.next_hour;
                self.next_hour += 3600;
                let mut counts: Vec<usize> = (0..self.actors.len())
                    .map(|i| {
                        let x = self.carry + self.actors[i].intensity(i, hour) * self.scale;
                        let n = x.floor();
                        self.carry = x - n;
                        n as usize
                    })
                    .collect();
                if let Some((left, end)) = &mut self.budget {
                    // Never past the total; the last hour makes up what rounding lost, given
                    // to the busiest actor of that hour.
                    for n in &mut counts {
                        *n = (*n).min(*left as usize);
                        *left -= *n as u64;
                    }
                    if hour + 3600 >= *end && *left > 0 {
                        let busiest = (0..self.actors.len())
                            .max_by(|&a, &b| {
                                self.actors[a].intensity(a, hour).total_cmp(&self.actors[b].intensity(b, hour))
                            })
                            .unwrap_or(0);
                        counts[busiest] += *left as usize;
                        *left = 0;
                    }
                }
                let mut attacks = Vec::new();
                while self.pending.last().is_some_and(|e| e.time < hour + 3600) {
                    attacks.extend(self.pending.pop());
                }
                (hour, counts, attacks)
            })
            .collect();
        use rayon::prelude::*;
        plans
            .into_par_iter()
            .map(|(hour, counts, attacks)| {
                let mut rng = SmallRng::seed_from_u64(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hour as u64);
                let mut recs = Vec::new();
                for (actor, n) in self.actors.iter().zip(counts) {
                    actor.emit(&mut rng, hour, n, &mut recs);
                }
                let mut out: Vec<GenEvent> = recs
                    .into_iter()
                    .map(|(time, record)| GenEvent { time, record: Box::new(record), label: None })
                    .collect();
                out.extend(attacks);
                out.sort_by_key(|e| e.time);
                out
            })
            .collect()
    }
}

/// The label of an attack record, with the principal exactly as the parser derives it.
fn label_of(s: Scenario, r: &Record) -> Label {
    let json = serde_json::to_vec(r).unwrap_or_default();
    let principal = crate::parse::parse_bytes(&json, &Default::default())
        .0
        .first()
        .map(|e| e.principal.to_string())
        .unwrap_or_default();
    Label { scenario: s.id(), principal, source_ip: r.source_ip_address.clone() }
}

#[cfg(test)]
mod tests;
