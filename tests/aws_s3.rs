//! The S3 source through the real `aws-sdk-s3` client against a real S3 server (s3s-fs,
//! in this process, on 127.0.0.1): org-trail layout, back-fill, new objects while polling,
//! a late file for yesterday, digests skipped, a corrupt object, restarts without duplicates
//! or gaps, and rejected credentials.

use std::collections::HashSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use crossbeam_channel::Receiver;
use flate2::Compression;
use flate2::write::GzEncoder;
use trailtop::source::aws::AwsOptions;

mod common;
use trailtop::source::s3::{S3Source, day_folders};
use trailtop::source::{SourceMsg, SourceStatus};

const BUCKET: &str = "trail-bucket";
const AK: &str = "AKIDTEST";
const SK: &str = "test-secret";

fn put(root: &Path, key: &str, ids: &[&str], t: i64) {
    let records: Vec<String> = ids
        .iter()
        .map(|id| {
            serde_json::json!({"eventTime": trailtop::parse::time::rfc3339(t), "eventName": "GetObject", "eventSource": "s3.amazonaws.com",
                "eventID": id, "sourceIPAddress": "198.51.100.9", "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a"}})
            .to_string()
        })
        .collect();
    let doc = format!("{{\"Records\":[{}]}}", records.join(","));
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(doc.as_bytes()).unwrap();
    let path = root.join(BUCKET).join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

async fn serve(root: &Path) -> SocketAddr {
    serve_with_faults(root, Faults::default()).await
}

/// Faults injected in front of the real server.
#[derive(Clone, Default)]
struct Faults {
    /// Answer this many requests with 503 SlowDown first.
    slowdowns: Arc<AtomicU32>,
    /// Answer GetObject of keys containing this with 403 AccessDenied (changed while running).
    deny: Arc<Mutex<Option<String>>>,
    /// The bucket's region: requests signed for another are answered as S3 does.
    bucket_region: Option<&'static str>,
    /// Object GETs that reached the server, by who sent them: trailtop's plain GET, the SDK.
    plain_gets: Arc<AtomicU32>,
    sdk_gets: Arc<AtomicU32>,
    /// Refuse plain GETs, as S3 would a request shape they get wrong.
    refuse_plain: bool,
    /// Answer plain GETs with a body that sends two bytes and then nothing.
    stall_plain: bool,
    /// ListObjectsV2 requests that reached the server.
    lists: Arc<AtomicU32>,
    /// Serve GETs of keys containing this with 8 MiB, whatever the listing said.
    oversize: Option<&'static str>,
}

impl Faults {
    /// Object GETs so far: (plain, through the SDK).
    fn gets(&self) -> (u32, u32) {
        (self.plain_gets.load(Ordering::SeqCst), self.sdk_gets.load(Ordering::SeqCst))
    }
}

/// Today's folder of `account`'s trail in us-east-1.
fn today_folder(account: &str, now: i64) -> String {
    format!("AWSLogs/{account}/CloudTrail/us-east-1/{}", day_folders(now, now).remove(0))
}

/// A response body that stops after its first bytes, the connection left open.
struct Stalling(Option<hyper::body::Bytes>);

impl hyper::body::Body for Stalling {
    type Data = hyper::body::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        match self.0.take() {
            Some(b) => std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(b)))),
            None => std::task::Poll::Pending,
        }
    }
}

fn s3_error(status: u16, code: &str) -> hyper::Response<s3s::Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
    );
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(s3s::Body::from(xml))
        .unwrap()
}

