//! LookupEvents through the real `aws-sdk-cloudtrail` client against a loopback endpoint that
//! speaks CloudTrail's JSON protocol: pagination, late-arriving events, throttling and a
//! malformed `CloudTrailEvent`, and several regions polled side by side, each within its own
//! 2 requests/s. No event may be lost or delivered twice.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::config::{BehaviorVersion, Credentials, Region};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use trailtop::source::aws::AwsOptions;

mod common;
use trailtop::source::lookup::LookupSource;
use trailtop::source::{SourceMsg, SourceStatus};

#[derive(Default)]
struct Trail {
    /// (time, id, CloudTrailEvent string)
    events: Vec<(i64, String, String)>,
    requests: u64,
    throttled: u64,
    rate: Rate,
    /// Throttle every n-th request on top of the rate rule, to exercise retries.
    throttle_every: u64,
    targets: HashSet<String>,
    /// Hand out a `NextToken` on every page, pages past the end included: `Some(true)` the
    /// same token each time, `Some(false)` a new one each time.
    tokens_forever: Option<bool>,
}

/// LookupEvents' limit, 2 requests a second, checked as "the request two back was at least
/// 850 ms ago": the client spaces requests 510 ms apart, so a pair is 1,020 ms apart when
/// sent, and a loaded machine may delay one request's arrival by 170 ms before this check
/// calls the client too fast (a check between neighbours left it 60 ms).
#[derive(Default)]
struct Rate {
    recent: std::collections::VecDeque<Instant>,
}

