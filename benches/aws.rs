//! AWS sources benchmark, all on loopback:
//! - S3 back-fill from an in-process S3 server (s3s over memory, `support/mem_s3.rs`) against
//!   the folder source on the same files, events/s and CPU time for both, and the ratio, for a
//!   quiet account's small objects and a busy account's; then the S3 back-fill from a server
//!   that answers each request after 20 ms;
//! - LookupEvents against an endpoint that allows exactly 2 requests/s with 50 events a page,
//!   events/s against the 100 events/s cap, and throttled requests.
//!
//! `cargo bench --bench aws`; `TRAILTOP_BENCH_S3_EVENTS` (default 1,000,000 for each account; the
//! quiet one spreads them over 10 days, the busy one over 2),
//! `TRAILTOP_BENCH_PAIRS` (folder and S3 runs taken in turn, default 7) and
//! `TRAILTOP_BENCH_LOOKUP_EVENTS` (default 1,000) set the sizes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use trailtop::source::aws::AwsOptions;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mem_s3.rs"]
mod mem_s3;
use trailtop::source::folder::FolderSource;
use trailtop::source::lookup::LookupSource;
use trailtop::source::s3::S3Source;
use trailtop::source::{SourceMsg, SourceStatus};

// The allocator trailtop ships with (see main.rs), so both sources are measured as they run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Events received until the source finished, and when the first arrived.
fn count(rx: crossbeam_channel::Receiver<SourceMsg>) -> (u64, Option<Instant>) {
    let (mut n, mut first) = (0, None);
    for msg in rx {
        match msg {
            SourceMsg::Events { events, .. } => {
                first.get_or_insert_with(Instant::now);
                n += events.len() as u64
            }
            SourceMsg::Status { status: SourceStatus::Finished, .. } => break,
            _ => {}
        }
    }
    (n, first)
}

/// This process's CPU time (user + system) in seconds, from /proc (Linux; 0 elsewhere).
fn cpu_secs() -> f64 {
    stat_cpu(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

/// CPU time the hypervisor gave to other guests while this machine wanted it (steal, all
/// cores), in seconds: the noise this shared VM adds to a run.
fn steal_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu = stat.lines().next().unwrap_or("");
    cpu.split_whitespace().nth(8).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0
}

/// CPU time of this process's threads named `name` (the loopback server's), in seconds.
fn thread_cpu_secs(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    tasks
        .filter_map(Result::ok)
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name))
        .map(|t| stat_cpu(&std::fs::read_to_string(t.path().join("stat")).unwrap_or_default()))
        .sum()
}

/// utime + stime of a /proc `stat` line, in seconds.
fn stat_cpu(stat: &str) -> f64 {
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, r)| r).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

struct Run {
    events: u64,
    secs: f64,
    cpu: f64,
    /// Of `cpu`, what the loopback S3 server used.
    server_cpu: f64,
    steal: f64,
    /// Seconds from the start to the first events.
    first: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.events as f64 / self.secs
    }
}

/// Starts a source with `start` and counts its events until it finishes.
fn timed(start: impl FnOnce(crossbeam_channel::Sender<SourceMsg>)) -> Run {
    let (t, cpu, server, steal) = (Instant::now(), cpu_secs(), thread_cpu_secs("s3-server"), steal_secs());
    let (tx, rx) = crossbeam_channel::bounded(64);
    start(tx);
    let (events, first) = count(rx);
    let first = first.map_or(f64::NAN, |f| f.duration_since(t).as_secs_f64());
    let server_cpu = thread_cpu_secs("s3-server") - server;
    let steal = steal_secs() - steal;
    Run { events, secs: t.elapsed().as_secs_f64(), cpu: cpu_secs() - cpu, server_cpu, steal, first }
}

