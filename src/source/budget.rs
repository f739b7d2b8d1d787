//! One budget of decompressed bytes for every file and object being inflated at once.
//!
//! Each input is capped on its own (1 GiB), but a folder or prefix of many small gzip bombs is
//! inflated on every core and, for S3, on the blocking pool: without a shared budget the caps
//! add up to tens of GiB. A decoder leases bytes before its buffer grows and waits while the
//! budget is spent, except the oldest decoder alive, which always proceeds: so one of them
//! always makes progress (no deadlock), and memory stays under the budget plus one input's cap.

use std::collections::BTreeSet;
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard};

/// The process-wide budget every file and object decoder leases from.
pub static INFLATE: LazyLock<Budget> = LazyLock::new(|| Budget::new(crate::parse::DEFAULT_MAX_FILE_BYTES));

/// A budget of bytes shared by decoders.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    in_use: u64,
    peak: u64,
    /// The tickets of the leases alive; the smallest is the oldest.
    alive: BTreeSet<u64>,
    next: u64,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Budget {
        Budget { limit, state: Mutex::new(State::default()), freed: Condvar::new() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A lease holding nothing yet; what it holds is returned when it is dropped.
    pub fn lease(&self) -> Lease<'_> {
        let mut st = self.state();
        let ticket = st.next;
        st.next += 1;
        st.alive.insert(ticket);
        Lease { budget: self, ticket, held: 0 }
    }

    /// The most bytes leased at once so far.
    pub fn peak(&self) -> u64 {
        self.state().peak
    }

    /// Bytes leased now.
    pub fn in_use(&self) -> u64 {
        self.state().in_use
    }
}

/// Bytes one decoder holds from a [`Budget`].
#[derive(Debug)]
pub struct Lease<'a> {
    budget: &'a Budget,
    ticket: u64,
    held: u64,
}

impl Lease<'_> {
    /// Raises what this lease holds to `bytes` (a buffer's new capacity), waiting while the
    /// budget is spent unless this is the oldest lease alive.
    pub fn hold(&mut self, bytes: u64) {
        let Some(more) = bytes.checked_sub(self.held).filter(|&m| m > 0) else { return };
        let b = self.budget;
        let mut st = b.state();
        while st.in_use + more > b.limit && st.alive.first() != Some(&self.ticket) {
            st = b.freed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.in_use += more;
        st.peak = st.peak.max(st.in_use);
        self.held = bytes;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut st = self.budget.state();
        st.in_use -= self.held;
        st.alive.remove(&self.ticket);
        drop(st);
        // Waiters recheck: room may have been freed, or the oldest may have changed.
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight decoders each growing to 8 MiB against a 10 MiB budget: all finish, and no more
    /// than the budget plus one decoder's size is ever held.
    #[test]
    fn many_decoders_share_the_budget_and_all_finish() {
        let budget = Budget::new(10 << 20);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let mut lease = budget.lease();
                    for mib in 1..=8u64 {
                        lease.hold(mib << 20);
                        std::thread::yield_now();
                    }
                });
            }
        });
        assert_eq!(budget.in_use(), 0);
        assert!(budget.peak() <= (10 << 20) + (8 << 20), "{}", budget.peak());
        assert!(budget.peak() >= 8 << 20);
    }

    #[test]
    fn the_oldest_lease_proceeds_past_the_budget() {
        let budget = Budget::new(1 << 20);
        let mut old = budget.lease();
        let _young = budget.lease();
        old.hold(4 << 20);
        assert_eq!(budget.in_use(), 4 << 20);
        drop(old);
        assert_eq!(budget.in_use(), 0);
    }
}
