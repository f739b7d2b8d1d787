//! `trailtop watch` end to end, as a service manager runs it: a folder source that files land
//! in, alerts out to a webhook on loopback and a file, metrics scraped, SIGTERM ends it with
//! exit 0; and a kill -9 with alerts spooled loses none of them.

mod common;

use std::convert::Infallible;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;

type Ids = Arc<Mutex<Vec<String>>>;

async fn handle(req: Request<Incoming>, ids: Ids) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    if let Ok(v) = serde_json::from_slice::<Value>(&body)
        && let Some(id) = v["alert_id"].as_str()
    {
        ids.lock().unwrap().push(id.to_owned());
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

/// Serves the webhook on `port` (0: any) and returns the port.
fn hook(rt: &tokio::runtime::Runtime, port: u16, ids: &Ids) -> u16 {
    let ids = Arc::clone(ids);
    let listener = rt.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port))).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let ids = Arc::clone(&ids);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(req, Arc::clone(&ids)));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    port
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A day of generated CloudTrail with a trail stopped and a console brute force, as one file
/// written beside `into` and renamed into it (as a sync tool lands a file).
fn land_attacks(into: &Path) {
    let staging = into.parent().unwrap().join("staging");
    let out = Command::new(env!("CARGO_BIN_EXE_trailtop"))
        .args(["gen", "--events", "4000", "--days", "1", "--seed", "5", "--layout", "ndjson"])
        .args(["--attacks", "defense-evasion,console-brute-force", "--out"])
        .arg(&staging)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = std::fs::read_dir(&staging).unwrap().next().unwrap().unwrap().path();
    std::fs::rename(&file, into.join("trail.json")).unwrap();
}

fn watch(data: &Path, source: &Path, alerts: &[String], extra: &[&str], stderr: &Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailtop"));
    cmd.arg("watch").arg(source).env("TRAILTOP_DATA_DIR", data).env("TRAILTOP_CONFIG_HOME", data.join("config"));
    for a in alerts {
        cmd.args(["--alert", a]);
    }
    cmd.args(extra);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(std::fs::File::create(stderr).unwrap()).spawn().unwrap()
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < until, "watch did not end after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metrics(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::io::Write::write_all(&mut s, b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn files_that_land_raise_alerts_and_sigterm_ends_watch_with_0() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ids: Ids = Default::default();
    let port = hook(&rt, 0, &ids);
    let dir = tempfile::tempdir().unwrap();
    let (data, src) = (dir.path().join("data"), dir.path().join("in"));
    std::fs::create_dir_all(&src).unwrap();
    let file_sink = dir.path().join("alerts.jsonl");
    let mport = free_port();
    let stderr = dir.path().join("stderr.txt");
    let sinks = [format!("http://127.0.0.1:{port}/hook"), format!("file://{}", file_sink.display())];
    let maddr = format!("127.0.0.1:{mport}");
    let mut child = watch(&data, &src, &sinks, &["--metrics", &maddr], &stderr);
    wait_for("watch to start", 60, || {
        std::fs::read_to_string(&stderr).unwrap_or_default().contains("watching 1 source")
    });
    land_attacks(&src);
    wait_for("alerts at the webhook", 120, || !ids.lock().unwrap().is_empty());
    wait_for("alerts in the file", 30, || std::fs::read_to_string(&file_sink).is_ok_and(|s| !s.is_empty()));
    let first = ids.lock().unwrap()[0].clone();
    let lines = std::fs::read_to_string(&file_sink).unwrap();
    let doc: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(doc["alert_id"], first.as_str(), "every sink gets the same alerts, in the same order");
    for key in ["trigger", "severity", "summary", "principal", "window_start", "rank_score", "reasons", "features"] {
        assert!(doc.get(key).is_some(), "{key} in {doc}");
    }
    wait_for("the webhook's count in the metrics", 30, || {
        metrics(mport).contains(&format!("trailtop_alerts_sent_total{{sink=\"http://127.0.0.1:{port}/…\"}} "))
    });
    let m = metrics(mport);
    assert!(m.contains("HTTP/1.0 200") || m.contains("HTTP/1.1 200"), "{m}");
    assert!(m.contains("trailtop_events_ingested_total 4000"), "{m}");
    assert!(m.contains("trailtop_source_up{source="), "{m}");
    let status = terminate(&mut child);
    assert_eq!(status.code(), Some(0), "{}", std::fs::read_to_string(&stderr).unwrap());
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(log.lines().all(|l| l.starts_with('<')), "journald priorities on every line:\n{log}");
    assert!(log.contains("<6>alert: "), "{log}");
    assert!(data.join("trailtop.log").exists(), "the log file too");
}

#[test]
fn alerts_spooled_when_watch_is_killed_arrive_after_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (data, src) = (dir.path().join("data"), dir.path().join("in"));
    std::fs::create_dir_all(&src).unwrap();
    // The receiver is down: nothing listens on its port.
    let port = free_port();
    let sinks = [format!("http://127.0.0.1:{port}/hook")];
    let stderr = dir.path().join("stderr.txt");
    let mut child = watch(&data, &src, &sinks, &[], &stderr);
    wait_for("watch to start", 60, || {
        std::fs::read_to_string(&stderr).unwrap_or_default().contains("watching 1 source")
    });
    land_attacks(&src);
    let queue = || -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(data.join("alerts")) else { return vec![] };
        rd.flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| std::fs::read_to_string(e.path().join("queue.jsonl")).ok())
            .flat_map(|s| s.lines().map(String::from).collect::<Vec<_>>())
            .filter_map(|l| serde_json::from_str::<Value>(&l).ok()?["alert_id"].as_str().map(String::from))
            .collect()
    };
    wait_for("alerts spooled", 120, || queue().len() >= 2 && data.join("alerts/ledger.json").exists());
    let spooled = queue();
    child.kill().unwrap(); // SIGKILL: no chance to flush anything
    child.wait().unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let ids: Ids = Default::default();
    hook(&rt, port, &ids);
    let stderr2 = dir.path().join("stderr2.txt");
    let mut child = watch(&data, &src, &sinks, &[], &stderr2);
    wait_for("every spooled alert", 120, || {
        let got = ids.lock().unwrap();
        spooled.iter().all(|id| got.contains(id))
    });
    let status = terminate(&mut child);
    assert_eq!(status.code(), Some(0), "{}", std::fs::read_to_string(&stderr2).unwrap());
    let got = ids.lock().unwrap().clone();
    // Delivered in the order they were spooled.
    let order: Vec<&String> = got.iter().filter(|id| spooled.contains(id)).collect();
    assert_eq!(
        order.iter().map(|s| s.as_str()).collect::<Vec<_>>()[..spooled.len()],
        spooled.iter().map(|s| s.as_str()).collect::<Vec<_>>()[..]
    );
    assert!(std::fs::read_to_string(&stderr2).unwrap().contains("spooled from before"));
}
