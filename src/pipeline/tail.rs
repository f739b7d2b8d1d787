//! The newest events, kept in chunks so that a snapshot shares them instead of copying.
//!
//! Full chunks never change once filled: a published [`TailView`] holds them by `Arc`, and
//! copies only the chunk still filling (at most [`CHUNK`] pointers). Publishing the console's
//! 200,000-record tail copied every pointer, every two seconds.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::parse::Event;

/// Events a chunk holds.
pub const CHUNK: usize = 1024;

type Chunk = Arc<Vec<Arc<Event>>>;

/// The pipeline's tail: at most `capacity` events and about `budget` bytes of them (see
/// [`Event::approx_bytes`]), oldest first. An evicted event's memory is freed with its chunk.
#[derive(Debug)]
pub struct Tail {
    full: VecDeque<Chunk>,
    open: Vec<Arc<Event>>,
    /// Events of the oldest chunk already evicted.
    skip: usize,
    len: usize,
    capacity: usize,
    bytes: usize,
    budget: usize,
    /// The newest event time evicted so far: older records are no longer held.
    evicted_until: Option<i64>,
}

impl Tail {
    /// An empty tail keeping at most `capacity` events of at most `budget` bytes in all.
    pub fn new(capacity: usize, budget: usize) -> Tail {
        Tail {
            full: VecDeque::new(),
            open: Vec::with_capacity(CHUNK),
            skip: 0,
            len: 0,
            capacity,
            bytes: 0,
            budget,
            evicted_until: None,
        }
    }

    /// Adds the newest event, dropping the oldest past the capacity or the budget.
    pub fn push(&mut self, e: Arc<Event>) {
        if self.capacity == 0 {
            return;
        }
        self.bytes += e.approx_bytes();
        self.open.push(e);
        self.len += 1;
        if self.open.len() == CHUNK {
            self.full.push_back(Arc::new(std::mem::replace(&mut self.open, Vec::with_capacity(CHUNK))));
        }
        while self.len > self.capacity || (self.bytes > self.budget && self.len > 1) {
            let front = self.full.front().map_or(&self.open[..], |c| &c[..]);
            let (gone, front_len) = (&front[self.skip], front.len());
            self.bytes -= gone.approx_bytes();
            self.evicted_until = Some(self.evicted_until.map_or(gone.time, |t| t.max(gone.time)));
            self.len -= 1;
            self.skip += 1;
            if self.skip == front_len {
                if self.full.pop_front().is_none() {
                    self.open.clear();
                }
                self.skip = 0;
            }
        }
    }

    /// About how many bytes the events held take.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The newest event time evicted so far, if any was.
    pub fn evicted_until(&self) -> Option<i64> {
        self.evicted_until
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What a snapshot holds: the full chunks shared, the open one copied.
    pub fn view(&self) -> TailView {
        TailView {
            full: self.full.iter().cloned().collect(),
            open: Arc::new(self.open.clone()),
            skip: self.skip,
            len: self.len,
        }
    }
}

/// A published tail, oldest first. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct TailView {
    full: Vec<Chunk>,
    open: Chunk,
    skip: usize,
    len: usize,
}

impl TailView {
    /// A view of `events` (tests and benchmarks build snapshots by hand).
    pub fn from_events(events: Vec<Arc<Event>>) -> TailView {
        let mut tail = Tail::new(events.len(), usize::MAX);
        for e in events {
            tail.push(e);
        }
        tail.view()
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th oldest event.
    pub fn get(&self, i: usize) -> Option<&Arc<Event>> {
        if i >= self.len {
            return None;
        }
        let at = i + self.skip;
        let (chunk, off) = (at / CHUNK, at % CHUNK);
        match self.full.get(chunk) {
            Some(c) => c.get(off),
            None => self.open.get(at - self.full.len() * CHUNK),
        }
    }

    /// Oldest first; `.rev()` for newest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<Event>> + ExactSizeIterator {
        (0..self.len).map(move |i| &self[i])
    }
}

impl std::ops::Index<usize> for TailView {
    type Output = Arc<Event>;

    fn index(&self, i: usize) -> &Arc<Event> {
        self.get(i).unwrap_or_else(|| panic!("tail index {i} out of {}", self.len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: usize) -> Arc<Event> {
        let doc = format!(
            r#"{{"eventTime":"2024-03-01T10:00:00Z","eventName":"E","eventID":"{i}","userIdentity":{{"arn":"a"}}}}"#
        );
        Arc::new(crate::parse::parse_bytes(doc.as_bytes(), &Default::default()).0.remove(0))
    }

    #[test]
    fn a_view_holds_the_newest_events_in_order_however_the_chunks_fall() {
        for capacity in [0, 1, 5, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7] {
            let mut tail = Tail::new(capacity, usize::MAX);
            for n in 0..(4 * CHUNK + 13) {
                tail.push(ev(n));
                if n % 997 == 0 || n + 1 == 4 * CHUNK + 13 {
                    let v = tail.view();
                    let kept = (n + 1).min(capacity);
                    assert_eq!(v.len(), kept);
                    let ids: Vec<usize> = v.iter().map(|e| e.id.parse().unwrap()).collect();
                    assert_eq!(ids, ((n + 1 - kept)..=n).collect::<Vec<_>>(), "capacity {capacity} at {n}");
                    assert_eq!(v.iter().next_back().map(|e| e.id.to_string()), (kept > 0).then(|| n.to_string()));
                    for (i, e) in v.iter().enumerate() {
                        assert!(Arc::ptr_eq(e, &v[i]));
                    }
                    assert!(v.get(kept).is_none());
                }
            }
        }
    }

    #[test]
    fn the_byte_budget_keeps_the_newest_that_fit() {
        let size = ev(0).approx_bytes();
        let mut tail = Tail::new(usize::MAX, 100 * size + size / 2);
        for n in 0..(3 * CHUNK) {
            tail.push(ev(n % 10));
        }
        assert_eq!(tail.len(), 100);
        assert!(tail.bytes() <= 100 * size + size / 2, "{}", tail.bytes());
        assert_eq!(tail.evicted_until(), Some(ev(0).time));
        // One record over the whole budget is still held, alone.
        let mut small = Tail::new(10, 1);
        small.push(ev(1));
        small.push(ev(2));
        assert_eq!(small.view().iter().map(|e| e.id.to_string()).collect::<Vec<_>>(), ["2"]);
    }

    #[test]
    fn publishing_shares_full_chunks() {
        let mut tail = Tail::new(10 * CHUNK, usize::MAX);
        for n in 0..(3 * CHUNK + 5) {
            tail.push(ev(n));
        }
        let (a, b) = (tail.view(), tail.view());
        assert!(Arc::ptr_eq(&a.full[0], &b.full[0]), "the same chunk, not a copy");
        assert_eq!(a.open.len(), 5);
    }
}
