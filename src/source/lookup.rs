//! The LookupEvents source: `lookup://REGION[,REGION...]` (or `lookup://` for the default
//! region). Back-fills `--since`, then polls a window that overlaps the previous one by
//! `OVERLAP` (CloudTrail delivers events minutes late), follows `NextToken` to the end and
//! drops EventIds it has already seen. Requests go through a limiter of 2 per second per
//! account and region, shared by every poller of that account and region; throttling is
//! retried with backoff by the SDK and, beyond that, here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::config::retry::RetryConfig;
use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::primitives::DateTime;
use crossbeam_channel::Sender;

use super::aws::{AwsOptions, describe, sdk_config};
use super::{SourceMsg, SourceStatus};
use crate::parse::{ParseOptions, ParseStats, parse_document};

/// LookupEvents allows 2 requests per second per account and region; 10 ms of margin keeps
/// network jitter from making two requests look closer than 500 ms.
pub const REQUEST_INTERVAL: Duration = Duration::from_millis(510);
/// How far each poll's window reaches back into the last (CloudTrail delivers late).
pub const OVERLAP: i64 = 15 * 60;
const PAGE: i32 = 50;

/// Spaces requests `interval` apart, for everyone who holds it.
#[derive(Debug)]
pub struct Limiter {
    next: tokio::sync::Mutex<tokio::time::Instant>,
    interval: Duration,
}

impl Limiter {
    /// A limiter spacing requests `interval` apart.
    pub fn new(interval: Duration) -> Self {
        Self { next: tokio::sync::Mutex::new(tokio::time::Instant::now()), interval }
    }

    /// After a throttle: the next slot moves back one interval.
    pub async fn penalize(&self) {
        let mut next = self.next.lock().await;
        *next = (*next).max(tokio::time::Instant::now()) + self.interval;
    }

