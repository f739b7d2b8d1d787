//! The S3 source: `s3://BUCKET[/PREFIX]` holding CloudTrail's key layout,
//! `AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`, organisation trails included.
//!
//! It finds the region folders under the prefix, lists only the day folders in the requested
//! range, back-fills them, then polls today's and yesterday's folders with `StartAfter`. A
//! checkpoint per day folder (the last key fully read) makes every object read once, across
//! restarts too. Listing, downloads (a bounded number at a time) and parsing form one ordered
//! pipeline across folders; gzip inflates through the same size cap and parser as local files.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_s3::Client;
use crossbeam_channel::Sender;

use super::aws::{AwsOptions, sdk_config};
use super::{SourceMsg, SourceStatus};
use crate::parse::ParseOptions;
pub use checkpoint::Checkpoint;
use checkpoint::{Plan, Retries};
use flight::{Fetched, InFlight, Pending, Spot, fetch};
use get::Objects;
pub use list::day_folders;
use list::{LIST_AHEAD, Listing, existing_folders, find_roots, folders, list_folder};

mod checkpoint;
mod flight;
mod get;
mod list;

/// Objects downloading or parsing at once: enough to hide S3's tens of milliseconds to the
/// first byte behind the parsing of earlier objects. Against a server answering after 20 ms,
/// a quiet account's back-fill took 3.0 s with 128 against 3.5–3.8 s with 64; 256 was no
/// faster for small objects and slower for a busy account's...
const DOWNLOADS: usize = 128;
/// ...unless they are large: past this many compressed bytes in flight, no new download
/// starts (one always may), so big accounts' multi-megabyte objects cannot pile up in memory.
const DOWNLOAD_BYTES: u64 = 64 << 20;
/// Objects smaller than this (compressed) are parsed on the download task itself.
const INLINE_PARSE_BYTES: usize = 1 << 20;

/// `s3://bucket/prefix` split.
pub fn parse_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_owned(), prefix.to_owned()))
}

