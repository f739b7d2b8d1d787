//! Where reading an S3 prefix stands, and what must be read again.
//!
//! The checkpoint keeps, per day folder, the last key up to which every object was delivered:
//! it moves only over an unbroken run of successes, so an object whose download failed (a
//! missing `kms:Decrypt`, a 500 after the SDK's retries) is listed again on later polls and
//! retried, with backoff, until it is read. Objects after it that were delivered meanwhile are
//! remembered for this run, so they are not fetched twice; after a restart they are read
//! again and their events dropped as duplicates, which costs a download, never a log.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Last key read per day folder, with everything before it delivered.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// Per day folder, the last key up to which every object was delivered.
    pub after: BTreeMap<String, String>,
}

impl Checkpoint {
    /// The saved checkpoint at `path`, or an empty one.
    pub fn load(path: Option<&PathBuf>) -> Checkpoint {
        path.and_then(|p| std::fs::read(p).ok()).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Written atomically (unique temporary file, synced, renamed, directory synced).
    pub fn save(&self, path: &std::path::Path) -> anyhow::Result<()> {
        crate::sys::write_atomic(path, |w| serde_json::to_writer(w, self).map_err(std::io::Error::from))
    }
}

/// The longest wait before a failed object is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

#[derive(Debug)]
struct Failure {
    attempts: u32,
    next: Instant,
    error: String,
}

/// Objects that failed, and those delivered past a failure, in this run.
#[derive(Debug, Default)]
pub struct Retries {
    failed: BTreeMap<String, Failure>,
    delivered: HashSet<String>,
    /// Folders with a failure ahead of the checkpoint in the current pass.
    blocked: HashSet<String>,
    /// Whether the checkpoint moved since it was last saved.
    moved: bool,
}

/// What to do with a listed key.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    Fetch,
    /// Delivered earlier in this run, after a failure: no download.
    Delivered,
    /// Failed, and its backoff has not run out: still in the way of the checkpoint.
    Waiting,
}

impl Retries {
    /// A new pass over the folders: every folder starts unblocked.
    pub fn begin_pass(&mut self) {
        self.blocked.clear();
    }

    pub fn plan(&self, key: &str, now: Instant) -> Plan {
        if self.delivered.contains(key) {
            return Plan::Delivered;
        }
        match self.failed.get(key) {
            Some(f) if f.next > now => Plan::Waiting,
            _ => Plan::Fetch,
        }
    }

    /// `key` of `folder` was delivered (now, or earlier in the run).
    pub fn succeeded(&mut self, folder: &str, key: &str, cp: &mut Checkpoint) {
        self.failed.remove(key);
        if self.blocked.contains(folder) {
            self.delivered.insert(key.to_owned());
        } else {
            self.delivered.remove(key);
            cp.after.insert(folder.to_owned(), key.to_owned());
            self.moved = true;
        }
    }

    /// `key` of `folder` could not be fetched (`error`), or is still waiting (`None`): the
    /// folder's checkpoint stays before it for the rest of the pass.
    pub fn failed(&mut self, folder: &str, key: &str, error: Option<String>, poll: Duration) {
        self.blocked.insert(folder.to_owned());
        if let Some(error) = error {
            let f = self.failed.entry(key.to_owned()).or_insert(Failure {
                attempts: 0,
                next: Instant::now(),
                error: String::new(),
            });
            f.attempts += 1;
            // One poll after the first failure, then doubling, at most an hour.
            let wait = poll.saturating_mul(1 << (f.attempts - 1).min(16)).min(MAX_BACKOFF);
            f.next = Instant::now() + wait;
            f.error = error;
        }
    }

    /// Whether the checkpoint moved since the last call (which resets it).
    pub fn take_moved(&mut self) -> bool {
        std::mem::take(&mut self.moved)
    }

    /// "2 objects not read yet (retried with backoff): s3://b/k: access denied ...", or
    /// `None` when nothing failed.
    pub fn summary(&self) -> Option<String> {
        let (key, first) = self.failed.iter().next()?;
        let n = self.failed.len();
        let s = if n == 1 { "" } else { "s" };
        Some(format!(
            "{n} object{s} not read yet, retried with backoff ({} attempt(s) so far): {key}: {}",
            first.attempts, first.error
        ))
    }

    /// The keys that failed, for the log and `scan`'s stderr.
    pub fn failed_keys(&self) -> impl Iterator<Item = &str> {
        self.failed.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLL: Duration = Duration::from_secs(60);

    #[test]
    fn the_checkpoint_stops_at_the_first_failure_and_moves_on_when_it_is_read() {
        let mut cp = Checkpoint::default();
        let mut r = Retries::default();
        let now = Instant::now();
        r.begin_pass();
        r.succeeded("d/", "d/1", &mut cp);
        r.failed("d/", "d/2", Some("AccessDenied".into()), POLL);
        r.succeeded("d/", "d/3", &mut cp);
        assert_eq!(cp.after["d/"], "d/1", "never past the failed object");
        assert!(r.summary().unwrap().contains("d/2: AccessDenied"));
        // Next pass, before the backoff ran out: the failed key waits, the delivered one is
        // not fetched again, and the checkpoint does not move.
        r.begin_pass();
        assert_eq!(r.plan("d/2", now), Plan::Waiting);
        r.failed("d/", "d/2", None, POLL);
        assert_eq!(r.plan("d/3", now), Plan::Delivered);
        r.succeeded("d/", "d/3", &mut cp);
        assert_eq!(cp.after["d/"], "d/1");
        // After the backoff: fetched, read, and the checkpoint runs over both.
        r.begin_pass();
        assert_eq!(r.plan("d/2", now + POLL * 2), Plan::Fetch);
        r.succeeded("d/", "d/2", &mut cp);
        r.succeeded("d/", "d/3", &mut cp);
        assert_eq!(cp.after["d/"], "d/3");
        assert!(r.summary().is_none());
        assert_eq!(r.plan("d/3", now), Plan::Fetch, "forgotten once behind the checkpoint");
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let mut r = Retries::default();
        let start = Instant::now();
        for _ in 0..3 {
            r.failed("d/", "d/1", Some("500".into()), POLL);
        }
        let next = r.failed["d/1"].next;
        assert!(next >= start + POLL * 4 && next < start + POLL * 5, "{:?}", next - start);
        for _ in 0..20 {
            r.failed("d/", "d/1", Some("500".into()), POLL);
        }
        assert!(r.failed["d/1"].next <= Instant::now() + MAX_BACKOFF);
    }

    #[test]
    fn saved_checkpoints_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp/x.json");
        let mut cp = Checkpoint::default();
        cp.after.insert("a/".into(), "a/1".into());
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(Some(&path)), cp);
        assert_eq!(Checkpoint::load(Some(&dir.path().join("none"))), Checkpoint::default());
    }
}
