//! The `demo` source: the generator streamed live, so trailtop works on a fresh machine with
//! no AWS account. It back-fills a day of history so the model has a baseline at once, starts
//! an attack within the first minute of live traffic and another every ten minutes after
//! that. Its events go through the same parser as real files.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::{SourceMsg, SourceStatus};
use crate::generate::{ALL_SCENARIOS, GenEvent, Generator};
use crate::parse::{Event, ParseOptions, ParseStats, parse_document};

/// Benign events per hour of demo time: a busy small account.
pub const DEMO_RATE: f64 = 2400.0;
const ATTACK_EVERY: i64 = 600;

/// The built-in demo source.
pub struct DemoSource {
    /// The source's id.
    pub id: usize,
    /// The generator's seed.
    pub seed: u64,
    /// Demo seconds per real second.
    pub speed: f64,
    /// Hours of history back-filled at start.
    pub history_hours: i64,
    /// Keep streaming after the back-fill.
    pub follow: bool,
    /// How records are parsed.
    pub opts: ParseOptions,
    /// The demo's "now" at start; real time unless a test fixes it.
    pub now: i64,
}

impl DemoSource {
    /// A demo on the real clock, streamed at `speed` times real time.
    pub fn new(id: usize, speed: f64, follow: bool, opts: ParseOptions) -> Self {
        Self {
            id,
            seed: 42,
            speed: speed.max(0.01),
            history_hours: 24,
            follow,
            // At `--speed` above 1 the demo's clock runs ahead of this machine's: its records
            // are its own, so no time ahead is implausible.
            opts: ParseOptions { max_ahead: i64::MAX, ..opts },
            now: chrono::Utc::now().timestamp(),
        }
    }

    /// Back-fills, then streams until the receiver hangs up.
    pub fn run(self, tx: Sender<SourceMsg>) {
        let status = |s| SourceMsg::Status { source: self.id, status: s };
        let start = self.now - self.history_hours * 3600;
        let mut g = Generator::with_rate(self.seed, start, DEMO_RATE);
        // Two incidents in the history, so the first screen already has something to show.
        g.schedule(ALL_SCENARIOS[5], self.now - 20 * 3600, 0);
        g.schedule(ALL_SCENARIOS[1], self.now - 5 * 3600, 1);
        let mut next_attack = self.now + 30;
        // The first live attack is stolen-key recon, which starts at its scheduled time (some
        // scenarios move to a night hour of their victim's time zone, which can land hours
        // away); the others follow in turn.
        let mut attack_no = 2u64;
        let live_scenario = |no: u64| ALL_SCENARIOS[(no - 2) as usize % ALL_SCENARIOS.len()];
        let mut queue: VecDeque<GenEvent> = VecDeque::new();
        let total = self.history_hours as u64;
        let mut done = 0;
        // Back-fill: whole hours up to now.
        while g.clock() <= self.now {
            if self.follow {
                while next_attack < g.clock() + 3600 + 3600 {
                    g.schedule(live_scenario(attack_no), next_attack, attack_no);
                    attack_no += 1;
                    next_attack += ATTACK_EVERY;
                }
            }
            queue.extend(g.next_hour());
            let upto: Vec<GenEvent> = drain_until(&mut queue, self.now);
            if tx.send(self.batch(&upto)).is_err() {
                return;
            }
            done += 1;
            if tx.send(status(SourceStatus::Backfilling { done: done.min(total), total })).is_err() {
                return;
            }
        }
        if !super::backfill_done(&tx, self.id, self.follow) {
            return;
        }
        let began = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let clock = self.now + (began.elapsed().as_secs_f64() * self.speed) as i64;
            while queue.back().is_none_or(|e| e.time <= clock) {
                while next_attack < g.clock() + 3600 {
                    g.schedule(live_scenario(attack_no), next_attack, attack_no);
                    attack_no += 1;
                    next_attack += ATTACK_EVERY;
                }
                queue.extend(g.next_hour());
            }
            let due = drain_until(&mut queue, clock);
            if !due.is_empty() && tx.send(self.batch(&due)).is_err() {
                return;
            }
        }
    }

    fn batch(&self, events: &[GenEvent]) -> SourceMsg {
        let mut out: Vec<Event> = Vec::with_capacity(events.len());
        let mut stats = ParseStats::default();
        let mut buf = Vec::new();
        for e in events {
            buf.clear();
            if serde_json::to_writer(&mut buf, &e.record).is_ok() {
                parse_document(&buf, &self.opts, &mut out, &mut stats);
            }
        }
        SourceMsg::Events { source: self.id, events: out, stats, error: None }
    }
}