async fn serve_with_faults(root: &Path, faults: Faults) -> SocketAddr {
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(AK, SK));
    let inner = b.build();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (inner, faults) = (inner.clone(), faults.clone());
        async move {
            // Requests signed for another region are turned away, naming the bucket's.
            if let Some(region) = faults.bucket_region {
                let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                if !auth.contains(&format!("/{region}/s3/aws4_request")) {
                    let mut resp = s3_error(301, "PermanentRedirect");
                    resp.headers_mut().insert("x-amz-bucket-region", hyper::header::HeaderValue::from_static(region));
                    return Ok(resp);
                }
            }
            if req.uri().query().is_some_and(|q| q.contains("list-type=2")) {
                faults.lists.fetch_add(1, Ordering::SeqCst);
            }
            if faults.slowdowns.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                return Ok::<_, s3s::HttpError>(s3_error(503, "SlowDown"));
            }
            if req.method() == hyper::Method::GET && req.uri().path().ends_with(".json.gz") {
                let agent = req.headers().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("");
                let plain = agent.starts_with("trailtop/");
                (if plain { &faults.plain_gets } else { &faults.sdk_gets }).fetch_add(1, Ordering::SeqCst);
                if plain && faults.refuse_plain {
                    return Ok(s3_error(403, "SignatureDoesNotMatch"));
                }
                if plain && faults.stall_plain {
                    let stalled = s3s::Body::http_body(Stalling(Some(hyper::body::Bytes::from_static(&[0x1f, 0x8b]))));
                    return Ok(hyper::Response::builder().header("content-length", "1000").body(stalled).unwrap());
                }
            }
            if req.method() == hyper::Method::GET && faults.oversize.is_some_and(|o| req.uri().path().contains(o)) {
                let big = s3s::Body::from(vec![b' '; 8 << 20]);
                return Ok(hyper::Response::builder()
                    .header("content-length", (8 << 20).to_string())
                    .body(big)
                    .unwrap());
            }
            if req.method() == hyper::Method::GET
                && faults.deny.lock().unwrap().as_deref().is_some_and(|d| req.uri().path().contains(d))
            {
                return Ok(s3_error(403, "AccessDenied"));
            }
            hyper::service::Service::call(&inner, req).await
        }
    });
    common::serve_loopback(service).await
}

/// The SDK configuration the source builds its client from (path style, as for any endpoint).
fn sdk(addr: SocketAddr, secret: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(AK, secret, None, None, "test")))
        .endpoint_url(format!("http://{addr}"))
        .retry_config(
            aws_sdk_s3::config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(50)),
        )
        .build()
}

fn source(addr: SocketAddr, state: &Path, follow: bool, secret: &str) -> S3Source {
    S3Source {
        id: 0,
        bucket: BUCKET.into(),
        prefix: "AWSLogs/".into(),
        opts: AwsOptions {
            since: 2 * 86_400,
            poll: Duration::from_millis(300),
            state_dir: Some(state.to_path_buf()),
            ..Default::default()
        },
        parse: Default::default(),
        follow,
        sdk: Some(sdk(addr, secret)),
    }
}

/// Runs `src` to its end (not following) and collects what it sent, as [`drain`] does,
/// saving the position it hands back as `scan` does once its output is written.
fn read_once(src: S3Source) -> (Vec<String>, Vec<String>, SourceStatus) {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || src.run(tx));
    drain(&rx, |_, _, _| false)
}

/// Collects event ids until `until` returns true or the source finishes, saving positions
/// handed back. `until` is also told whether every event so far is behind a saved position,
/// for a test that restarts where the last run left off.
fn drain(
    rx: &Receiver<SourceMsg>,
    mut until: impl FnMut(&[String], &SourceStatus, bool) -> bool,
) -> (Vec<String>, Vec<String>, SourceStatus) {
    let (mut ids, mut errors) = (Vec::new(), Vec::new());
    let mut saved = true;
    let mut last = SourceStatus::Backfilling { done: 0, total: 0 };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(SourceMsg::Events { events, error, .. }) => {
                saved &= events.is_empty();
                ids.extend(events.iter().map(|e| e.id.to_string()));
                errors.extend(error);
            }
            Ok(SourceMsg::Status { status, .. }) => last = status,
            // Saved as a consumer does once what came before it is delivered.
            Ok(SourceMsg::Commit { commit, .. }) => {
                commit.save().unwrap();
                saved = true;
            }
            Ok(SourceMsg::Note { .. } | SourceMsg::Requests { .. }) => {}
            Err(_) => break,
        }
        if until(&ids, &last, saved) || last == SourceStatus::Finished {
            break;
        }
    }
    (ids, errors, last)
}

