//! A sink's queue on disk: alerts appended (synced) as JSON lines to `queue.jsonl`, and the
//! byte position up to which the sink took them in `delivered` (written atomically after each
//! delivery). Delivery resumes there after a restart or a kill, so each alert is delivered at
//! least once and in order. Once everything is delivered the queue is emptied; a delivered
//! position past the queue's end means it was emptied just before a crash, and reads as 0.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;

const QUEUE: &str = "queue.jsonl";
const DELIVERED: &str = "delivered";
/// Alerts the sink refused for good (a 4xx other than 408 and 429): kept here, not lost.
pub const REJECTED: &str = "rejected.jsonl";

struct Inner {
    file: File,
    len: u64,
    delivered: u64,
    pending: u64,
}

/// One sink's queue.
pub struct Spool {
    dir: PathBuf,
    inner: Mutex<Inner>,
    wake: Condvar,
}

fn write_pos(dir: &Path, pos: u64) -> anyhow::Result<()> {
    crate::sys::write_atomic(&dir.join(DELIVERED), |w| write!(w, "{pos}"))
}

impl Spool {
    /// Opens (or makes) the queue in `dir`. A line cut short by a crash while it was appended
    /// is cut off: its alert was never reported spooled, so it is decided again.
    pub fn open(dir: &Path) -> anyhow::Result<Spool> {
        crate::sys::private_dir(dir)?;
        let path = dir.join(QUEUE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        if whole < bytes.len() {
            tracing::warn!("{}: dropping a line cut short ({} bytes)", path.display(), bytes.len() - whole);
            file.set_len(whole as u64)?;
            file.sync_data()?;
        }
        let len = whole as u64;
        let delivered = std::fs::read_to_string(dir.join(DELIVERED))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|p| *p <= len)
            .unwrap_or(0);
        let pending = bytes.get(delivered as usize..whole).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
        Ok(Spool {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner { file, len, delivered, pending: pending as u64 }),
            wake: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `lines` (one JSON document each, without newlines) and syncs them.
    pub fn push(&self, lines: &[String]) -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for l in lines {
            buf.extend_from_slice(l.as_bytes());
            buf.push(b'\n');
        }
        let mut g = self.lock();
        let at = g.len;
        let written = g.file.write_all(&buf).and_then(|_| g.file.sync_data());
        if let Err(e) = written {
            // Whatever part was written is cut off again: the queue holds whole lines only.
            let _ = g.file.set_len(at);
            return Err(e).with_context(|| format!("cannot append to {}", self.dir.join(QUEUE).display()));
        }
        g.len += buf.len() as u64;
        g.pending += lines.len() as u64;
        self.wake.notify_all();
        Ok(())
    }

    /// The oldest alert not yet delivered and the position after it, waiting up to `wait`
    /// for one.
    pub fn peek(&self, wait: Duration) -> anyhow::Result<Option<(String, u64)>> {
        let mut g = self.lock();
        if g.pending == 0 {
            g = self.wake.wait_timeout(g, wait).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
        if g.delivered >= g.len {
            return Ok(None);
        }
        let path = self.dir.join(QUEUE);
        let mut r = BufReader::new(File::open(&path).with_context(|| format!("cannot read {}", path.display()))?);
        r.seek(SeekFrom::Start(g.delivered))?;
        let mut line = Vec::new();
        let n = r.read_until(b'\n', &mut line)?;
        line.pop();
        Ok(Some((String::from_utf8_lossy(&line).into_owned(), g.delivered + n as u64)))
    }

    /// Marks everything before `next` delivered, emptying the queue when that is all of it.
    pub fn ack(&self, next: u64) -> anyhow::Result<()> {
        let mut g = self.lock();
        g.delivered = next.min(g.len);
        g.pending = g.pending.saturating_sub(1);
        if g.delivered == g.len {
            g.file.set_len(0)?;
            g.file.sync_data()?;
            (g.len, g.delivered) = (0, 0);
        }
        write_pos(&self.dir, g.delivered)
    }

    /// Sets `line` aside in `rejected.jsonl` (the sink will never take it) and moves past it.
    pub fn reject(&self, line: &str, next: u64) -> anyhow::Result<()> {
        let path = self.dir.join(REJECTED);
        let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
        writeln!(f, "{line}")
            .and_then(|_| f.sync_data())
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.ack(next)
    }

    /// Alerts not yet delivered.
    pub fn pending(&self) -> u64 {
        self.lock().pending
    }

    /// Wakes a delivery waiting in [`Spool::peek`] (to stop).
    pub fn nudge(&self) {
        self.wake.notify_all();
    }
}
