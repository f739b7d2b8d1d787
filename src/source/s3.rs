//! The S3 source: `s3://BUCKET[/PREFIX]` holding CloudTrail's key layout,
//! `AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`, organisation trails included.
//!
//! It finds the region folders under the prefix, lists only the day folders in the requested
//! range, back-fills them, then polls today's and yesterday's folders with `StartAfter`. A
//! checkpoint per day folder (the last key fully read) makes every object read once, across
//! restarts too. Listing, downloads (a bounded number at a time) and parsing form one ordered
//! pipeline across folders; gzip inflates through the same size cap and parser as local files.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use anyhow::Context;
use aws_sdk_s3::Client;
use crossbeam_channel::Sender;
use serde::{Deserialize, Serialize};

use super::aws::{AwsOptions, describe, persist, sdk_config};
use super::file::{MAX_DECOMPRESSED, decode_bytes};
use super::{SourceMsg, SourceStatus};
use crate::parse::{ParseOptions, ParseStats, parse_document};

/// Objects downloading or parsing at once: enough to hide S3's tens of milliseconds to the
/// first byte behind the parsing of earlier objects...
const DOWNLOADS: usize = 64;
/// ...unless they are large: past this many compressed bytes in flight, no new download
/// starts (one always may), so big accounts' multi-megabyte objects cannot pile up in memory.
const DOWNLOAD_BYTES: u64 = 64 << 20;
/// Day folders listed ahead of the downloads, side by side.
const LIST_AHEAD: usize = 8;
/// Objects smaller than this (compressed) are parsed on the download task itself.
const INLINE_PARSE_BYTES: usize = 1 << 20;

/// `s3://bucket/prefix` split.
pub fn parse_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_owned(), prefix.to_owned()))
}

/// Last key read per day folder.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub after: BTreeMap<String, String>,
}

pub struct S3Source {
    pub id: usize,
    pub bucket: String,
    pub prefix: String,
    pub opts: AwsOptions,
    pub parse: ParseOptions,
    pub follow: bool,
    /// A ready client (tests); otherwise one is built from `opts`.
    pub client: Option<Client>,
}

impl S3Source {
    fn checkpoint_path(&self) -> Option<PathBuf> {
        let key = crate::parse::fnv1a(format!("{}/{}", self.bucket, self.prefix).as_bytes());
        self.opts.state_dir.as_ref().map(|d| d.join("s3-checkpoints").join(format!("{key:016x}.json")))
    }