#[test]
fn s3_backfill_poll_restart_and_errors() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let state = dir.path().join("state");
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let now = chrono::Utc::now().timestamp();
    let days = day_folders(now - 86_400, now);
    let (yesterday, today) = (&days[0], &days[1]);
    let org = "AWSLogs/o-abc123def4";
    let a = format!("{org}/111111111111/CloudTrail/us-east-1/");
    let b = format!("{org}/222222222222/CloudTrail/eu-west-1/");
    put(
        &root,
        &format!("{a}{yesterday}111111111111_CloudTrail_us-east-1_0100Z_aaaa.json.gz"),
        &["y1", "y2"],
        now - 86_400,
    );
    put(&root, &format!("{a}{today}111111111111_CloudTrail_us-east-1_0100Z_bbbb.json.gz"), &["t1"], now);
    put(&root, &format!("{b}{today}222222222222_CloudTrail_eu-west-1_0105Z_cccc.json.gz"), &["t2", "t3"], now);
    // Outside --since: never listed.
    let old = day_folders(now - 9 * 86_400, now - 9 * 86_400).remove(0);
    put(&root, &format!("{a}{old}111111111111_CloudTrail_us-east-1_0100Z_old.json.gz"), &["old"], now - 9 * 86_400);
    put(&root, &format!("{org}/111111111111/CloudTrail-Digest/us-east-1/{today}digest.json.gz"), &["digest"], now);
    let corrupt = root.join(BUCKET).join(format!("{a}{today}111111111111_CloudTrail_us-east-1_0200Z_dddd.json.gz"));
    std::fs::write(&corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).unwrap();

    let faults = Faults::default();
    let addr = rt.block_on(serve_with_faults(&root, faults.clone()));
    let (tx, rx) = crossbeam_channel::bounded(64);
    let src = source(addr, &state, true, SK);
    std::thread::spawn(move || src.run(tx));
    let (mut ids, errors, status) = drain(&rx, |_, s, _| *s == SourceStatus::Live);
    assert_eq!(status, SourceStatus::Live);
    let got: HashSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(got, HashSet::from(["y1", "y2", "t1", "t2", "t3"]), "back-fill");
    assert!(errors.iter().any(|e| e.contains("dddd") && e.contains("gzip")), "{errors:?}");
    // Four objects (the digest is not fetched), each by one plain GET the server's SigV4
    // check accepted.
    assert_eq!(faults.gets(), (4, 0));

    // New objects while polling: one today, one late for yesterday.
    put(&root, &format!("{b}{today}222222222222_CloudTrail_eu-west-1_0300Z_eeee.json.gz"), &["n1"], now);
    put(&root, &format!("{a}{yesterday}111111111111_CloudTrail_us-east-1_2355Z_ffff.json.gz"), &["late"], now - 3600);
    let (more, _, _) = drain(&rx, |ids, _, saved| ids.len() >= 2 && saved);
    ids.extend(more);
    drop(rx);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice: {ids:?}");
    assert!(ids.contains(&"n1".to_owned()) && ids.contains(&"late".to_owned()), "{ids:?}");

    // Restart: the checkpoint says everything was read.
    std::thread::sleep(Duration::from_millis(400));
    put(&root, &format!("{b}{today}222222222222_CloudTrail_eu-west-1_0400Z_gggg.json.gz"), &["after-restart"], now);
    let (again, _, status) = read_once(source(addr, &state, false, SK));
    assert_eq!(status, SourceStatus::Finished);
    assert_eq!(again, ["after-restart"], "only what is new since the checkpoint");

    // Rejected credentials are a status, not a crash.
    let (tx, rx) = crossbeam_channel::bounded(64);
    let src = source(addr, &dir.path().join("state2"), false, "wrong-secret");
    std::thread::spawn(move || src.run(tx));
    let msg = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    match msg {
        SourceMsg::Status { status: SourceStatus::Degraded(e), .. } => {
            assert!(e.contains("credentials rejected"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn s3_slowdown_is_retried_and_access_denied_names_the_permission() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let now = chrono::Utc::now().timestamp();
    let a = today_folder("333333333333", now);
    put(&root, &format!("{a}333333333333_CloudTrail_us-east-1_0100Z_ok01.json.gz"), &["ok1"], now);
    put(&root, &format!("{a}333333333333_CloudTrail_us-east-1_0105Z_secret.json.gz"), &["hidden"], now);
    put(&root, &format!("{a}333333333333_CloudTrail_us-east-1_0110Z_ok02.json.gz"), &["ok2"], now);
    let faults = Faults { slowdowns: Arc::new(AtomicU32::new(3)), deny: deny("secret"), ..Default::default() };
    let addr = rt.block_on(serve_with_faults(&root, faults.clone()));
    let (ids, errors, status) = read_once(source(addr, &dir.path().join("state"), false, SK));
    assert_eq!(status, SourceStatus::Finished);
    assert_eq!(faults.slowdowns.load(Ordering::SeqCst), 0, "the 503s were served");
    let got: HashSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(got, HashSet::from(["ok1", "ok2"]), "SlowDown retried; the denied object does not stop the others");
    assert!(errors.iter().any(|e| e.contains("secret") && e.contains("s3:GetObject")), "{errors:?}");
}

/// A server that refuses the plain GET (a signing or endpoint rule it does not follow) still
/// gets every object read, through the SDK, and is not sent plain GETs any more.
#[test]
fn s3_plain_get_refused_falls_back_to_the_sdk_for_good() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let now = chrono::Utc::now().timestamp();
    let a = today_folder("444444444444", now);
    put(&root, &format!("{a}444444444444_CloudTrail_us-east-1_0100Z_aaaa.json.gz"), &["r1"], now);
    let faults = Faults { refuse_plain: true, ..Default::default() };
    let addr = rt.block_on(serve_with_faults(&root, faults.clone()));
    let (tx, rx) = crossbeam_channel::bounded(64);
    let src = source(addr, &dir.path().join("state"), true, SK);
    std::thread::spawn(move || src.run(tx));
    let (mut ids, errors, status) = drain(&rx, |_, s, _| *s == SourceStatus::Live);
    assert_eq!((status, errors), (SourceStatus::Live, vec![]));
    assert_eq!(faults.gets(), (1, 1));

    put(&root, &format!("{a}444444444444_CloudTrail_us-east-1_0200Z_bbbb.json.gz"), &["r2", "r3"], now);
    put(&root, &format!("{a}444444444444_CloudTrail_us-east-1_0300Z_cccc.json.gz"), &["r4"], now);
    let (more, errors, _) = drain(&rx, |ids, _, _| ids.len() >= 3);
    ids.extend(more);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ids, ["r1", "r2", "r3", "r4"]);
    assert_eq!(faults.plain_gets.load(Ordering::SeqCst), 1, "no plain GET after the SDK got what it could not");
    assert_eq!(faults.sdk_gets.load(Ordering::SeqCst), 3);
}

/// A plain GET whose body stops is given up after the stall time and the object fetched by the
/// SDK: nothing is lost and the pipeline does not wait for it.
#[test]
fn s3_stalled_plain_get_is_fetched_by_the_sdk() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let now = chrono::Utc::now().timestamp();
    let a = today_folder("666666666666", now);
    put(&root, &format!("{a}666666666666_CloudTrail_us-east-1_0100Z_aaaa.json.gz"), &["s1"], now);
    put(&root, &format!("{a}666666666666_CloudTrail_us-east-1_0200Z_bbbb.json.gz"), &["s2", "s3"], now);
    let faults = Faults { stall_plain: true, ..Default::default() };
    let addr = rt.block_on(serve_with_faults(&root, faults.clone()));
    let mut src = source(addr, &dir.path().join("state"), false, SK);
    src.opts.stall = Duration::from_millis(300);
    let (ids, errors, status) = read_once(src);
    assert_eq!((status, errors), (SourceStatus::Finished, vec![]));
    assert_eq!(ids, ["s1", "s2", "s3"]);
    // A stall is not a refusal: the plain GET stays in use.
    assert_eq!(faults.gets(), (2, 2));
}

