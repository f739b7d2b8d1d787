//! The ordered pipeline of objects between listing and delivery: what is downloading or
//! parsing, oldest first, and what one object gave.

use std::collections::VecDeque;

use super::get::Objects;
use super::{DOWNLOAD_BYTES, DOWNLOADS, INLINE_PARSE_BYTES};
use crate::parse::{ParseOptions, ParseStats, parse_document};
use crate::source::file::{DecodeError, with_decoded};

/// What the pipeline waits for, oldest first, with the objects and compressed bytes in it
/// (folder markers hold no download slot).
#[derive(Default)]
pub(super) struct InFlight {
    queue: VecDeque<Pending>,
    objects: usize,
    bytes: u64,
}

impl InFlight {
    /// Whether an object of `size` compressed bytes may start downloading (one always may).
    pub(super) fn has_room(&self, size: u64) -> bool {
        self.objects == 0 || (self.objects < DOWNLOADS && self.bytes + size <= DOWNLOAD_BYTES)
    }

    /// Whether the oldest item can be handed over without waiting.
    pub(super) fn front_ready(&self) -> bool {
        match self.queue.front() {
            Some(Pending::Object { task, .. }) => task.is_finished(),
            Some(Pending::FolderDone | Pending::Known { .. }) => true,
            None => false,
        }
    }

    pub(super) fn push(&mut self, item: Pending) {
        if let Pending::Object { bytes, .. } = &item {
            (self.objects, self.bytes) = (self.objects + 1, self.bytes + bytes);
        }
        self.queue.push_back(item);
    }

    pub(super) fn pop(&mut self) -> Option<Pending> {
        let item = self.queue.pop_front()?;
        if let Pending::Object { bytes, .. } = &item {
            (self.objects, self.bytes) = (self.objects - 1, self.bytes - bytes);
        }
        Some(item)
    }
}

/// Where a listed object sits.
pub(super) struct Spot {
    pub folder: String,
    pub key: String,
    pub last_of_page: bool,
}

/// An object being fetched, one whose fate is known without a download (`ok`: delivered
/// earlier in the run; otherwise failed and waiting out its backoff), or a marker that a
/// folder's objects are all ahead of it.
pub(super) enum Pending {
    Object { task: tokio::task::JoinHandle<Fetched>, at: Spot, bytes: u64 },
    Known { at: Spot, ok: bool },
    FolderDone,
}

/// One object's events, or why there are none. `failed`: the download itself failed, so the
/// object is retried; a damaged object that was read is not.
pub(super) struct Fetched {
    pub events: Vec<crate::parse::Event>,
    pub stats: ParseStats,
    pub error: Option<String>,
    pub failed: bool,
}

impl Fetched {
    pub(super) fn failure(error: String) -> Fetched {
        let stats = ParseStats { last_error: Some(error.clone()), ..Default::default() };
        Fetched { events: Vec::new(), stats, error: Some(error), failed: true }
    }
}

pub(super) async fn fetch(objects: &Objects, key: &str, listed: u64, opts: &ParseOptions) -> Fetched {
    let mut stats = ParseStats::default();
    let mut events = Vec::new();
    if key.contains("CloudTrail-Digest") {
        stats.digests += 1;
        return Fetched { events, stats, error: None, failed: false };
    }
    let raw = match objects.get(key, listed).await {
        Ok(b) => b,
        Err(e) => return Fetched::failure(format!("s3://{}/{key}: {e}", objects.bucket())),
    };
    let size = raw.len();
    let (key, opts, bucket) = (key.to_owned(), opts.clone(), objects.bucket().to_owned());
    let parse = move || {
        let error = with_decoded(&raw, opts.max_file_bytes, |bytes, error| {
            if matches!(error, Some(DecodeError::TooLarge { .. })) {
                stats.oversized += 1;
            }
            parse_document(bytes, &opts, &mut events, &mut stats);
            error.map(|e| format!("s3://{bucket}/{key}: {e}"))
        });
        if let Some(e) = &error {
            stats.last_error = Some(e.clone());
        }
        Fetched { events, stats, error, failed: false }
    };
    // A typical object (a region's five minutes) parses in about a millisecond: in place,
    // since a hand-off to another thread costs a measured tenth of the throughput. A large
    // one takes seconds and goes to the blocking pool, so downloads keep flowing meanwhile.
    if size < INLINE_PARSE_BYTES {
        return parse();
    }
    tokio::task::spawn_blocking(parse).await.unwrap_or_else(|e| Fetched::failure(format!("parser task failed: {e}")))
}
