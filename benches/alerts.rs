//! Alert benchmark, two parts:
//! 1. Throughput: N flagged windows decided and spooled at once, then delivered to a webhook,
//!    SNS (the real SDK), syslog over UDP and TCP and a file, each a server on loopback.
//!    Slack is left out: it takes one message a second by design.
//! 2. Latency: `trailtop watch` (this build) on a folder; files land one at a time, each with a
//!    trail stopped by a new principal; the time from the rename to the webhook receiving its
//!    alert, median and p99.
//!
//! `cargo bench --bench alerts`; `TRAILTOP_BENCH_ALERTS` (default 2,000),
//! `TRAILTOP_BENCH_LANDINGS` (default 40).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use trailtop::alert::{AlertConfig, Alerts, DecideConfig, SinkSpec};
use trailtop::features::FeatureRow;
use trailtop::model::ScoredRow;
use trailtop::pipeline::{Snapshot, SourceView};
use trailtop::source::SourceStatus;

type Arrivals = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A loopback HTTP server answering `reply` to everything, recording arrivals.
fn http_server(rt: &tokio::runtime::Runtime, reply: &'static str, seen: Arrivals) -> std::net::SocketAddr {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let _ = sock.set_nodelay(true);
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let seen = Arc::clone(&seen);
                    async move {
                        let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                        seen.lock().unwrap().push((Instant::now(), body));
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(reply.as_bytes()))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    addr
}

const SNS_OK: &str = r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>"#;

fn snapshot(n: usize) -> Snapshot {
    let start = 1_709_251_200;
    let rows = (0..n)
        .map(|i| ScoredRow {
            row: FeatureRow {
                entity: format!("arn:aws:iam::1:user/u{i}|203.0.113.9"),
                principal: format!("arn:aws:iam::1:user/u{i}"),
                source_ip: "203.0.113.9".into(),
                window_start: start,
                window_end: start + 3600,
                events: 12,
                ..Default::default()
            },
            score: 0.7,
            rank_score: 0.7,
            rank: i + 1,
            flagged: true,
            ..Default::default()
        })
        .collect();
    let src = SourceView {
        name: "bench".into(),
        status: SourceStatus::Live,
        newest_event: Some(start + 7200),
        events: 0,
        last_error: None,
        note: None,
        counts: Default::default(),
    };
    Snapshot { rows: Arc::new(rows), sources: vec![src], ..Default::default() }
}

fn throughput(n: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hook = http_server(&rt, "ok", Arrivals::default());
    let sns = http_server(&rt, SNS_OK, Arrivals::default());
    // SAFETY of the environment: set before any thread of this process reads it.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_SNS", format!("http://{sns}"));
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDBENCH");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_addr = udp.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while udp.recv(&mut buf).is_ok() {}
    });
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in tcp.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut &conn, &mut std::io::sink());
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let sinks = vec![
        SinkSpec::parse(&format!("http://{hook}/hook")).unwrap(),
        SinkSpec::parse("sns://arn:aws:sns:eu-west-1:123456789012:bench").unwrap(),
        SinkSpec::parse(&format!("syslog+udp://{udp_addr}")).unwrap(),
        SinkSpec::parse(&format!("syslog+tcp://{tcp_addr}")).unwrap(),
        SinkSpec::parse(&format!("file://{}", dir.path().join("alerts.jsonl").display())).unwrap(),
    ];
    let names: Vec<String> = sinks.iter().map(SinkSpec::shown).collect();
    let cfg = AlertConfig { sinks, decide: DecideConfig { dedupe_secs: 0, ..Default::default() }, profile: None };
    let mut alerts = Alerts::start(cfg, dir.path()).unwrap();
    let snap = snapshot(n);
    let t0 = Instant::now();
    let decided = alerts.observe(&snap);
    let spooled = t0.elapsed();
    assert_eq!(decided, n);
    let mut done: Vec<Option<Duration>> = vec![None; names.len()];
    while done.iter().any(Option::is_none) {
        for (i, v) in alerts.views().iter().enumerate() {
            if done[i].is_none() && v.sent as usize >= n {
                done[i] = Some(t0.elapsed());
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "sinks stalled: {:?}", alerts.views());
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "throughput: {n} alerts decided and spooled to 5 sinks in {:.3} s ({:.0} alerts/s)",
        spooled.as_secs_f64(),
        n as f64 / spooled.as_secs_f64()
    );
    for (name, t) in names.iter().zip(&done) {
        let t = t.unwrap().as_secs_f64();
        println!("  {name:<48} all delivered after {t:>7.3} s  ({:>6.0} alerts/s)", n as f64 / t);
    }
    let slowest = done.iter().flatten().max().unwrap().as_secs_f64();
    println!("  every sink: {:.0} alerts/s sustained (the slowest sink's rate)", n as f64 / slowest);
    alerts.stop(Duration::from_secs(2));
}

fn record(i: usize, t: i64) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "1.09", "eventTime": trailtop::parse::time::rfc3339(t),
        "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2", "eventID": format!("bench-{i}"),
        "readOnly": false, "eventType": "AwsApiCall",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::1:user/bench-{i}"), "accountId": "1"},
    }]})
    .to_string()
}

fn latency(landings: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seen = Arrivals::default();
    let hook = http_server(&rt, "ok", Arc::clone(&seen));
    let dir = tempfile::tempdir().unwrap();
    let (src, data) = (dir.path().join("in"), dir.path().join("data"));
    std::fs::create_dir_all(&src).unwrap();
    let log = dir.path().join("stderr.txt");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trailtop"))
        .arg("watch")
        .arg(&src)
        .args(["--alert", &format!("http://{hook}/hook")])
        .env("TRAILTOP_DATA_DIR", &data)
        .env("TRAILTOP_CONFIG_HOME", dir.path().join("config"))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("watching") {
        assert!(Instant::now() < until, "watch did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut lat = Vec::new();
    for i in 0..landings {
        let tmp = dir.path().join(format!("l{i}.tmp"));
        std::fs::write(&tmp, record(i, chrono::Utc::now().timestamp())).unwrap();
        let landed = Instant::now();
        std::fs::rename(&tmp, src.join(format!("l{i}.json"))).unwrap();
        let want = format!("user/bench-{i}\"");
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let hit =
                seen.lock().unwrap().iter().find(|(_, b)| String::from_utf8_lossy(b).contains(&want)).map(|(t, _)| *t);
            if let Some(t) = hit {
                lat.push(t - landed);
                break;
            }
            assert!(Instant::now() < until, "no alert for landing {i}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    lat.sort();
    let q = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1].as_secs_f64();
    println!(
        "latency: file landed → alert at the webhook, {landings} landings: median {:.2} s, p99 {:.2} s, min {:.2} s, max {:.2} s",
        q(0.5),
        q(0.99),
        lat[0].as_secs_f64(),
        lat[lat.len() - 1].as_secs_f64()
    );
}

fn main() {
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    throughput(env("TRAILTOP_BENCH_ALERTS", 2000));
    latency(env("TRAILTOP_BENCH_LANDINGS", 40));
}