/// An object larger than one chunk of the response arrives whole by the plain GET.
#[test]
fn s3_large_object_arrives_whole() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let now = chrono::Utc::now().timestamp();
    let ids: Vec<String> = (0..30_000).map(|i| format!("big-{i}-{}", i * 7919 % 30_011)).collect();
    let key = format!("{}555555555555_CloudTrail_us-east-1_0100Z_big.json.gz", today_folder("555555555555", now));
    put(&root, &key, &ids.iter().map(String::as_str).collect::<Vec<_>>(), now);
    let size = std::fs::metadata(root.join(BUCKET).join(&key)).unwrap().len();
    assert!(size > 256 << 10, "{size} bytes: more than a chunk");
    let faults = Faults::default();
    let addr = rt.block_on(serve_with_faults(&root, faults.clone()));
    let (got, errors, status) = read_once(source(addr, &dir.path().join("state"), false, SK));
    assert_eq!((status, errors), (SourceStatus::Finished, vec![]));
    assert_eq!(got, ids);
    assert_eq!(faults.gets(), (1, 0));
}

/// More accounts than are listed side by side and more day folders than are listed ahead:
/// every object is read once and handed over in folder and key order, and a restart reads
/// nothing again.
#[test]
fn s3_many_folders_arrive_once_and_in_order() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let state = dir.path().join("state");
    let now = chrono::Utc::now().timestamp();
    let days = day_folders(now - 5 * 86_400, now);
    let mut expected = Vec::new();
    for account in 0..10 {
        for (d, day) in days.iter().enumerate() {
            for file in 0..3 {
                let id = format!("a{account:02}-d{d}-f{file}");
                let key = format!("AWSLogs/o-org/1000000000{account:02}/CloudTrail/us-east-1/{day}f{file}.json.gz");
                put(&root, &key, &[&id], now - (5 - d as i64) * 86_400);
                expected.push(id);
            }
        }
    }
    let addr = rt.block_on(serve(&root));
    let back_fill = || {
        let mut src = source(addr, &state, false, SK);
        src.opts.since = 6 * 86_400;
        read_once(src)
    };
    let (ids, errors, status) = back_fill();
    assert_eq!(status, SourceStatus::Finished);
    assert!(errors.is_empty(), "{errors:?}");
    // Ids sort as their keys do: account, then day, then file.
    assert_eq!(ids, expected, "all {} objects, once each, in order", expected.len());

    let (ids, _, status) = back_fill();
    assert_eq!(status, SourceStatus::Finished);
    assert!(ids.is_empty(), "read again after a restart: {ids:?}");
}