fn median_of(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// An S3 back-fill from the server at `addr`, the client built as `trailtop s3://…
/// --endpoint-url` builds it: the credential chain (the environment, set in `main`), retries
/// and timeouts.
fn s3_run(addr: SocketAddr, days: u64) -> Run {
    timed(|tx| {
        let src = S3Source {
            id: 0,
            bucket: "trail".into(),
            prefix: "AWSLogs/".into(),
            opts: AwsOptions {
                since: (days as i64 + 2) * 86_400,
                region: Some("us-east-1".into()),
                endpoint_url: Some(format!("http://{addr}")),
                ..Default::default()
            },
            parse: Default::default(),
            follow: false,
            sdk: None,
        };
        std::thread::spawn(move || src.run(tx));
    })
}

/// Generates `n_s3` events over `days` days, serves them from the loopback S3 server, and reports
/// the S3 back-fill against the folder source on the same files.
fn s3_against_folder(rt: &tokio::runtime::Runtime, n_s3: u64, days: u64, pairs: usize, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("s3").join("trail");
    let bin = env!("CARGO_BIN_EXE_trailtop");
    let ok = std::process::Command::new(bin)
        .args(["gen", "--out", bucket.to_str().unwrap(), "--events", &n_s3.to_string()])
        .args(["--days", &days.to_string(), "--start", &format!("{}d", days + 1)])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let objects =
        walkdir::WalkDir::new(&bucket).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()).count();
    let addr = rt.block_on(serve_s3(&bucket, Duration::ZERO));
    // This machine is noisy (a shared VM): the two sources take turns, in alternating order,
    // and each pair gives a ratio; the median pair and the spread are reported.
    let (mut folder_runs, mut s3_runs, mut ratios, mut cpu_ratios) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs {
        let run_folder = || {
            timed(|tx| {
                let folder = FolderSource { id: 0, root: bucket.clone(), opts: Default::default(), follow: false };
                std::thread::spawn(move || folder.run(tx));
            })
        };
        let run_s3 = || s3_run(addr, days);
        let (f, s) = if pair % 2 == 0 {
            let f = run_folder();
            (f, run_s3())
        } else {
            let s = run_s3();
            (run_folder(), s)
        };
        ratios.push(s.rate() / f.rate());
        cpu_ratios.push(f.cpu / s.cpu);
        folder_runs.push(f);
        s3_runs.push(s);
    }
    let steal: f64 = folder_runs.iter().chain(&s3_runs).map(|r| r.steal).sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let busy: f64 = folder_runs.iter().chain(&s3_runs).map(|r| r.secs).sum::<f64>() * cores;
    let (folder, s3) = (median(folder_runs), median(s3_runs));
    println!(
        "S3 against the folder source, {label}: {:.0} events an object; {pairs} alternating pairs, medians; CPU stolen by other guests {steal:.2} s of {busy:.1} core-s",
        folder.events as f64 / objects as f64
    );
    println!(
        "  folder source  {} events in {:.2} s ({:.0} events/s), CPU {:.2} s, first events after {:.0} ms",
        folder.events,
        folder.secs,
        folder.rate(),
        folder.cpu,
        folder.first * 1e3
    );
    println!(
        "  S3 source      {} events in {:.2} s ({:.0} events/s), CPU {:.2} s (of which the server {:.2} s), first events after {:.0} ms",
        s3.events,
        s3.secs,
        s3.rate(),
        s3.cpu,
        s3.server_cpu,
        s3.first * 1e3
    );
    let spread = |v: &[f64]| {
        format!("{:.2}–{:.2}", v.iter().copied().fold(f64::MAX, f64::min), v.iter().copied().fold(0.0, f64::max))
    };
    println!(
        "  S3 / folder    {:.2} of the folder rate, median pair (pairs {}); CPU per event {:.2} (pairs {})",
        median_of(&mut ratios),
        spread(&ratios),
        median_of(&mut cpu_ratios),
        spread(&cpu_ratios)
    );

    // Real S3 answers after tens of milliseconds, not microseconds: the back-fill must keep
    // enough requests in flight to hide that.
    let far = rt.block_on(serve_s3(&bucket, Duration::from_millis(S3_LATENCY_MS)));
    let r = s3_run(far, days);
    println!(
        "  S3, {S3_LATENCY_MS} ms a request  {} events in {:.2} s ({:.0} events/s, {:.2} of the folder rate)",
        r.events,
        r.secs,
        r.rate(),
        r.rate() / folder.rate()
    );
}

/// The run with the median wall time.
fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    runs.swap_remove(runs.len() / 2)
}

async fn serve_s3(root: &std::path::Path, latency: Duration) -> SocketAddr {
    let mut b = s3s::service::S3ServiceBuilder::new(mem_s3::MemS3::from_dir("trail", root).with_latency(latency));
    b.set_auth(s3s::auth::SimpleAuth::from_single("AK", "SK"));
    common::serve_loopback(b.build()).await
}