    fn load_checkpoint(&self) -> Checkpoint {
        if self.opts.from_scratch {
            return Checkpoint::default();
        }
        self.checkpoint_path()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_checkpoint(&self, cp: &Checkpoint) -> anyhow::Result<()> {
        let Some(path) = self.checkpoint_path() else { return Ok(()) };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(cp)?).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// Runs on its own runtime until the receiver hangs up.
    pub fn run(self, tx: Sender<SourceMsg>) {
        let (id, probe) = (self.id, tx.clone());
        super::aws::run_on_runtime(id, &probe, move || self.run_async(tx));
    }

    async fn run_async(mut self, tx: Sender<SourceMsg>) {
        let status = |s| SourceMsg::Status { source: self.id, status: s };
        let client = match self.client.take() {
            Some(c) => c,
            None => {
                let conf = sdk_config(&self.opts, None).await;
                let mut b = aws_sdk_s3::config::Builder::from(&conf);
                if self.opts.endpoint_url.is_some() {
                    b = b.force_path_style(true);
                }
                Client::from_conf(b.build())
            }
        };
        let mut cp = self.load_checkpoint();
        let mut roots = Vec::new();
        while roots.is_empty() {
            match find_roots(&client, &self.bucket, &self.prefix).await {
                Ok(r) if !r.is_empty() => roots = r,
                Ok(_) => {
                    let msg = format!("no CloudTrail folders under s3://{}/{}", self.bucket, self.prefix);
                    if tx.send(status(SourceStatus::Degraded(msg))).is_err() || !self.follow {
                        return;
                    }
                    tokio::time::sleep(self.opts.poll).await;
                }
                Err(e) => {
                    if tx.send(status(SourceStatus::Degraded(e))).is_err() || !self.follow {
                        return;
                    }
                    tokio::time::sleep(self.opts.poll).await;
                }
            }
        }
        let now = chrono::Utc::now().timestamp();
        if !self.read_folders(&client, &folders(&roots, now - self.opts.since, now), &mut cp, &tx, true).await {
            return;
        }
        if !super::backfill_done(&tx, self.id, self.follow) {
            return;
        }
        loop {
            tokio::time::sleep(self.opts.poll).await;
            let now = chrono::Utc::now().timestamp();
            // Yesterday too: CloudTrail delivers files minutes after the day turned.
            if !self.read_folders(&client, &folders(&roots, now - 86_400, now), &mut cp, &tx, false).await {
                return;
            }
        }
    }

    /// Reads every object after the checkpoint in each day folder, as one pipeline: listing
    /// runs ahead while up to [`DOWNLOADS`] objects (and [`DOWNLOAD_BYTES`]) download and
    /// parse, and results are handed over in key order, so a folder's checkpoint moves only
    /// past keys whose events were delivered. With `progress`, reports each folder done.
    /// False when the consumer has gone.
    async fn read_folders(
        &self,
        client: &Client,
        folders: &[String],
        cp: &mut Checkpoint,
        tx: &Sender<SourceMsg>,
        progress: bool,
    ) -> bool {
        let mut queue = VecDeque::new();
        // Objects in the queue and their compressed bytes; folder markers hold no slot.
        let (mut fetching, mut fetching_bytes) = (0, 0u64);
        let (mut done, total) = (0, folders.len() as u64);
        // Folders are listed a few ahead, side by side: a listing waits tens of milliseconds
        // on S3, and a folder holds only a day of one region. A folder's checkpoint moves only
        // after its listing has been read, so each can be taken now.
        let mut ahead = folders.iter().map(|f| (f.clone(), cp.after.get(f).cloned())).collect::<Vec<_>>().into_iter();
        let list = |(folder, after): (String, Option<String>)| {
            let task = tokio::spawn(list_folder(client.clone(), self.bucket.clone(), folder.clone(), after));
            (folder, task)
        };
        let mut listings: VecDeque<_> = ahead.by_ref().take(LIST_AHEAD).map(list).collect();
        while let Some((folder, listing)) = listings.pop_front() {
            listings.extend(ahead.next().map(list));
            let listing = listing.await.unwrap_or_else(|e| Listing {
                pages: Vec::new(),
                error: Some(format!("listing s3://{}/{folder}: task failed: {e}", self.bucket)),
            });
            for page in listing.pages {
                for (i, (key, size)) in page.iter().enumerate() {
                    // Hand over what is ready at the front, so parsed events do not wait in
                    // memory for the queue to fill; then wait while there is no room.
                    loop {
                        let ready = match queue.front() {
                            Some(Pending::Object { task, .. }) => task.is_finished(),
                            Some(Pending::FolderDone) => true,
                            None => false,
                        };
                        let full = fetching >= DOWNLOADS || (fetching > 0 && fetching_bytes + size > DOWNLOAD_BYTES);
                        if !ready && !full {
                            break;
                        }
                        let Some(oldest) = queue.pop_front() else { break };
                        if let Pending::Object { bytes, .. } = &oldest {
                            (fetching, fetching_bytes) = (fetching - 1, fetching_bytes - bytes);
                        }
                        if !self.deliver(oldest, cp, tx, &mut done, total).await {
                            return false;
                        }
                    }
                    let (client, bucket, key, opts) =
                        (client.clone(), self.bucket.clone(), key.clone(), self.parse.clone());
                    let last = (i + 1 == page.len()).then(|| (folder.clone(), key.clone()));
                    queue.push_back(Pending::Object {
                        task: tokio::spawn(async move { fetch(&client, &bucket, &key, &opts).await }),
                        last_of_page: last,
                        bytes: *size,
                    });
                    (fetching, fetching_bytes) = (fetching + 1, fetching_bytes + size);
                }
            }
            if let Some(msg) = listing.error {
                let degraded = SourceMsg::Status { source: self.id, status: SourceStatus::Degraded(msg) };
                if tx.send(degraded).is_err() {
                    return false;
                }
            }
            if progress {
                queue.push_back(Pending::FolderDone);
            }
        }
        while let Some(oldest) = queue.pop_front() {
            if !self.deliver(oldest, cp, tx, &mut done, total).await {
                return false;
            }
        }
        true
    }

    /// Waits for a pending item (the oldest) and hands it over.
    async fn deliver(
        &self,
        item: Pending,
        cp: &mut Checkpoint,
        tx: &Sender<SourceMsg>,
        done: &mut u64,
        total: u64,
    ) -> bool {
        match item {
            Pending::FolderDone => {
                *done += 1;
                tx.send(SourceMsg::Status { source: self.id, status: SourceStatus::Backfilling { done: *done, total } })
                    .is_ok()
            }
            Pending::Object { task, last_of_page, .. } => {
                let (events, stats, error) = task.await.unwrap_or_else(|e| {
                    (Vec::new(), ParseStats::default(), Some(format!("download task failed: {e}")))
                });
                if tx.send(SourceMsg::Events { source: self.id, events, stats, error }).is_err() {
                    return false;
                }
                // Every key of the page up to this one is delivered: resume after it.
                if let Some((folder, key)) = last_of_page {
                    cp.after.insert(folder, key);
                    if let Err(e) = self.save_checkpoint(cp) {
                        tracing::warn!("checkpoint not saved: {e:#}");
                    }
                }
                true
            }
        }
    }
}

/// A day folder's keys after its checkpoint with their sizes, page by page, and the error
/// that cut the listing short.
struct Listing {
    pages: Vec<Vec<(String, u64)>>,
    error: Option<String>,
}

async fn list_folder(client: Client, bucket: String, folder: String, after: Option<String>) -> Listing {
    let mut listing = Listing { pages: Vec::new(), error: None };
    let mut token = None;
    loop {
        let mut req = client.list_objects_v2().bucket(&bucket).prefix(&folder).set_continuation_token(token.clone());
        if token.is_none()
            && let Some(after) = &after
        {
            req = req.start_after(after);
        }
        let page = match req.send().await {
            Ok(p) => p,
            Err(e) => {
                listing.error = Some(format!("listing s3://{bucket}/{folder}: {}", describe(&e, "s3:ListBucket")));
                return listing;
            }
        };
        listing.pages.push(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(|k| (k.to_owned(), o.size().map_or(0, |n| n.max(0) as u64))))
                .collect(),
        );
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => return listing,
        }
    }
}