/// Runs `trailtop scan` as a user would, with credentials from the environment and the data
/// dir (checkpoints) in `data`; returns stdout and stderr.
fn trailtop_scan(args: &[&str], data: &Path) -> (String, String) {
    trailtop_scan_exits(0, args, data)
}

/// [`trailtop_scan`], expecting exit code `code` (3: a source failed).
fn trailtop_scan_exits(code: i32, args: &[&str], data: &Path) -> (String, String) {
    let out = common::trailtop_scan(data, AK, SK)
        .args(args)
        .args(["--format", "jsonl", "--all", "--labels-dir", "none", "--stats"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into());
    assert_eq!(out.status.code(), Some(code), "trailtop scan {args:?}: {stderr}");
    (stdout, stderr)
}

/// The command line reaches the S3 source: `trailtop scan s3://BUCKET/PREFIX` with
/// `--endpoint-url`, keeping its checkpoint in the data dir, so a second scan reads nothing
/// again and `--from-scratch` reads everything.
#[test]
fn scan_reads_an_s3_prefix_given_on_the_command_line() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (root, data) = (dir.path().join("s3"), dir.path().join("data"));
    let now = chrono::Utc::now().timestamp();
    let today = day_folders(now, now).remove(0);
    let a = format!("AWSLogs/111111111111/CloudTrail/us-east-1/{today}");
    put(&root, &format!("{a}111111111111_CloudTrail_us-east-1_0100Z_aaaa.json.gz"), &["c1", "c2"], now - 60);
    put(&root, &format!("{a}111111111111_CloudTrail_us-east-1_0105Z_bbbb.json.gz"), &["c3"], now - 30);
    let addr = rt.block_on(serve(&root));
    let endpoint = format!("http://{addr}");
    let url = format!("s3://{BUCKET}/AWSLogs/");
    let args = ["--endpoint-url", endpoint.as_str(), "--region", "us-east-1", url.as_str()];

    let (rows, stderr) = trailtop_scan(&args, &data);
    assert!(stderr.contains("2 files, 3 records, 3 events used"), "{stderr}");
    let events: u64 =
        rows.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["events"].as_u64().unwrap()).sum();
    assert_eq!(events, 3, "{rows}");

    let (_, again) = trailtop_scan(&args, &data);
    assert!(again.contains("0 files, 0 records"), "the checkpoint says both objects were read: {again}");
    assert!(again.contains("resumed at the checkpoint (--from-scratch re-reads)"), "and it says so: {again}");
    assert!(!stderr.contains("resumed"), "{stderr}");
    let (_, scratch) = trailtop_scan(&[&args[..], &["--from-scratch"]].concat(), &data);
    assert!(scratch.contains("3 events used"), "{scratch}");
    // A region folder named without its trailing slash is read the same.
    let bare = format!("s3://{BUCKET}/AWSLogs/111111111111/CloudTrail/us-east-1");
    let (_, region) = trailtop_scan(&["--endpoint-url", endpoint.as_str(), "--from-scratch", bare.as_str()], &data);
    assert!(region.contains("3 events used"), "{region}");

    // A prefix may name a day below a region folder: that day is read, whatever --since says.
    let old = day_folders(now - 10 * 86_400, now - 10 * 86_400).remove(0);
    let region = "AWSLogs/111111111111/CloudTrail/us-east-1/";
    put(
        &root,
        &format!("{region}{old}111111111111_CloudTrail_us-east-1_0100Z_old1.json.gz"),
        &["o1", "o2"],
        now - 10 * 86_400,
    );
    let day_url = format!("s3://{BUCKET}/{region}{old}");
    let (_, day) =
        trailtop_scan(&["--endpoint-url", endpoint.as_str(), "--region", "us-east-1", day_url.as_str()], &data);
    assert!(day.contains("1 files, 2 records, 2 events used"), "{day}");

    // A bucket that does not exist is reported, and the run says it is incomplete (exit 3).
    let (_, missing) =
        trailtop_scan_exits(3, &["--endpoint-url", endpoint.as_str(), "s3://no-such-bucket/AWSLogs/"], &data);
    assert!(missing.contains("s3://no-such-bucket/AWSLogs/") && missing.contains("no such bucket"), "{missing}");
    assert!(missing.contains("incomplete"), "{missing}");
    // A bucket in another region than the one configured is read in its own.
    let faults = Faults { bucket_region: Some("eu-west-3"), ..Default::default() };
    let elsewhere = rt.block_on(serve_with_faults(&root, faults.clone()));
    let endpoint = format!("http://{elsewhere}");
    let moved = ["--endpoint-url", endpoint.as_str(), "--region", "us-west-2", "--from-scratch", url.as_str()];
    let (_, stderr) = trailtop_scan(&moved, &data);
    assert!(stderr.contains("3 events used"), "{stderr}");
    // By plain GETs, signed with the environment's credentials for the bucket's region.
    assert_eq!(faults.gets(), (2, 0));
}

