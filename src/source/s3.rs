//! The S3 source: `s3://BUCKET[/PREFIX]` holding CloudTrail's key layout,
//! `AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`, organisation trails included.
//!
//! It finds the region folders under the prefix, lists only the day folders in the requested
//! range, back-fills them, then polls today's and yesterday's folders with `StartAfter`. A
//! checkpoint per day folder (the last key fully read) makes every object read once, across
//! restarts too. Downloads run a few at a time; gzip inflates through the same size cap and
//! parser as local files.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use aws_sdk_s3::Client;
use crossbeam_channel::Sender;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::aws::{AwsOptions, describe, persist, sdk_config};
use super::file::{MAX_DECOMPRESSED, decode_bytes};
use super::{SourceMsg, SourceStatus};
use crate::parse::{ParseOptions, ParseStats, parse_document};

const DOWNLOADS: usize = 8;

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

    /// Runs on its own single-threaded runtime until the receiver hangs up.
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
        let days: Vec<String> = day_folders(now - self.opts.since, now);
        let total = (roots.len() * days.len()) as u64;
        let mut done = 0;
        for root in &roots {
            for day in &days {
                if !self.read_folder(&client, &format!("{root}{day}"), &mut cp, &tx).await {
                    return;
                }
                done += 1;
                if tx.send(status(SourceStatus::Backfilling { done, total })).is_err() {
                    return;
                }
            }
        }
        if !self.follow {
            let _ = tx.send(status(SourceStatus::Finished));
            return;
        }
        if tx.send(status(SourceStatus::Live)).is_err() {
            return;
        }
        loop {
            tokio::time::sleep(self.opts.poll).await;
            let now = chrono::Utc::now().timestamp();
            // Yesterday too: CloudTrail delivers files minutes after the day turned.
            for root in &roots {
                for day in day_folders(now - 86_400, now) {
                    if !self.read_folder(&client, &format!("{root}{day}"), &mut cp, &tx).await {
                        return;
                    }
                }
            }
        }
    }

    /// Reads every object after the checkpoint in one day folder. False when the consumer
    /// has gone away.
    async fn read_folder(&self, client: &Client, folder: &str, cp: &mut Checkpoint, tx: &Sender<SourceMsg>) -> bool {
        let mut token = None;
        loop {
            let mut req =
                client.list_objects_v2().bucket(&self.bucket).prefix(folder).set_continuation_token(token.clone());
            if token.is_none()
                && let Some(after) = cp.after.get(folder)
            {
                req = req.start_after(after);
            }
            let page = match req.send().await {
                Ok(p) => p,
                Err(e) => {
                    let msg = format!("listing s3://{}/{folder}: {}", self.bucket, describe(&e, "s3:ListBucket"));
                    return tx.send(SourceMsg::Status { source: self.id, status: SourceStatus::Degraded(msg) }).is_ok();
                }
            };
            let keys: Vec<String> = page.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
            if !keys.is_empty() && !self.read_batch(client, &keys, tx).await {
                return false;
            }
            // The whole page is read: it is safe to resume after its last key.
            if let Some(last) = keys.last() {
                cp.after.insert(folder.to_owned(), last.clone());
                if let Err(e) = self.save_checkpoint(cp) {
                    tracing::warn!("checkpoint not saved: {e:#}");
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return true,
            }
        }
    }

    async fn read_batch(&self, client: &Client, keys: &[String], tx: &Sender<SourceMsg>) -> bool {
        let permits = Arc::new(Semaphore::new(DOWNLOADS));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, key) in keys.iter().enumerate() {
            let (client, bucket, key, permits, opts) =
                (client.clone(), self.bucket.clone(), key.clone(), Arc::clone(&permits), self.parse.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore is never closed");
                (i, fetch(&client, &bucket, &key, &opts).await)
            });
        }
        let mut results: Vec<(usize, SourceMsg)> = Vec::with_capacity(keys.len());
        while let Some(joined) = tasks.join_next().await {
            if let Ok((i, (events, stats, error))) = joined {
                results.push((i, SourceMsg::Events { source: self.id, events, stats, error }));
            }
        }
        // Hand batches over in key order, so events arrive roughly in time order.
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().all(|(_, msg)| tx.send(msg).is_ok())
    }
}

async fn fetch(
    client: &Client,
    bucket: &str,
    key: &str,
    opts: &ParseOptions,
) -> (Vec<crate::parse::Event>, ParseStats, Option<String>) {
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
    // Inflating and parsing are CPU work: off the I/O thread, onto the blocking pool, so
    // several objects are parsed at once.
    let (key, opts, bucket) = (key.to_owned(), opts.clone(), bucket.to_owned());
    let parsed = tokio::task::spawn_blocking(move || {
        let (bytes, error) = decode_bytes(&raw, MAX_DECOMPRESSED);
        let error = error.map(|e| format!("s3://{bucket}/{key}: {e}"));
        parse_document(&bytes, &opts, &mut events, &mut stats);
        if let Some(e) = &error {
            stats.last_error = Some(e.clone());
        }
        (events, stats, error)
    })
    .await;
    parsed.unwrap_or_else(|e| (Vec::new(), ParseStats::default(), Some(format!("parser task failed: {e}"))))
}

/// The `.../CloudTrail/REGION/` and `.../CloudTrail-Insight/REGION/` folders under `prefix`,
/// found by listing with a delimiter, level by level (never the whole bucket).
async fn find_roots(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut roots = Vec::new();
    let mut frontier = vec![prefix.to_owned()];
    for _depth in 0..8 {
        let mut next = Vec::new();
        for p in frontier {
            let segs: Vec<&str> = p.trim_end_matches('/').split('/').collect();
            if segs.len() >= 2 && matches!(segs[segs.len() - 2], "CloudTrail" | "CloudTrail-Insight") && !p.is_empty() {
                roots.push(p);
                continue;
            }
            let mut token = None;
            loop {
                let page = persist(|| {
                    client
                        .list_objects_v2()
                        .bucket(bucket)
                        .prefix(&p)
                        .delimiter("/")
                        .set_continuation_token(token.clone())
                        .send()
                })
                .await
                .map_err(|e| format!("listing s3://{bucket}/{p}: {}", describe(&e, "s3:ListBucket")))?;
                for cp in page.common_prefixes() {
                    if let Some(child) = cp.prefix()
                        && !child.contains("CloudTrail-Digest")
                    {
                        next.push(child.to_owned());
                    }
                }
                match page.next_continuation_token() {
                    Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                    _ => break,
                }
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