/// The S3 source.
pub struct S3Source {
    /// The source's id.
    pub id: usize,
    /// The bucket.
    pub bucket: String,
    /// The prefix under it.
    pub prefix: String,
    /// Credentials, region, range, polling and retries.
    pub opts: AwsOptions,
    /// How records are parsed.
    pub parse: ParseOptions,
    /// Keep polling after the back-fill.
    pub follow: bool,
    /// A ready SDK configuration (tests); otherwise one is loaded from `opts`.
    pub sdk: Option<aws_config::SdkConfig>,
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
        Checkpoint::load(self.checkpoint_path().as_ref())
    }

    /// The console's position goes to its pipeline as it moves, after the events it covers:
    /// the pipeline saves it once the state holding those events is saved. `scan` saves only
    /// once its output is written, so it is handed the checkpoint at the end instead. False
    /// when the receiver hung up.
    fn commit_as_it_goes(&self, cp: &Checkpoint, tx: &Sender<SourceMsg>) -> bool {
        match self.checkpoint_path().filter(|_| self.follow) {
            Some(path) => tx.send(SourceMsg::Commit { source: self.id, commit: super::Commit::new(path, cp) }).is_ok(),
            None => true,
        }
    }

    /// Runs on its own runtime until the receiver hangs up.
    pub fn run(self, tx: Sender<SourceMsg>) {
        let (id, probe) = (self.id, tx.clone());
        // The back-fill parses on the runtime's workers: one per core, as the folder source.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        super::aws::run_on_runtime(id, &probe, cores, move || self.run_async(tx));
    }

    async fn run_async(mut self, tx: Sender<SourceMsg>) {
        let status = |s| SourceMsg::Status { source: self.id, status: s };
        let conf = match self.sdk.take() {
            Some(c) => c,
            None => sdk_config(&self.opts, None).await,
        };
        let mut b = aws_sdk_s3::config::Builder::from(&conf);
        // S3 needs a region to sign; with none configured, start where the AWS CLI does, then
        // move to the bucket's own.
        if conf.region().is_none() {
            b = b.region(aws_sdk_s3::config::Region::from_static("us-east-1"));
        }
        if conf.endpoint_url().is_some() {
            b = b.force_path_style(true);
        }
        let mut client = Client::from_conf(b.clone().build());
        match bucket_region(&client, &self.bucket).await {
            Some(r) if client.config().region().is_none_or(|c| c.as_ref() != r) => {
                tracing::info!("s3://{}: the bucket is in {r}; using that region", self.bucket);
                client = Client::from_conf(b.region(aws_sdk_s3::config::Region::new(r)).build());
            }
            _ => {}
        }
        let mut cp = self.load_checkpoint();
        // Objects read by an earlier run are not read again: say so, or a restarted console
        // looks empty and a second scan looks broken.
        if !cp.after.is_empty() {
            let text = "resumed at the checkpoint (--from-scratch re-reads)".to_owned();
            if tx.send(SourceMsg::Note { source: self.id, text }).is_err() {
                return;
            }
        }
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
        let objects =
            Arc::new(Objects::new(client, self.bucket.clone(), conf.credentials_provider(), self.opts.stall).await);
        let now = chrono::Utc::now().timestamp();
        // A prefix that names a year, month or day is read for that span, not --since.
        let (from, to) =
            list::named_span(&self.prefix).map_or((now - self.opts.since, now), |(f, t)| (f, (t - 1).min(now)));
        let mut retries = Retries::default();
        let range = match existing_folders(objects.client(), &self.bucket, &roots, &self.prefix, from, to).await {
            Ok(f) => f,
            Err(e) => {
                // The calendar is always right, only slower: fall back to it.
                let status = SourceStatus::Degraded(format!("{e}; naming every day of the range instead"));
                if tx.send(SourceMsg::Status { source: self.id, status }).is_err() {
                    return;
                }
                folders(&roots, &self.prefix, from, to)
            }
        };
        if !self.read_folders(&objects, &range, &mut cp, &mut retries, &tx, true).await {
            return;
        }
        if !self.follow
            && let Some(path) = self.checkpoint_path()
        {
            let commit = super::Commit::new(path, &cp);
            if tx.send(SourceMsg::Commit { source: self.id, commit }).is_err() {
                return;
            }
        }
        if !super::backfill_done(&tx, self.id, self.follow) {
            return;
        }
        loop {
            tokio::time::sleep(self.opts.poll).await;
            let now = chrono::Utc::now().timestamp();
            // Yesterday too: CloudTrail delivers files minutes after the day turned.
            let days = folders(&roots, &self.prefix, now - 86_400, now);
            if !self.read_folders(&objects, &days, &mut cp, &mut retries, &tx, false).await {
                return;
            }
        }
    }

    /// Reads every object after the checkpoint in each day folder, as one pipeline: listing
    /// runs ahead while up to [`DOWNLOADS`] objects (and [`DOWNLOAD_BYTES`]) download and
    /// parse, and results are handed over in key order, so a folder's checkpoint moves only
    /// past keys whose events were delivered, and never past one that failed (see
    /// [`checkpoint`]). With `progress`, reports each folder done. False when the consumer
    /// has gone.
    async fn read_folders(
        &self,
        objects: &Arc<Objects>,
        folders: &[String],
        cp: &mut Checkpoint,
        retries: &mut Retries,
        tx: &Sender<SourceMsg>,
        progress: bool,
    ) -> bool {
        let had_failures = retries.summary().is_some();
        retries.begin_pass();
        let mut flight = InFlight::default();
        let (mut done, total) = (0, folders.len() as u64);
        // Folders are listed a few ahead, side by side: a listing waits tens of milliseconds
        // on S3, and a folder holds only a day of one region. A folder's checkpoint moves only
        // after its listing has been read, so each can be taken now.
        let mut ahead = folders.iter().map(|f| (f.clone(), cp.after.get(f).cloned())).collect::<Vec<_>>().into_iter();
        let list = |(folder, after): (String, Option<String>)| {
            let task = tokio::spawn(list_folder(objects.client().clone(), self.bucket.clone(), folder.clone(), after));
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
                    while flight.front_ready() || !flight.has_room(*size) {
                        let Some(oldest) = flight.pop() else { break };
                        if !self.deliver(oldest, cp, retries, tx, &mut done, total).await {
                            return false;
                        }
                    }
                    let at = Spot { folder: folder.clone(), key: key.clone(), last_of_page: i + 1 == page.len() };
                    match retries.plan(key, std::time::Instant::now()) {
                        Plan::Fetch => {
                            let (objects, key, opts) = (objects.clone(), key.clone(), self.parse.clone());
                            let listed = *size;
                            let task = tokio::spawn(async move { fetch(&objects, &key, listed, &opts).await });
                            flight.push(Pending::Object { task, at, bytes: *size });
                        }
                        plan => flight.push(Pending::Known { at, ok: plan == Plan::Delivered }),
                    }
                }
            }
            if let Some(msg) = listing.error {
                let degraded = SourceMsg::Status { source: self.id, status: SourceStatus::Degraded(msg) };
                if tx.send(degraded).is_err() {
                    return false;
                }
            }
            if progress {
                flight.push(Pending::FolderDone);
            }
        }
        while let Some(oldest) = flight.pop() {
            if !self.deliver(oldest, cp, retries, tx, &mut done, total).await {
                return false;
            }
        }
        // Failed objects stay in the header until they are read.
        let status = match retries.summary() {
            Some(s) => {
                tracing::warn!("s3://{}: not read yet: {:?}", self.bucket, retries.failed_keys().collect::<Vec<_>>());
                Some(SourceStatus::Degraded(format!("s3://{}: {s}", self.bucket)))
            }
            None if had_failures && self.follow => Some(SourceStatus::Live),
            None => None,
        };
        status.is_none_or(|status| tx.send(SourceMsg::Status { source: self.id, status }).is_ok())
    }

    /// Waits for a pending item (the oldest) and hands it over.
    async fn deliver(
        &self,
        item: Pending,
        cp: &mut Checkpoint,
        retries: &mut Retries,
        tx: &Sender<SourceMsg>,
        done: &mut u64,
        total: u64,
    ) -> bool {
        let at = match item {
            Pending::FolderDone => {
                *done += 1;
                let status = SourceStatus::Backfilling { done: *done, total };
                return tx.send(SourceMsg::Status { source: self.id, status }).is_ok();
            }
            Pending::Known { at, ok } => {
                if ok {
                    retries.succeeded(&at.folder, &at.key, cp);
                } else {
                    retries.failed(&at.folder, &at.key, None, self.opts.poll);
                }
                at
            }
            Pending::Object { task, at, .. } => {
                let f = task.await.unwrap_or_else(|e| Fetched::failure(format!("download task failed: {e}")));
                let failed = f.failed.then(|| f.error.clone().unwrap_or_default());
                if tx
                    .send(SourceMsg::Events { source: self.id, events: f.events, stats: f.stats, error: f.error })
                    .is_err()
                {
                    return false;
                }
                match failed {
                    Some(e) => retries.failed(&at.folder, &at.key, Some(e), self.opts.poll),
                    None => retries.succeeded(&at.folder, &at.key, cp),
                }
                at
            }
        };
        // Committed once a page, not once an object.
        if at.last_of_page && retries.take_moved() {
            return self.commit_as_it_goes(cp, tx);
        }
        true
    }
}

/// The bucket's region as S3 reports it: HeadBucket answers with it, even to a request sent
/// to another region (a trail's bucket often lives in a log-archive account's region, not the
/// analyst's). `None` when the server does not say; listing then reports what is wrong.
async fn bucket_region(client: &Client, bucket: &str) -> Option<String> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(out) => out.bucket_region,
        Err(e) => super::aws::bucket_region_in(&e).map(str::to_owned),
    }
}