fn deny(part: &str) -> Arc<Mutex<Option<String>>> {
    Arc::new(Mutex::new(Some(part.to_owned())))
}

/// An object that cannot be read (403: a missing kms:Decrypt) used to be passed by the
/// checkpoint, and no later run ever read it. Now it holds the checkpoint, is shown, and is
/// retried until it is read; the objects after it are not fetched twice meanwhile.
#[test]
fn s3_a_failed_object_holds_the_checkpoint_until_it_is_read() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let state = dir.path().join("state");
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let now = chrono::Utc::now().timestamp();
    let a = today_folder("444444444444", now);
    put(&root, &format!("{a}444444444444_CloudTrail_us-east-1_0100Z_ok01.json.gz"), &["ok1"], now);
    put(&root, &format!("{a}444444444444_CloudTrail_us-east-1_0105Z_kms1.json.gz"), &["locked"], now);
    put(&root, &format!("{a}444444444444_CloudTrail_us-east-1_0110Z_ok02.json.gz"), &["ok2"], now);
    let faults = Faults { deny: deny("kms1"), ..Default::default() };
    let addr = rt.block_on(serve_with_faults(&root, faults.clone()));

    // A run that does not follow: the others are read, the failure is reported, and the
    // position handed back for saving stops before the failed object.
    let (tx, rx) = crossbeam_channel::unbounded();
    let src = source(addr, &state, false, SK);
    std::thread::spawn(move || src.run(tx));
    let (mut ids, mut statuses, mut commits) = (Vec::new(), Vec::new(), Vec::new());
    for msg in rx.iter() {
        match msg {
            SourceMsg::Events { events, .. } => ids.extend(events.iter().map(|e| e.id.to_string())),
            SourceMsg::Status { status, .. } => statuses.push(status),
            SourceMsg::Commit { commit, .. } => commits.push(commit),
            SourceMsg::Note { .. } | SourceMsg::Requests { .. } => {}
        }
    }
    assert_eq!(ids, ["ok1", "ok2"]);
    assert!(
        statuses.iter().any(
            |s| matches!(s, SourceStatus::Degraded(e) if e.contains("1 object not read yet") && e.contains("kms1"))
        ),
        "{statuses:?}"
    );
    assert_eq!(commits.len(), 1);
    commits[0].save().unwrap();
    let saved = std::fs::read_to_string(
        std::fs::read_dir(state.join("s3-checkpoints")).unwrap().next().unwrap().unwrap().path(),
    )
    .unwrap();
    assert!(saved.contains("ok01") && !saved.contains("kms1") && !saved.contains("ok02"), "{saved}");

    // Following: the failed object is retried on later polls while ok2 is not fetched again;
    // once the key works, it is read and the checkpoint runs past all three.
    let (tx, rx) = crossbeam_channel::bounded(64);
    std::thread::spawn(move || source(addr, &state, true, SK).run(tx));
    let (first, _, status) = drain(&rx, |_, s, _| matches!(s, SourceStatus::Degraded(_)));
    assert_eq!(first, ["ok2"], "ok1 was behind the checkpoint");
    assert!(matches!(&status, SourceStatus::Degraded(e) if e.contains("kms1")), "{status:?}");
    let gets_before = faults.gets();
    *faults.deny.lock().unwrap() = None;
    let (later, _, status) = drain(&rx, |ids, s, saved| !ids.is_empty() && *s == SourceStatus::Live && saved);
    assert_eq!(later, ["locked"], "read once it could be, and ok2 not again");
    assert_eq!(status, SourceStatus::Live, "the header no longer shows the failure");
    let gets_after = faults.gets();
    assert!(gets_after.0 + gets_after.1 > gets_before.0 + gets_before.1, "retried");
    drop(rx);
    std::thread::sleep(Duration::from_millis(400));
    let (again, _, _) = read_once(source(addr, &dir.path().join("state"), false, SK));
    assert!(again.is_empty(), "the checkpoint is past all three: {again:?}");
}

