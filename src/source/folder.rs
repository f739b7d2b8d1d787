//! The local folder source: back-fill every CloudTrail file below a path, then watch it with
//! `notify` and read each new file once, after it has been quiet for a moment (writers such as
//! `aws s3 sync` create, fill and rename files in several steps).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use notify::{EventKind, RecursiveMode, Watcher};
use rayon::prelude::*;

use super::file::{is_candidate, load_file};
use super::{SourceMsg, SourceStatus};
use crate::parse::ParseOptions;

/// How long a new file must go unchanged before it is read.
const QUIET_PERIOD: Duration = Duration::from_millis(400);
const POLL_PERIOD: Duration = Duration::from_millis(100);

/// Every regular file below `root` that may hold CloudTrail records (digests included, so
/// they are counted), in a stable order. Symbolic links are followed only where they stay
/// inside `root` (an `up -> ..` link would read the whole disk); FIFOs, sockets and devices
/// are left alone, since opening one can block for ever.
pub fn list_files(root: &Path) -> Vec<PathBuf> {
    // A file named on the command line is read whatever its name: the user chose it, and the
    // content says what it is.
    if std::fs::metadata(root).is_ok_and(|m| m.is_file()) {
        return vec![root.to_path_buf()];
    }
    let inside = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| !e.path_is_symlink() || std::fs::canonicalize(e.path()).is_ok_and(|t| t.starts_with(&inside)))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && is_candidate(e.path()))
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.sort();
    files
}

/// One thread per core, dropped with the back-fill.
fn backfill_pool(id: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    rayon::ThreadPoolBuilder::new().num_threads(cores).thread_name(move |i| format!("folder-{id}-{i}")).build()
}

/// Whether `path` (through any links) is below `root` (canonical).
fn inside_root(root: &Path, path: &Path) -> bool {
    std::fs::canonicalize(path).is_ok_and(|p| p.starts_with(root))
}

/// A file or a folder, back-filled and then watched.
pub struct FolderSource {
    /// The source's id.
    pub id: usize,
    /// The file or folder.
    pub root: PathBuf,
    /// How records are parsed.
    pub opts: ParseOptions,
    /// Keep watching after the back-fill.
    pub follow: bool,
}

impl FolderSource {
    /// Runs until the receiver hangs up (or, without `follow`, until the back-fill is done).
    pub fn run(mut self, tx: Sender<SourceMsg>) {
        // notify reports absolute paths: a relative root would make every file it reports
        // look new, and be read twice.
        if let Ok(abs) = std::fs::canonicalize(&self.root) {
            self.root = abs;
        }
        let status = |s| SourceMsg::Status { source: self.id, status: s };
        // Watch before listing, so a file that lands during the back-fill is not missed.
        let (wtx, wrx) = mpsc::channel();
        let watcher = if self.follow && self.root.is_dir() {
            match notify::recommended_watcher(wtx)
                .and_then(|mut w| w.watch(&self.root, RecursiveMode::Recursive).map(|()| w))
            {
                Ok(w) => Some(w),
                Err(e) => {
                    let _ =
                        tx.send(status(SourceStatus::Degraded(format!("cannot watch {}: {e}", self.root.display()))));
                    None
                }
            }
        } else {
            None
        };
        let files = list_files(&self.root);
        let total = files.len() as u64;
        if files.is_empty() {
            let what = if self.root.is_dir() {
                "no CloudTrail files (.json, .json.gz, .gz, .jsonl, .ndjson, .log) below it"
            } else {
                "not a regular file (a FIFO or device is never opened)"
            };
            let msg = format!("{}: {what}", self.root.display());
            if tx.send(SourceMsg::Note { source: self.id, text: msg }).is_err() {
                return;
            }
        }
        if tx.send(status(SourceStatus::Backfilling { done: 0, total })).is_err() {
            return;
        }
        let done = std::sync::atomic::AtomicU64::new(0);
        let read = |path: &PathBuf| {
            self.send_file(path, &tx)?;
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if d.is_multiple_of(64) {
                tx.send(status(SourceStatus::Backfilling { done: d, total })).map_err(drop)?;
            }
            Ok::<(), ()>(())
        };
        // Files parse on a pool of this source's own. Its threads wait on the bounded channel
        // when the consumer is busy; in the global pool they would hold the very threads the
        // consumer's model needs to finish, and neither side would move again.
        let ok = match backfill_pool(self.id) {
            Ok(pool) => pool.install(|| files.par_iter().try_for_each(read)),
            Err(e) => {
                tracing::warn!(source = self.id, "no back-fill pool ({e}); reading files one by one");
                files.iter().try_for_each(read)
            }
        };
        if ok.is_err() {
            return;
        }
        // The watcher lives to the end of this function, through `follow_changes`.
        if !super::backfill_done(&tx, self.id, watcher.is_some()) {
            return;
        }
        self.follow_changes(files.into_iter().collect(), &wrx, &tx);
    }

    fn send_file(&self, path: &Path, tx: &Sender<SourceMsg>) -> Result<(), ()> {
        let out = load_file(path, &self.opts);
        if let Some(e) = &out.error {
            tracing::warn!(source = self.id, "{e}");
        }
        tx.send(SourceMsg::Events { source: self.id, events: out.events, stats: out.stats, error: out.error })
            .map_err(drop)
    }