    /// Waits for the next slot.
    pub async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(tokio::time::Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// One limiter per (credentials profile, endpoint, region) for the whole process.
fn limiter_for(key: String) -> Arc<Limiter> {
    static ALL: OnceLock<Mutex<HashMap<String, Arc<Limiter>>>> = OnceLock::new();
    let mut map = ALL.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    Arc::clone(map.entry(key).or_insert_with(|| Arc::new(Limiter::new(REQUEST_INTERVAL))))
}

/// `lookup://us-east-1,eu-west-1` → the regions; empty for the default region.
pub fn parse_url(url: &str) -> Option<Vec<String>> {
    let rest = url.strip_prefix("lookup://")?;
    Some(rest.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect())
}

/// The LookupEvents source.
pub struct LookupSource {
    /// The source's id.
    pub id: usize,
    /// Regions polled; empty for the configured one.
    pub regions: Vec<String>,
    /// Credentials, region, window and retries.
    pub opts: AwsOptions,
    /// How records are parsed.
    pub parse: ParseOptions,
    /// Keep polling after the back-fill.
    pub follow: bool,
    /// Ready clients per region (tests); otherwise built from `opts`.
    pub clients: Option<Vec<Client>>,
}

/// Each region's counters, shared by the pollers of one source.
type Budgets = Arc<Mutex<std::collections::BTreeMap<String, Budget>>>;

/// Counters a poller reports.
#[derive(Debug, Default, Clone, Copy)]
struct Budget {
    requests: u64,
    throttled: u64,
}

impl LookupSource {
    /// Runs on a runtime of its own until the receiver hangs up.
    pub fn run(self, tx: Sender<SourceMsg>) {
        let (id, probe) = (self.id, tx.clone());
        // At most 2 requests a second per region: two workers are plenty.
        super::aws::run_on_runtime(id, &probe, 2, move || self.run_async(tx));
    }

    async fn run_async(mut self, tx: Sender<SourceMsg>) {
        let regions: Vec<Option<String>> =
            if self.regions.is_empty() { vec![None] } else { self.regions.iter().cloned().map(Some).collect() };
        let mut clients = self.clients.take().unwrap_or_default();
        if clients.is_empty() {
            for r in &regions {
                clients.push(Client::new(&sdk_config(&self.opts, r.as_deref()).await));
            }
        }
        let this = Arc::new(self);
        let budgets = Budgets::default();
        let mut tasks = tokio::task::JoinSet::new();
        for (region, client) in regions.into_iter().zip(clients) {
            let Some(region_name) = region.clone().or_else(|| client.config().region().map(|r| r.to_string())) else {
                let msg = "no region: name one (lookup://us-east-1), or set AWS_REGION or a profile's region";
                let _ = tx.send(SourceMsg::Status { source: this.id, status: SourceStatus::Degraded(msg.into()) });
                continue;
            };
            let key = format!("{:?}|{:?}|{region_name}", this.opts.profile, this.opts.endpoint_url);
            let (this, tx, budgets) = (Arc::clone(&this), tx.clone(), Arc::clone(&budgets));
            tasks.spawn(async move { this.poll_region(client, region_name, limiter_for(key), budgets, tx).await });
        }
        while tasks.join_next().await.is_some() {}
        if !this.follow {
            let _ = tx.send(SourceMsg::Status { source: this.id, status: SourceStatus::Finished });
        }
    }

    async fn poll_region(
        &self,
        client: Client,
        region: String,
        limiter: Arc<Limiter>,
        budgets: Budgets,
        tx: Sender<SourceMsg>,
    ) {
        let status = |s| SourceMsg::Status { source: self.id, status: s };
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut budget = Budget::default();
        let mut from = chrono::Utc::now().timestamp() - self.opts.since;
        loop {
            let to = chrono::Utc::now().timestamp();
            let mut end = to;
            let error = loop {
                let Some(read) = self.window(&client, from, end, &limiter, &mut seen, &mut budget, &tx).await else {
                    return;
                };
                if read.error.is_some() || !read.capped {
                    break read.error;
                }
                // Pages come newest first: what is left of the window is older than the
                // oldest event read. Read on at once, before sleeping, so nothing is left.
                match read.oldest {
                    Some(oldest) if oldest < end => end = oldest,
                    _ => {
                        break Some(format!(
                            "{} pages without getting older than {}; the rest of the window is retried next poll",
                            self.opts.max_pages,
                            crate::parse::time::rfc3339(end)
                        ));
                    }
                }
            };
            // Every region's budget in one note: the header shows a source's latest note.
            let (note, requests, throttled) = {
                let mut all = budgets.lock().unwrap_or_else(|p| p.into_inner());
                all.insert(region.clone(), budget);
                let each: Vec<String> = all
                    .iter()
                    .map(|(r, b)| format!("{r}: {} requests, {} throttled", b.requests, b.throttled))
                    .collect();
                let sum = |f: fn(&Budget) -> u64| all.values().map(f).sum::<u64>();
                (format!("{}; ≤2/s each", each.join(" · ")), sum(|b| b.requests), sum(|b| b.throttled))
            };
            // A back-fill only finishes when every region's has: `run_async` says so.
            let failed = error.is_some();
            let st = match error {
                Some(e) => Some(SourceStatus::Degraded(format!("{region}: {e}"))),
                None if !self.follow => None,
                None => Some(SourceStatus::Live),
            };
            if st.is_some_and(|st| tx.send(status(st)).is_err())
                || tx.send(SourceMsg::Note { source: self.id, text: note }).is_err()
                || tx.send(SourceMsg::Requests { source: self.id, requests, throttled }).is_err()
            {
                return;
            }
            if !self.follow {
                return;
            }
            // A window that failed part-way is read again whole (seen ids are dropped), so an
            // error never moves the start past events that were not read.
            if !failed {
                from = to - OVERLAP;
            }
            // Ids older than the next window cannot come back.
            seen.retain(|_, t| *t >= from - 60);
            tokio::time::sleep(self.opts.poll).await;
        }
    }

    /// Events in `[from, to]` not seen before, sent page by page as they arrive, following
    /// `NextToken` for at most `max_pages` pages and never to a token seen before. `None` when
    /// the consumer has gone.
    #[allow(clippy::too_many_arguments)]
    async fn window(
        &self,
        client: &Client,
        from: i64,
        to: i64,
        limiter: &Limiter,
        seen: &mut HashMap<String, i64>,
        budget: &mut Budget,
        tx: &Sender<SourceMsg>,
    ) -> Option<WindowRead> {
        let mut read = WindowRead::default();
        let mut token: Option<String> = None;
        let mut tokens = std::collections::HashSet::new();
        let mut backoff = Duration::from_millis(500);
        let mut transient_attempts = 0;
        let mut pages = 0;
        loop {
            if pages == self.opts.max_pages {
                read.capped = true;
                return Some(read);
            }
            limiter.acquire().await;
            budget.requests += 1;
            // The SDK's own retries would bypass the limiter; retries happen here, through it.
            let resp = client
                .lookup_events()
                .start_time(DateTime::from_secs(from))
                .end_time(DateTime::from_secs(to))
                .max_results(PAGE)
                .set_next_token(token.clone())
                .customize()
                .config_override(aws_sdk_cloudtrail::Config::builder().retry_config(RetryConfig::disabled()))
                .send()
                .await;
            // A request that got no answer because it never left this machine (no
            // credentials, no route) is not one of the account's requests.
            if let Err(e) = &resp
                && e.raw_response().is_none()
                && !matches!(e, aws_sdk_cloudtrail::error::SdkError::TimeoutError(_))
            {
                budget.requests -= 1;
            }
            let page = match resp {
                Ok(p) => {
                    backoff = Duration::from_millis(500);
                    p
                }
                Err(e) if e.code() == Some("ThrottlingException") => {
                    budget.throttled += 1;
                    limiter.penalize().await;
                    continue;
                }
                // 5xx and timeouts: back off, same page again, a few times.
                Err(e) if transient_attempts < 4 && is_transient(&e) => {
                    transient_attempts += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
                Err(e) => {
                    read.error = Some(describe(&e, "cloudtrail:LookupEvents"));
                    return Some(read);
                }
            };
            pages += 1;
            let mut events = Vec::new();
            let mut stats = ParseStats::default();
            for e in page.events() {
                let id = e.event_id().unwrap_or_default().to_owned();
                let t = e.event_time().map_or(to, |t| t.secs());
                read.oldest = Some(read.oldest.map_or(t, |o: i64| o.min(t)));
                if !id.is_empty() && seen.insert(id, t).is_some() {
                    continue;
                }
                match e.cloud_trail_event() {
                    Some(json) => parse_document(json.as_bytes(), &self.parse, &mut events, &mut stats),
                    None => {
                        stats.invalid += 1;
                        stats.last_error = Some("LookupEvents item without CloudTrailEvent".into());
                    }
                }
            }
            if (!events.is_empty() || stats.invalid > 0)
                && tx.send(SourceMsg::Events { source: self.id, events, stats, error: None }).is_err()
            {
                return None;
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => {
                    if !tokens.insert(t.to_owned()) {
                        read.error = Some(format!(
                            "LookupEvents returned a NextToken it had returned before (after {pages} pages); stopped paging this window"
                        ));
                        return Some(read);
                    }
                    token = Some(t.to_owned());
                }
                _ => return Some(read),
            }
        }
    }
}

/// How reading one window went.
#[derive(Debug, Default)]
struct WindowRead {
    error: Option<String>,
    /// Stopped at `max_pages` with more to read.
    capped: bool,
    /// The oldest event time on the pages read.
    oldest: Option<i64>,
}

fn is_transient<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_sdk_cloudtrail::error::SdkError<E>,
) -> bool {
    use aws_sdk_cloudtrail::error::SdkError;
    // No credentials will not come by waiting.
    if super::aws::missing_credentials(e) {
        return false;
    }
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(s) => s.raw().status().as_u16() >= 500,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(parse_url("lookup://us-east-1, eu-west-1"), Some(vec!["us-east-1".into(), "eu-west-1".into()]));
        assert_eq!(parse_url("lookup://"), Some(vec![]));
        assert_eq!(parse_url("s3://x"), None);
    }

    #[test]
    fn limiter_spaces_requests_for_all_holders() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let l = Arc::new(Limiter::new(Duration::from_millis(40)));
        let start = std::time::Instant::now();
        rt.block_on(async {
            let (a, b) = (Arc::clone(&l), Arc::clone(&l));
            let one = tokio::spawn(async move {
                for _ in 0..3 {
                    a.acquire().await
                }
            });
            let two = tokio::spawn(async move {
                for _ in 0..3 {
                    b.acquire().await
                }
            });
            let _ = tokio::join!(one, two);
        });
        // Six acquisitions between two holders: at least five intervals apart in total.
        assert!(start.elapsed() >= Duration::from_millis(200), "{:?}", start.elapsed());
        assert!(Arc::ptr_eq(&limiter_for("k".into()), &limiter_for("k".into())));
    }
}