/// `scan` saved its checkpoint before it printed, so an output error lost those records for
/// the next scan. Now the position is saved only after the output is written and closed.
#[test]
fn scan_saves_its_checkpoint_only_after_its_output_is_written() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (root, data) = (dir.path().join("s3"), dir.path().join("data"));
    let now = chrono::Utc::now().timestamp();
    let a = today_folder("555555555555", now);
    put(&root, &format!("{a}555555555555_CloudTrail_us-east-1_0100Z_aaaa.json.gz"), &["p1", "p2"], now - 60);
    let addr = rt.block_on(serve(&root));
    let endpoint = format!("http://{addr}");
    let url = format!("s3://{BUCKET}/AWSLogs/");
    let args = ["--endpoint-url", endpoint.as_str(), "--region", "us-east-1", url.as_str()];
    let (_, failed) = trailtop_scan_exits(1, &[&args[..], &["-o", "/no/such/dir/out.jsonl"]].concat(), &data);
    assert!(failed.contains("cannot create /no/such/dir/out.jsonl"), "{failed}");
    let (_, stderr) = trailtop_scan(&args, &data);
    assert!(stderr.contains("2 events used"), "the failed scan did not move the checkpoint: {stderr}");
    let (_, again) = trailtop_scan(&args, &data);
    assert!(again.contains("0 events used"), "the one that printed did: {again}");
}

