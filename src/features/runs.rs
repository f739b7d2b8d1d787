//! Runs of consecutive active windows per (principal, address).
//!
//! A slow intruder with a stolen key makes a few ordinary calls every hour, around the clock,
//! from one address. Each window alone looks like a developer's quiet evening; what gives it
//! away is duration: people stop, so a principal whose address has been active for longer than
//! any stretch it kept before is behaving unlike itself. Always-on roles never finish a run, so
//! they have no completed stretch to exceed and are not judged.

use rustc_hash::{FxHashMap, FxHashSet};

const DAY: i64 = 86_400;

/// The windows one principal was active in, per address.
pub type PairWindows = FxHashMap<u64, FxHashSet<i64>>;

/// For each principal: its runs and the longest stretch it had completed before a time.
#[derive(Debug, Default)]
pub struct RunIndex {
    /// Per (principal, address): runs as (first window, last window), sorted.
    pairs: FxHashMap<(u64, u64), Vec<(i64, i64)>>,
    /// Per principal: (last window of a run, longest run length so far), sorted by end.
    longest_before: FxHashMap<u64, Vec<(i64, u32)>>,
    /// Per principal: its first active window.
    first: FxHashMap<u64, i64>,
    window: i64,
}

impl RunIndex {
    /// Builds the index from each principal's per-address windows.
    pub fn new<'a>(window: i64, principals: impl Iterator<Item = (u64, &'a PairWindows)>) -> Self {
        let mut idx = RunIndex { window, ..Default::default() };
        for (root, per_ip) in principals {
            let mut ends: Vec<(i64, u32)> = Vec::new();
            for (&ip, windows) in per_ip {
                let mut w: Vec<i64> = windows.iter().copied().collect();
                w.sort_unstable();
                let mut runs: Vec<(i64, i64)> = Vec::new();
                for t in w {
                    match runs.last_mut() {
                        Some(run) if run.1 + window == t => run.1 = t,
                        _ => runs.push((t, t)),
                    }
                }
                ends.extend(runs.iter().map(|&(a, b)| (b, ((b - a) / window + 1) as u32)));
                if let Some(&(a, _)) = runs.first() {
                    let first = idx.first.entry(root).or_insert(a);
                    *first = (*first).min(a);
                }
                idx.pairs.insert((root, ip), runs);
            }
            ends.sort_unstable();
            let mut best = 0;
            for e in &mut ends {
                best = best.max(e.1);
                e.1 = best;
            }
            idx.longest_before.insert(root, ends);
        }
        idx
    }

    /// How far the run of `(root, ip)` that reaches window `start` exceeds the principal's
    /// longest run completed before it began: run length so far over that longest run. 0 when
    /// the principal has less than a day of history before the run, no completed run, or the
    /// pair was not active at `start`.
    pub fn excess(&self, root: u64, ip: u64, start: i64) -> f64 {
        let Some(runs) = self.pairs.get(&(root, ip)) else { return 0.0 };
        let i = runs.partition_point(|r| r.0 <= start);
        let Some(&(first, last)) = i.checked_sub(1).map(|i| &runs[i]) else { return 0.0 };
        if start > last {
            return 0.0;
        }
        let so_far = ((start - first) / self.window + 1) as f64;
        // A day of history first, so that a principal's first evening is not its yardstick.
        if self.first[&root] > first - DAY {
            return 0.0;
        }
        // A run that ended the window before this one began cannot be told apart from a gap
        // in it, so only runs that ended earlier count as completed.
        let ends = &self.longest_before[&root];
        let j = ends.partition_point(|e| e.0 < first - self.window);
        match j.checked_sub(1) {
            Some(j) => so_far / f64::from(ends[j].1),
            None => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(pairs: &[(u64, u64, &[i64])]) -> RunIndex {
        let mut by_root: FxHashMap<u64, PairWindows> = FxHashMap::default();
        for &(root, ip, w) in pairs {
            by_root.entry(root).or_default().entry(ip).or_default().extend(w.iter().map(|h| h * 3600));
        }
        RunIndex::new(3600, by_root.iter().map(|(r, p)| (*r, p)))
    }

    #[test]
    fn a_run_longer_than_any_before_grows_its_excess() {
        // Day 1: eight hours from the office. Day 2 on: thirty hours from a new address.
        let office: Vec<i64> = (9..17).collect();
        let intruder: Vec<i64> = (40..70).collect();
        let idx = index(&[(1, 10, &office), (1, 20, &intruder)]);
        assert_eq!(idx.excess(1, 20, 40 * 3600), 1.0 / 8.0);
        assert_eq!(idx.excess(1, 20, 55 * 3600), 16.0 / 8.0);
        assert_eq!(idx.excess(1, 20, 69 * 3600), 30.0 / 8.0);
        // Inactive at that hour, or not a pair of this principal.
        assert_eq!(idx.excess(1, 20, 71 * 3600), 0.0);
        assert_eq!(idx.excess(2, 20, 55 * 3600), 0.0);
    }

    #[test]
    fn a_day_of_history_comes_first() {
        // The same intruder starting twenty hours after the principal was first seen.
        let office: Vec<i64> = (9..17).collect();
        let intruder: Vec<i64> = (29..59).collect();
        let idx = index(&[(1, 10, &office), (1, 20, &intruder)]);
        assert_eq!(idx.excess(1, 20, 58 * 3600), 0.0);
    }

    #[test]
    fn no_completed_run_means_no_judgement() {
        let always: Vec<i64> = (0..200).collect();
        let idx = index(&[(1, 10, &always)]);
        assert_eq!(idx.excess(1, 10, 150 * 3600), 0.0);
        // The office run itself is the first: nothing before it to exceed.
        let office: Vec<i64> = (9..17).chain(33..41).collect();
        let idx = index(&[(1, 10, &office), (1, 11, &[20, 21])]);
        assert_eq!(idx.excess(1, 10, 16 * 3600), 0.0);
        // Day 2's office run is judged against day 1's (8) and the evening's (2).
        assert_eq!(idx.excess(1, 10, 40 * 3600), 1.0);
    }
}