fn drain_until(queue: &mut VecDeque<GenEvent>, t: i64) -> Vec<GenEvent> {
    let n = queue.iter().take_while(|e| e.time <= t).count();
    queue.drain(..n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;

    /// History first, then live traffic with attack traffic in its first minute of demo
    /// time, whatever the clock says at start (the first live attack once moved to a night hour
    /// of its victim's time zone, 11 minutes in or into the back-fill).
    #[test]
    fn backfills_history_then_streams_an_attack_within_a_minute() {
        let real_now = chrono::Utc::now().timestamp();
        for now in [1_709_900_000, 1_709_900_000 + 7 * 3600, 1_709_900_000 + 15 * 3600 + 1234, real_now] {
            let first = first_live_attack(now);
            assert!(first > now && first <= now + 60, "start {now}: first attack event {} s in", first - now);
        }
    }

    /// At `--speed 20000` the demo's clock passes this machine's by a day within seconds; its
    /// records were then all refused as stamped in the future (2.3 million "skipped" after a
    /// minute, the event count frozen). A demo whose clock starts two days ahead stands for it.
    #[test]
    fn a_fast_demo_runs_ahead_of_the_clock_without_refusing_its_records() {
        let (tx, rx) = bounded(1024);
        let mut src = DemoSource::new(0, 1.0, false, ParseOptions::default());
        src.history_hours = 1;
        src.now += 2 * 86_400;
        let ahead = chrono::Utc::now().timestamp() + crate::parse::time::MAX_AHEAD;
        std::thread::spawn(move || src.run(tx));
        let (mut events, mut invalid) = (Vec::new(), 0);
        for msg in rx.iter() {
            if let SourceMsg::Events { events: got, stats, .. } = msg {
                invalid += stats.invalid;
                events.extend(got);
            }
        }
        assert_eq!(invalid, 0, "no demo record is refused");
        assert!(events.len() > 1000, "an hour of demo traffic: {}", events.len());
        assert!(events.iter().all(|e| e.time >= ahead), "every record more than a day ahead of the clock");
    }

    /// When the first hostile live event happens, in demo time.
    fn first_live_attack(now: i64) -> i64 {
        let (tx, rx) = bounded(1024);
        let src = DemoSource {
            id: 3,
            seed: 1,
            speed: 2400.0,
            history_hours: 3,
            follow: true,
            opts: ParseOptions::default(),
            now,
        };
        std::thread::spawn(move || src.run(tx));
        let mut history = 0;
        let mut live = false;
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(msg) = rx.recv_deadline(deadline) {
            match msg {
                SourceMsg::Status { status: SourceStatus::Live, .. } => live = true,
                SourceMsg::Events { events, .. } if !live => {
                    assert!(events.iter().all(|e| e.time <= now));
                    history += events.len();
                }
                SourceMsg::Events { events, .. } => {
                    assert!(events.iter().all(|e| e.time > now));
                    if let Some(e) =
                        events.iter().find(|e| e.user_agent.contains("kali") || e.user_agent.contains("enumerate-iam"))
                    {
                        assert!(history > 3 * 1000, "{history}");
                        return e.time;
                    }
                }
                _ => {}
            }
        }
        panic!("no attack traffic in a minute of real time (40 demo minutes) after {now}");
    }
}