impl Rate {
    fn admit(&mut self, now: Instant) -> bool {
        if self.recent.len() == 2 {
            if now.duration_since(self.recent[0]) < Duration::from_millis(850) {
                return false;
            }
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        true
    }
}

fn record(id: &str, t: i64) -> String {
    json!({"eventVersion":"1.09","eventTime": trailtop::parse::time::rfc3339(t),"eventSource":"ec2.amazonaws.com",
        "eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2",
        "eventID": id,"readOnly": true,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/alice"}})
    .to_string()
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn handle(req: Request<Incoming>, trail: Arc<Mutex<Trail>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut t = trail.lock().unwrap();
    t.targets.insert(target.clone());
    if !target.ends_with("CloudTrail_20131101.LookupEvents") {
        return Ok(reply(400, json!({"__type": "UnknownOperationException"})));
    }
    t.requests += 1;
    let now = Instant::now();
    let too_fast = !t.rate.admit(now);
    let forced = t.throttle_every > 0 && t.requests.is_multiple_of(t.throttle_every);
    if too_fast || forced {
        t.throttled += 1;
        return Ok(reply(400, json!({"__type": "ThrottlingException", "message": "Rate exceeded"})));
    }
    let q: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let start = q["StartTime"].as_f64().unwrap_or(0.0) as i64;
    let end = q["EndTime"].as_f64().unwrap_or(f64::MAX) as i64;
    let max = q["MaxResults"].as_u64().unwrap_or(50) as usize;
    let offset: usize = q["NextToken"].as_str().and_then(|s| s.strip_prefix("tok-")?.parse().ok()).unwrap_or(0);
    let mut matching: Vec<&(i64, String, String)> = t.events.iter().filter(|e| e.0 >= start && e.0 <= end).collect();
    matching.sort_by_key(|e| std::cmp::Reverse(e.0));
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(max)
        .map(|(time, id, ct)| {
            json!({"EventId": id, "EventName": "DescribeInstances", "ReadOnly": "true", "EventTime": time,
            "EventSource": "ec2.amazonaws.com", "Username": "alice", "Resources": [], "CloudTrailEvent": ct})
        })
        .collect();
    let mut out = json!({ "Events": page });
    match t.tokens_forever {
        Some(true) => out["NextToken"] = json!("tok-0"),
        Some(false) => out["NextToken"] = json!(format!("tok-{}", offset + max)),
        None if offset + max < matching.len() => out["NextToken"] = json!(format!("tok-{}", offset + max)),
        None => {}
    }
    Ok(reply(200, out))
}

async fn serve(trail: Arc<Mutex<Trail>>) -> SocketAddr {
    common::serve_loopback(hyper::service::service_fn(move |req| handle(req, Arc::clone(&trail)))).await
}

fn client(addr: SocketAddr) -> aws_sdk_cloudtrail::Client {
    client_in(addr, "us-east-1")
}

fn client_in(addr: SocketAddr, region: &'static str) -> aws_sdk_cloudtrail::Client {
    let conf = aws_sdk_cloudtrail::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(format!("http://{addr}"))
        .retry_config(
            aws_sdk_cloudtrail::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(100)),
        )
        .build();
    aws_sdk_cloudtrail::Client::from_conf(conf)
}

#[test]
fn lookup_events_paginates_dedupes_and_survives_throttling() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let trail = Arc::new(Mutex::new(Trail { throttle_every: 4, ..Default::default() }));
    let now = chrono::Utc::now().timestamp();
    {
        let mut t = trail.lock().unwrap();
        for i in 0..130 {
            let id = format!("ev-{i:03}");
            let time = now - 1800 + i * 10;
            t.events.push((time, id.clone(), record(&id, time)));
        }
        t.events.push((now - 100, "broken".into(), "{not json".into()));
    }
    let addr = rt.block_on(serve(Arc::clone(&trail)));
    let (tx, rx) = crossbeam_channel::bounded(64);
    let opts = AwsOptions { since: 3600, poll: Duration::from_millis(600), ..Default::default() };
    let src = LookupSource {
        id: 0,
        regions: vec!["us-east-1".into()],
        opts,
        parse: Default::default(),
        follow: true,
        clients: Some(vec![client(addr)]),
    };
    std::thread::spawn(move || src.run(tx));

    let mut ids: Vec<String> = Vec::new();
    let mut invalid = 0;
    let mut live = false;
    let mut late_added = false;
    let mut counted = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Ok(msg) = rx.recv_timeout(Duration::from_secs(20)) else { break };
        match msg {
            SourceMsg::Events { events, stats, .. } => {
                ids.extend(events.iter().map(|e| e.id.to_string()));
                invalid += stats.skipped();
            }
            SourceMsg::Status { status: SourceStatus::Live, .. } => live = true,
            SourceMsg::Status { status: SourceStatus::Degraded(e), .. } => panic!("degraded: {e}"),
            SourceMsg::Requests { requests, throttled, .. } => counted = (requests, throttled),
            _ => {}
        }
        if live && !late_added {
            // Delivered late, with a time inside the overlap of the next poll.
            let time = chrono::Utc::now().timestamp() - 240;
            trail.lock().unwrap().events.push((time, "late-1".into(), record("late-1", time)));
            late_added = true;
        }
        if ids.iter().any(|i| i == "late-1") {
            break;
        }
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an event was delivered twice");
    assert_eq!(ids.len(), 131, "130 back-filled + 1 late: {}", ids.len());
    assert!(ids.iter().any(|i| i == "late-1"));
    assert_eq!(invalid, 1, "the malformed CloudTrailEvent is counted");
    // What the source counts, for the metrics: each poll reports after its events, so the
    // report of the poll that brought late-1 comes after it.
    let throttled = trail.lock().unwrap().throttled;
    let until = Instant::now() + Duration::from_secs(20);
    while counted.1 < throttled && Instant::now() < until {
        if let Ok(SourceMsg::Requests { requests, throttled, .. }) = rx.recv_timeout(Duration::from_secs(5)) {
            counted = (requests, throttled);
        }
    }
    let t = trail.lock().unwrap();
    assert!(t.throttled > 0, "the endpoint throttled some requests");
    assert_eq!(counted.1, t.throttled, "the throttles the endpoint answered are counted");
    assert!(counted.0 > 0 && counted.0 <= t.requests, "{counted:?} vs {}", t.requests);
    assert!(t.targets.iter().all(|x| x.ends_with("LookupEvents")), "{:?}", t.targets);
    println!("requests {}, throttled {} (all retried, nothing lost)", t.requests, t.throttled);
}

/// One account's trail per region, each region with its own 2/s allowance; the region is
/// read from the request's SigV4 credential scope, as AWS routes it.
#[derive(Default)]
struct Regions {
    trails: std::collections::HashMap<String, Vec<(i64, String, String)>>,
    rate: std::collections::HashMap<String, Rate>,
    /// Region of every answered request, in order.
    log: Vec<String>,
    too_fast: u64,
}

async fn handle_regions(req: Request<Incoming>, r: Arc<Mutex<Regions>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let region = auth.split("Credential=").nth(1).and_then(|c| c.split('/').nth(2)).unwrap_or("").to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut r = r.lock().unwrap();
    let now = Instant::now();
    if !r.rate.entry(region.clone()).or_default().admit(now) {
        r.too_fast += 1;
        return Ok(reply(400, json!({"__type": "ThrottlingException", "message": "Rate exceeded"})));
    }
    r.log.push(region.clone());
    let q: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let offset: usize = q["NextToken"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
    let events = r.trails.get(&region).cloned().unwrap_or_default();
    let page: Vec<Value> = events
        .iter()
        .skip(offset)
        .take(50)
        .map(|(time, id, ct)| json!({"EventId": id, "EventTime": time, "CloudTrailEvent": ct}))
        .collect();
    let mut out = json!({ "Events": page });
    if offset + 50 < events.len() {
        out["NextToken"] = json!((offset + 50).to_string());
    }
    Ok(reply(200, out))
}

#[test]
fn regions_are_polled_side_by_side_each_within_its_own_rate() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut regions = Regions::default();
    for region in ["us-east-1", "eu-west-1"] {
        // 200 events: four pages per region.
        let trail = (0..200)
            .map(|i| {
                let (id, time) = (format!("{region}-{i:03}"), now - 3000 + i * 10);
                (time, id.clone(), record(&id, time))
            })
            .rev()
            .collect();
        regions.trails.insert(region.into(), trail);
    }
    let regions = Arc::new(Mutex::new(regions));
    let addr = {
        let r = Arc::clone(&regions);
        rt.block_on(common::serve_loopback(hyper::service::service_fn(move |req| handle_regions(req, Arc::clone(&r)))))
    };
    let (tx, rx) = crossbeam_channel::bounded(64);
    let src = LookupSource {
        id: 0,
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        opts: AwsOptions { since: 3600, ..Default::default() },
        parse: Default::default(),
        follow: false,
        clients: Some(vec![client_in(addr, "us-east-1"), client_in(addr, "eu-west-1")]),
    };
    std::thread::spawn(move || src.run(tx));

    let (mut ids, mut finished_after, mut note) = (Vec::new(), None, String::new());
    for msg in rx.iter() {
        match msg {
            SourceMsg::Events { events, .. } => ids.extend(events.iter().map(|e| e.id.to_string())),
            SourceMsg::Note { text, .. } => note = text,
            SourceMsg::Status { status: SourceStatus::Finished, .. } => {
                assert!(finished_after.is_none(), "the source finished twice");
                finished_after = Some(ids.len());
            }
            SourceMsg::Status { status: SourceStatus::Degraded(e), .. } => panic!("degraded: {e}"),
            _ => {}
        }
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (400, 400), "every event of both regions, once");
    assert_eq!(finished_after, Some(400), "finished once, after both regions' events");
    // The request budget shown is every region's (four pages each), whichever finished last.
    assert!(note.contains("eu-west-1: 4 requests") && note.contains("us-east-1: 4 requests"), "{note}");
    let r = regions.lock().unwrap();
    assert_eq!(r.too_fast, 0, "each region kept to 2 requests a second");
    // Side by side: the second region was asked before the first had finished its pages.
    let first_done = r.log.iter().rposition(|x| *x == r.log[0]).unwrap();
    assert!(r.log[..first_done].iter().any(|x| *x != r.log[0]), "regions polled one after the other: {:?}", r.log);
}

/// The command line reaches LookupEvents: `trailtop scan lookup://REGION --endpoint-url ...`
/// with credentials from the environment reads the last hour, a malformed event counted.
#[test]
fn scan_reads_lookup_events_given_on_the_command_line() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut events: Vec<(i64, String, String)> = (0..60)
        .map(|i| (now - 3000 + i * 40, format!("cli-{i}"), record(&format!("cli-{i}"), now - 3000 + i * 40)))
        .collect();
    events.push((now - 100, "broken".into(), "{\"eventTime\": ".into()));
    events.push((now - 7200, "too-old".into(), record("too-old", now - 7200)));
    let trail = Arc::new(Mutex::new(Trail { events, ..Default::default() }));
    let addr = rt.block_on(serve(Arc::clone(&trail)));
    let data = tempfile::tempdir().unwrap();
    let out = common::trailtop_scan(data.path(), "AKIDTEST", "secret")
        .args(["lookup://eu-west-1", "--endpoint-url", &format!("http://{addr}")])
        .args(["--format", "jsonl", "--all", "--labels-dir", "none", "--stats"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("60 events used") && stderr.contains("1 truncated"), "{stderr}");
    let rows = String::from_utf8_lossy(&out.stdout);
    let events: u64 = rows.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["events"].as_u64().unwrap()).sum();
    assert_eq!(events, 60, "{rows}");
    let (requests, throttled) = {
        let t = trail.lock().unwrap();
        (t.requests, t.throttled)
    };
    assert_eq!((requests, throttled), (2, 0), "two pages of 50, within 2 requests/s");

    // `lookup://` means the configured region; with none, the source says so and scan ends
    // with exit 3: a cron job must not read an empty ranking as "no anomalies".
    let out = common::trailtop_scan(data.path(), "AKIDTEST", "secret")
        .args(["lookup://", "--endpoint-url", &format!("http://{addr}"), "--labels-dir", "none"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("lookup://: no region: name one (lookup://us-east-1)"), "{stderr}");
}

/// Runs a LookupEvents source that does not follow to its end against `trail`; returns the
/// event ids and the last degraded status.
fn read_to_end(trail: &Arc<Mutex<Trail>>, max_pages: usize) -> (Vec<String>, Option<String>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = rt.block_on(serve(Arc::clone(trail)));
    let (tx, rx) = crossbeam_channel::unbounded();
    let opts = AwsOptions { since: 3600, max_pages, ..Default::default() };
    let src = LookupSource {
        id: 0,
        regions: vec!["us-east-1".into()],
        opts,
        parse: Default::default(),
        follow: false,
        clients: Some(vec![client(addr)]),
    };
    std::thread::spawn(move || src.run(tx));
    let (mut ids, mut degraded) = (Vec::new(), None);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_deadline(deadline).expect("the source ends: paging must not go on for ever") {
            SourceMsg::Events { events, .. } => ids.extend(events.iter().map(|e| e.id.to_string())),
            SourceMsg::Status { status: SourceStatus::Degraded(e), .. } => degraded = Some(e),
            SourceMsg::Status { status: SourceStatus::Finished, .. } => return (ids, degraded),
            _ => {}
        }
    }
}

fn trail_of(n: i64, tokens_forever: bool) -> Arc<Mutex<Trail>> {
    let now = chrono::Utc::now().timestamp();
    let events = (0..n).map(|i| (now - 600 + i, format!("p-{i}"), record(&format!("p-{i}"), now - 600 + i))).collect();
    Arc::new(Mutex::new(Trail { events, tokens_forever: Some(tokens_forever), ..Default::default() }))
}

/// A server that hands back a token it gave before would have been followed for ever, the
/// window's events held back all the while. Now the repeat is seen and reported, and what
/// the pages held is delivered.
#[test]
fn a_repeated_next_token_ends_the_window_instead_of_looping() {
    let trail = trail_of(10, true);
    let (ids, degraded) = read_to_end(&trail, 2_000);
    assert_eq!(ids.len(), 10, "{ids:?}");
    let e = degraded.expect("the repeat is reported");
    assert!(e.contains("NextToken it had returned before"), "{e}");
    assert_eq!(trail.lock().unwrap().requests, 2, "the first page, and the one that repeated its token");
}

/// Tokens that never end are followed for at most `max_pages` pages a call: the rest of the
/// window is read at once from the oldest event seen, and when no page gets older the source
/// says so and moves on.
#[test]
fn endless_next_tokens_stop_at_the_page_cap() {
    let trail = trail_of(120, false);
    let (ids, degraded) = read_to_end(&trail, 3);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (120, 120), "every event once");
    let e = degraded.expect("the cap is reported");
    assert!(e.contains("3 pages without getting older"), "{e}");
    // Three pages of 50 (the last one empty), then three more from the oldest event on.
    assert_eq!(trail.lock().unwrap().requests, 6);
}