/// An object being fetched, or a marker that a folder's objects are all ahead of it.
enum Pending {
    Object { task: tokio::task::JoinHandle<Fetched>, last_of_page: Option<(String, String)>, bytes: u64 },
    FolderDone,
}

type Fetched = (Vec<crate::parse::Event>, ParseStats, Option<String>);

async fn fetch(client: &Client, bucket: &str, key: &str, opts: &ParseOptions) -> Fetched {
    let mut stats = ParseStats::default();
    let mut events = Vec::new();
    if key.contains("CloudTrail-Digest") {
        stats.digests += 1;
        return (events, stats, None);
    }
    let body = match persist(|| client.get_object().bucket(bucket).key(key).send()).await {
        Ok(o) => o.body.collect().await.map(|b| b.into_bytes()).map_err(|e| e.to_string()),
        Err(e) => Err(describe(&e, "s3:GetObject")),
    };
    let raw = match body {
        Ok(b) => b,
        Err(e) => {
            let msg = format!("s3://{bucket}/{key}: {e}");
            stats.last_error = Some(msg.clone());
            return (events, stats, Some(msg));
        }
    };
    let size = raw.len();
    let (key, opts, bucket) = (key.to_owned(), opts.clone(), bucket.to_owned());
    let parse = move || {
        let (bytes, error) = decode_bytes(&raw, MAX_DECOMPRESSED);
        let error = error.map(|e| format!("s3://{bucket}/{key}: {e}"));
        parse_document(&bytes, &opts, &mut events, &mut stats);
        if let Some(e) = &error {
            stats.last_error = Some(e.clone());
        }
        (events, stats, error)
    };
    // A typical object (a region's five minutes) parses in about a millisecond: in place,
    // since a hand-off to another thread costs a measured tenth of the throughput. A large
    // one takes seconds and goes to the blocking pool, so downloads keep flowing meanwhile.
    if size < INLINE_PARSE_BYTES {
        return parse();
    }
    tokio::task::spawn_blocking(parse)
        .await
        .unwrap_or_else(|e| (Vec::new(), ParseStats::default(), Some(format!("parser task failed: {e}"))))
}