/// `--since 1100d` over a bucket holding two days listed every day of the range in every
/// region folder (18,700 calls, 92 s against a loopback server). The day folders that exist
/// are now found by listing years, months and days.
#[test]
fn a_long_back_fill_lists_the_folders_that_exist_not_the_calendar() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let now = chrono::Utc::now().timestamp();
    let old = now - 300 * 86_400;
    let mut expected = Vec::new();
    for region in ["us-east-1", "eu-west-1", "ap-south-1"] {
        for (t, tag) in [(now, "new"), (old, "old")] {
            let day = day_folders(t, t).remove(0);
            let id = format!("{region}-{tag}");
            let key = format!(
                "AWSLogs/666666666666/CloudTrail/{region}/{day}666666666666_CloudTrail_{region}_0100Z_{tag}.json.gz"
            );
            put(&root, &key, &[&id], t - 60);
            expected.push(id);
        }
    }
    // A folder outside the range, and a stray non-date folder: neither is read.
    let ancient = day_folders(now - 1200 * 86_400, now - 1200 * 86_400).remove(0);
    put(
        &root,
        &format!(
            "AWSLogs/666666666666/CloudTrail/us-east-1/{ancient}666666666666_CloudTrail_us-east-1_0100Z_anc.json.gz"
        ),
        &["ancient"],
        now - 1200 * 86_400,
    );
    put(&root, "AWSLogs/666666666666/CloudTrail/us-east-1/notes/x.json.gz", &["stray"], now);
    let faults = Faults::default();
    let addr = rt.block_on(serve_with_faults(&root, faults.clone()));
    let mut src = source(addr, &dir.path().join("state"), false, SK);
    src.opts.since = 1100 * 86_400;
    let (mut ids, errors, status) = read_once(src);
    assert_eq!(status, SourceStatus::Finished);
    assert!(errors.is_empty(), "{errors:?}");
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
    // Finding the roots (4 levels), then per region a year listing, the months of two years
    // and the days of two months, and each day folder's keys: a few dozen, not 3,300.
    let lists = faults.lists.load(Ordering::SeqCst);
    eprintln!("{lists} ListObjectsV2 calls");
    assert!(lists <= 40, "{lists} ListObjectsV2 calls");
}

/// An object listed as a few hundred bytes and served as 8 MiB (1.1 GiB drove memory to
/// 2.6 GiB) is abandoned as soon as the body passes its listed size, through the plain GET
/// and the SDK alike, and the others are read.
#[test]
fn s3_a_body_past_its_listed_size_is_abandoned() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let now = chrono::Utc::now().timestamp();
    let a = today_folder("777777777777", now);
    put(&root, &format!("{a}777777777777_CloudTrail_us-east-1_0100Z_ok01.json.gz"), &["fine"], now);
    put(&root, &format!("{a}777777777777_CloudTrail_us-east-1_0105Z_huge.json.gz"), &["never"], now);
    for refuse_plain in [false, true] {
        let faults = Faults { oversize: Some("huge"), refuse_plain, ..Default::default() };
        let addr = rt.block_on(serve_with_faults(&root, faults.clone()));
        let state = dir.path().join(format!("state-{refuse_plain}"));
        let (ids, errors, _) = read_once(source(addr, &state, false, SK));
        assert_eq!(ids, ["fine"], "plain refused: {refuse_plain}");
        assert!(errors.iter().any(|e| e.contains("huge") && e.contains("its listing announced")), "{errors:?}");
    }
}

/// The console's S3 source saved its own checkpoint as it read, before the pipeline had saved
/// the state holding those events: a crash in between resumed past events the restored state
/// never had. It now hands each position to the pipeline, which saves it after the state.
#[test]
fn s3_the_console_s_position_is_handed_on_not_saved_by_the_source() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = (dir.path().join("s3"), dir.path().join("state"));
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let now = chrono::Utc::now().timestamp();
    let today = day_folders(now, now).remove(0);
    let a = "AWSLogs/111111111111/CloudTrail/us-east-1/";
    put(&root, &format!("{a}{today}111111111111_CloudTrail_us-east-1_0100Z_aaaa.json.gz"), &["e1"], now);
    let addr = rt.block_on(serve_with_faults(&root, Faults::default()));
    let (tx, rx) = crossbeam_channel::bounded(64);
    let src = source(addr, &state, true, SK);
    std::thread::spawn(move || src.run(tx));
    let (mut ids, mut commits) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Ok(msg) = rx.recv_deadline(deadline) {
        match msg {
            SourceMsg::Events { events, .. } => ids.extend(events.iter().map(|e| e.id.to_string())),
            SourceMsg::Commit { commit, .. } => commits.push(commit),
            SourceMsg::Status { status: SourceStatus::Live, .. } => break,
            _ => {}
        }
    }
    assert_eq!(ids, ["e1"]);
    assert_eq!(commits.len(), 1, "the position follows the events it covers");
    assert!(!state.join("s3-checkpoints").exists(), "nothing saved until the pipeline saves it");
    commits[0].save().unwrap();
    assert!(state.join("s3-checkpoints").read_dir().unwrap().next().is_some());
}