struct Api {
    events: Vec<(i64, String)>,
    last: Option<Instant>,
    requests: u64,
    throttled: u64,
}

async fn lookup(req: Request<Incoming>, api: Arc<Mutex<Api>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut a = api.lock().unwrap();
    a.requests += 1;
    let now = Instant::now();
    // Exactly 2 requests a second.
    if a.last.is_some_and(|l| now.duration_since(l) < Duration::from_millis(500)) {
        a.throttled += 1;
        let b = json!({"__type": "ThrottlingException", "message": "Rate exceeded"}).to_string();
        return Ok(Response::builder().status(400).body(Full::new(Bytes::from(b))).unwrap());
    }
    a.last = Some(now);
    let q: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let offset: usize = q["NextToken"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = a.events[offset.min(a.events.len())..]
        .iter()
        .take(50)
        .map(|(t, rec)| json!({"EventId": format!("e{t}"), "EventTime": t, "CloudTrailEvent": rec}))
        .collect();
    let mut out = json!({"Events": page});
    if offset + 50 < a.events.len() {
        out["NextToken"] = json!((offset + 50).to_string());
    }
    Ok(Response::builder().status(200).body(Full::new(Bytes::from(out.to_string()))).unwrap())
}

/// Time to first byte added by the far server: S3 as seen from the same region.
const S3_LATENCY_MS: u64 = 20;

fn main() {
    // SAFETY: no other thread runs yet. The S3 source finds these through the standard
    // credential chain; no profile file or instance metadata is consulted.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "AK");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "SK");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    // The stand-in for S3 shares the two cores with the client under test, so it gets one
    // worker: a second one spends the cores on work-stealing wake-ups (real S3 is elsewhere).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("s3-server")
        .enable_all()
        .build()
        .unwrap();
    let n_s3: u64 = std::env::var("TRAILTOP_BENCH_S3_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let pairs: usize = std::env::var("TRAILTOP_BENCH_PAIRS").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    let n_lookup: i64 = std::env::var("TRAILTOP_BENCH_LOOKUP_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);

    // S3 against the folder source, same files: a quiet account's small objects, where S3's
    // cost per request weighs most, and a busy account's.
    s3_against_folder(&rt, n_s3, 10, pairs, "quiet account");
    s3_against_folder(&rt, n_s3, 2, pairs, "busy account");

    // LookupEvents at exactly 2 requests/s.
    let now = chrono::Utc::now().timestamp();
    let events: Vec<(i64, String)> = (0..n_lookup)
        .map(|i| {
            let t = now - 3000 + i;
            let rec = json!({"eventTime": trailtop::parse::time::rfc3339(t), "eventName": "ListBuckets", "eventID": format!("e{t}"),
                "userIdentity": {"arn": "arn:aws:iam::1:user/a"}});
            (t, rec.to_string())
        })
        .collect();
    let api = Arc::new(Mutex::new(Api { events, last: None, requests: 0, throttled: 0 }));
    let addr: SocketAddr = {
        let api = Arc::clone(&api);
        rt.block_on(common::serve_loopback(hyper::service::service_fn(move |req| lookup(req, Arc::clone(&api)))))
    };
    let conf = aws_sdk_cloudtrail::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AK", "SK", None, None, "bench"))
        .endpoint_url(format!("http://{addr}"))
        .build();
    let t = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded(64);
    let src = LookupSource {
        id: 0,
        regions: vec!["us-east-1".into()],
        opts: AwsOptions { since: 3600, ..Default::default() },
        parse: Default::default(),
        follow: false,
        clients: Some(vec![aws_sdk_cloudtrail::Client::from_conf(conf)]),
    };
    std::thread::spawn(move || src.run(tx));
    let (got, _) = count(rx);
    let secs = t.elapsed().as_secs_f64();
    let a = api.lock().unwrap();
    println!(
        "  LookupEvents   {got}/{n_lookup} events in {secs:.2} s ({:.1} events/s, {:.0}% of the 100/s cap), {} requests, {} throttled",
        got as f64 / secs,
        got as f64 / secs,
        a.requests,
        a.throttled
    );
}