    fn follow_changes(
        &self,
        mut seen: HashSet<PathBuf>,
        wrx: &mpsc::Receiver<notify::Result<notify::Event>>,
        tx: &Sender<SourceMsg>,
    ) {
        let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
        loop {
            match wrx.recv_timeout(POLL_PERIOD) {
                // Opening and reading files (this source's own reads among them) is not news.
                Ok(Ok(event)) if matches!(event.kind, EventKind::Access(_)) => {}
                Ok(Ok(event)) => {
                    for path in event.paths {
                        if matches!(event.kind, EventKind::Create(_)) && path.is_dir() {
                            // Files can land in a new day folder before its watch exists.
                            for f in list_files(&path) {
                                pending.insert(f, Instant::now());
                            }
                        } else if is_candidate(&path) && !seen.contains(&path) {
                            pending.insert(path, Instant::now());
                        }
                    }
                }
                Ok(Err(e)) => {
                    let msg = SourceStatus::Degraded(format!("watch error: {e}"));
                    if tx.send(SourceMsg::Status { source: self.id, status: msg }).is_err() {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            let now = Instant::now();
            let ready: Vec<PathBuf> = pending
                .iter()
                .filter(|(_, t)| now.duration_since(**t) >= QUIET_PERIOD)
                .map(|(p, _)| p.clone())
                .collect();
            for path in ready {
                pending.remove(&path);
                // `is_file` follows links: a FIFO or device is skipped, never opened.
                if seen.contains(&path) || !path.is_file() || !inside_root(&self.root, &path) {
                    continue;
                }
                seen.insert(path.clone());
                if self.send_file(&path, tx).is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::{Receiver, bounded};

    fn record(id: &str) -> String {
        format!(
            r#"{{"Records":[{{"eventTime":"2024-03-01T10:00:00Z","eventName":"E","eventID":"{id}","userIdentity":{{"arn":"arn:aws:iam::1:user/u"}}}}]}}"#
        )
    }

    /// Waits for the next batch of events, skipping status messages.
    fn next_ids(rx: &Receiver<SourceMsg>) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Ok(msg) = rx.recv_deadline(deadline) {
            if let SourceMsg::Events { events, .. } = msg {
                return events.iter().map(|e| e.id.to_string()).collect();
            }
        }
        panic!("no events within 10 s");
    }

    fn wait_live(rx: &Receiver<SourceMsg>) -> Vec<String> {
        let mut ids = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(10)).expect("source went quiet") {
                SourceMsg::Status { status: SourceStatus::Live, .. } => return ids,
                SourceMsg::Events { events, .. } => ids.extend(events.iter().map(|e| e.id.to_string())),
                SourceMsg::Status { .. }
                | SourceMsg::Note { .. }
                | SourceMsg::Commit { .. }
                | SourceMsg::Requests { .. } => {}
            }
        }
    }

    #[test]
    fn backfills_then_follows_renames_and_new_folders() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("AWSLogs/111/CloudTrail/us-east-1/2024/03/01");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("a.json"), record("old")).unwrap();
        std::fs::write(day.join("notes.txt"), "not a log").unwrap();
        let (tx, rx) = bounded(16);
        let src = FolderSource { id: 0, root: dir.path().to_path_buf(), opts: ParseOptions::default(), follow: true };
        let handle = std::thread::spawn(move || src.run(tx));
        assert_eq!(wait_live(&rx), ["old"]);

        // Written under a temporary name, then renamed: read once, under the final name.
        let tmp = day.join("b.json.gz.tmp1234");
        std::fs::write(&tmp, record("renamed")).unwrap();
        std::fs::rename(&tmp, day.join("b.json")).unwrap();
        assert_eq!(next_ids(&rx), ["renamed"]);

        let next_day = dir.path().join("AWSLogs/111/CloudTrail/us-east-1/2024/03/02");
        std::fs::create_dir_all(&next_day).unwrap();
        std::fs::write(next_day.join("c.json"), record("new-day")).unwrap();
        assert_eq!(next_ids(&rx), ["new-day"]);

        // Nothing is read twice.
        assert!(rx.recv_timeout(QUIET_PERIOD * 3).is_err());
        // The watcher thread ends at its next send after the receiver is gone; not joined here.
        drop((rx, handle));
    }

    /// The same folder given by a relative path: notify's absolute paths and its reports of
    /// this source's own reads made every file look new, and each was read twice.
    #[test]
    fn a_relative_root_reads_each_file_once() {
        let dir = tempfile::tempdir().unwrap();
        for id in ["r1", "r2", "r3"] {
            std::fs::write(dir.path().join(format!("{id}.json")), record(id)).unwrap();
        }
        let cwd = std::env::current_dir().unwrap();
        let up: PathBuf = cwd.components().skip(1).map(|_| "..").collect();
        let relative = up.join(dir.path().strip_prefix("/").unwrap());
        assert!(relative.is_relative() && relative.exists(), "{}", relative.display());
        let (tx, rx) = bounded(16);
        let src = FolderSource { id: 0, root: relative, opts: ParseOptions::default(), follow: true };
        std::thread::spawn(move || src.run(tx));
        let mut ids = wait_live(&rx);
        ids.sort();
        assert_eq!(ids, ["r1", "r2", "r3"]);
        let deadline = Instant::now() + QUIET_PERIOD * 4;
        while let Ok(msg) = rx.recv_deadline(deadline) {
            assert!(!matches!(msg, SourceMsg::Events { .. }), "read again: {msg:?}");
        }
    }

    /// Links out of the root are not followed, and FIFOs are not opened (a read would block).
    #[test]
    fn links_out_of_the_root_and_fifos_are_left_alone() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("other.json"), record("outside")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.json"), record("inside")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/s.json"), record("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("away")).unwrap();
        std::os::unix::fs::symlink("..", dir.path().join("sub/up")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("sub"), dir.path().join("alias")).unwrap();
        let fifo = dir.path().join("pipe.json");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let files = list_files(dir.path());
        let names: Vec<String> =
            files.iter().map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
        assert_eq!(names, ["alias/s.json", "in.json", "sub/s.json"], "a link that stays inside is read");
    }
}