/// The `.../CloudTrail/REGION/` and `.../CloudTrail-Insight/REGION/` folders under `prefix`,
/// found by listing with a delimiter, level by level (never the whole bucket).
async fn find_roots(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut roots = Vec::new();
    let mut frontier = vec![prefix.to_owned()];
    for _depth in 0..8 {
        let (found, deeper): (Vec<String>, Vec<String>) = frontier.into_iter().partition(|p| {
            let segs: Vec<&str> = p.trim_end_matches('/').split('/').collect();
            segs.len() >= 2 && matches!(segs[segs.len() - 2], "CloudTrail" | "CloudTrail-Insight")
        });
        roots.extend(found);
        // An organisation trail has a folder per account: a level's folders are listed side
        // by side, LIST_AHEAD at a time.
        let mut next = Vec::new();
        for chunk in deeper.chunks(LIST_AHEAD) {
            let tasks: Vec<_> =
                chunk.iter().map(|p| tokio::spawn(subfolders(client.clone(), bucket.to_owned(), p.clone()))).collect();
            for task in tasks {
                next.extend(task.await.map_err(|e| format!("listing s3://{bucket}/: task failed: {e}"))??);
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    roots.sort();
    Ok(roots)
}

/// The folders directly under `prefix`, digest folders left out.
async fn subfolders(client: Client, bucket: String, prefix: String) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = persist(|| {
            client
                .list_objects_v2()
                .bucket(&bucket)
                .prefix(&prefix)
                .delimiter("/")
                .set_continuation_token(token.clone())
                .send()
        })
        .await
        .map_err(|e| format!("listing s3://{bucket}/{prefix}: {}", describe(&e, "s3:ListBucket")))?;
        out.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|cp| cp.prefix())
                .filter(|child| !child.contains("CloudTrail-Digest"))
                .map(str::to_owned),
        );
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// Every root's day folder for every UTC day from `from` to `to`, root by root.
fn folders(roots: &[String], from: i64, to: i64) -> Vec<String> {
    let days = day_folders(from, to);
    roots.iter().flat_map(|root| days.iter().map(move |day| format!("{root}{day}"))).collect()
}

/// `YYYY/MM/DD/` for every UTC day from `from` to `to`.
pub fn day_folders(from: i64, to: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut day = from.div_euclid(86_400);
    while day <= to.div_euclid(86_400) {
        if let Some(t) = chrono::DateTime::from_timestamp(day * 86_400, 0) {
            out.push(t.format("%Y/%m/%d/").to_string());
        }
        day += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_days() {
        assert_eq!(parse_url("s3://b/AWSLogs/"), Some(("b".into(), "AWSLogs/".into())));
        assert_eq!(parse_url("s3://b"), Some(("b".into(), String::new())));
        assert_eq!(parse_url("s3:///x"), None);
        assert_eq!(day_folders(1_709_510_400 - 10, 1_709_510_400 + 10), ["2024/03/03/", "2024/03/04/"]);
    }
}
