//! Every alert sink against a real server on loopback speaking its protocol: a webhook and
//! Slack over HTTP with faults (500, 429 with Retry-After, a refused connection that comes
//! back), SNS through the real SDK with its SigV4 signature checked, syslog over UDP, TCP and
//! a unix socket.

mod common;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use trailtop::alert::deliver::Worker;
use trailtop::alert::spool::Spool;
use trailtop::alert::{Sink, SinkState};

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    path: String,
    headers: http::HeaderMap,
    body: Vec<u8>,
    status: u16,
}

/// A server answering from a script (status, Retry-After), then 200; recording every request.
#[derive(Default)]
struct Hook {
    script: VecDeque<(u16, Option<&'static str>)>,
    seen: Vec<Seen>,
    reply: String,
}

async fn handle(req: Request<Incoming>, hook: Arc<Mutex<Hook>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().to_string();
    let headers = req.headers().clone();
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let mut h = hook.lock().unwrap();
    let (status, after) = h.script.pop_front().unwrap_or((200, None));
    h.seen.push(Seen { at: Instant::now(), path, headers, body, status });
    let mut resp = Response::builder().status(status).header("content-type", "text/xml");
    if let Some(a) = after {
        resp = resp.header("retry-after", a);
    }
    Ok(resp.body(Full::new(Bytes::from(h.reply.clone()))).unwrap())
}

fn serve(rt: &tokio::runtime::Runtime, hook: &Arc<Mutex<Hook>>) -> SocketAddr {
    let h = Arc::clone(hook);
    rt.block_on(common::serve_loopback(hyper::service::service_fn(move |req| handle(req, Arc::clone(&h)))))
}

fn alert(id: &str, severity: &str) -> String {
    json!({
        "alert_id": id, "trigger": "flagged", "severity": severity,
        "summary": format!("trailtop {severity}: user/alice from 203.0.113.9"),
        "principal": "arn:aws:iam::1:user/alice", "source_ip": "203.0.113.9", "place": "Budapest, HU",
        "window_start": "2024-03-01T00:00:00Z", "window_end": "2024-03-01T01:00:00Z",
        "rank": 1, "rank_score": 0.93, "rules": ["logging-tampering"],
        "top_events": [{"name": "StopLogging", "count": 1}],
        "reasons": [{"text": "ip_novelty 0.87 (UNSEEN: never before for this principal)"}],
        "sigma": [{"id": "x", "title": "CloudTrail Logging Stopped", "level": "high", "habitual": false}],
    })
    .to_string()
}

/// Waits up to 30 s for `done`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn delivered(hook: &Arc<Mutex<Hook>>) -> Vec<Seen> {
    hook.lock().unwrap().seen.iter().filter(|s| s.status == 200).cloned().collect()
}

fn start(sink: Box<dyn Sink>, dir: &std::path::Path) -> Worker {
    Worker::start("test".into(), sink, Arc::new(Spool::open(dir).unwrap()))
}

#[test]
fn a_webhook_gets_each_alert_in_order_through_500_and_429() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hook = Arc::new(Mutex::new(Hook { script: [(500, None), (429, Some("1"))].into(), ..Default::default() }));
    let addr = serve(&rt, &hook);
    let dir = tempfile::tempdir().unwrap();
    let post = trailtop::alert::http::Post::new(&format!("http://{addr}/hook?token=s3cret")).unwrap();
    let w = start(Box::new(trailtop::alert::http::Webhook(post)), dir.path());
    w.spool.push(&[alert("a1", "high"), alert("a2", "medium"), alert("a3", "high")]).unwrap();
    wait_for("three deliveries", || delivered(&hook).len() == 3);
    let seen = hook.lock().unwrap().seen.clone();
    let ids: Vec<String> = seen
        .iter()
        .map(|s| serde_json::from_slice::<Value>(&s.body).unwrap()["alert_id"].as_str().unwrap().to_owned())
        .collect();
    // The first alert is tried three times (500, 429, 200), and the others wait behind it.
    assert_eq!(ids, ["a1", "a1", "a1", "a2", "a3"]);
    assert_eq!(seen[0].path, "/hook?token=s3cret");
    assert_eq!(seen[0].headers["content-type"], "application/json");
    assert!(seen[2].at - seen[1].at >= Duration::from_millis(990), "Retry-After: 1 honoured");
    let v = w.view.lock().unwrap().clone();
    assert_eq!((v.sent, v.failed, v.state.clone()), (3, 2, SinkState::Ok));
    assert!(v.last_error.unwrap().contains("HTTP 429"));
    assert_eq!(w.spool.pending(), 0);
    w.stop(Duration::from_secs(1));
}

#[test]
fn a_webhook_that_refuses_connections_gets_its_alerts_once_it_is_back() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A port nobody listens on, for now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let post = trailtop::alert::http::Post::new(&format!("http://127.0.0.1:{port}/")).unwrap();
    let w = start(Box::new(trailtop::alert::http::Webhook(post)), dir.path());
    w.spool.push(&[alert("b1", "high"), alert("b2", "high")]).unwrap();
    wait_for("a failed send", || w.view.lock().unwrap().failed >= 1);
    assert_eq!(w.view.lock().unwrap().state, SinkState::Failing);
    assert_eq!(w.spool.pending(), 2, "nothing is dropped while the receiver is down");
    let hook = Arc::new(Mutex::new(Hook::default()));
    let h = Arc::clone(&hook);
    rt.spawn(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        while let Ok((sock, _)) = listener.accept().await {
            let h = Arc::clone(&h);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(req, Arc::clone(&h)));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    wait_for("both alerts", || delivered(&hook).len() == 2);
    assert_eq!(w.view.lock().unwrap().state, SinkState::Ok);
    w.stop(Duration::from_secs(1));
}

#[test]
fn a_webhook_that_refuses_an_alert_for_good_sets_it_aside_and_goes_on() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hook = Arc::new(Mutex::new(Hook { script: [(400, None)].into(), ..Default::default() }));
    let addr = serve(&rt, &hook);
    let dir = tempfile::tempdir().unwrap();
    let post = trailtop::alert::http::Post::new(&format!("http://{addr}/")).unwrap();
    let w = start(Box::new(trailtop::alert::http::Webhook(post)), dir.path());
    w.spool.push(&[alert("c1", "high"), alert("c2", "high")]).unwrap();
    wait_for("the second alert", || delivered(&hook).len() == 1);
    let rejected = std::fs::read_to_string(dir.path().join(trailtop::alert::spool::REJECTED)).unwrap();
    assert!(rejected.contains("\"c1\""), "{rejected}");
    assert_eq!(w.view.lock().unwrap().refused, 1);
    w.stop(Duration::from_secs(1));
}

#[test]
fn slack_gets_block_kit_at_most_once_a_second_and_honours_retry_after() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hook = Arc::new(Mutex::new(Hook { script: [(429, Some("2"))].into(), ..Default::default() }));
    let addr = serve(&rt, &hook);
    let dir = tempfile::tempdir().unwrap();
    let spec = trailtop::alert::SinkSpec::parse(&format!("slack+http://{addr}/services/T0/B0/SECRET")).unwrap();
    assert_eq!(spec.shown(), format!("slack+http://{addr}/…"));
    let post = trailtop::alert::http::Post::new(&format!("http://{addr}/services/T0/B0/SECRET")).unwrap();
    let w = start(Box::new(trailtop::alert::http::Slack(post)), dir.path());
    w.spool.push(&[alert("d1", "high"), alert("d2", "critical"), alert("d3", "medium")]).unwrap();
    wait_for("three messages", || delivered(&hook).len() == 3);
    let seen = hook.lock().unwrap().seen.clone();
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(1990), "Retry-After: 2 honoured");
    for pair in seen.windows(2) {
        assert!(pair[1].at - pair[0].at >= Duration::from_millis(990), "at most one message a second");
    }
    let msg: Value = serde_json::from_slice(&seen[1].body).unwrap();
    let blocks = msg["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "trailtop high: arn:aws:iam::1:user/alice");
    let text = msg.to_string();
    for want in [
        "203.0.113.9 (Budapest, HU)",
        "StopLogging ×1",
        "logging-tampering",
        "CloudTrail Logging Stopped",
        "0.930 (rank 1)",
        "UNSEEN",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    assert!(msg["text"].as_str().unwrap().starts_with("trailtop high"));
    w.stop(Duration::from_secs(1));
}

/// The Authorization header's parts.
fn auth_parts(h: &http::HeaderMap) -> (String, Vec<String>, String) {
    let a = h["authorization"].to_str().unwrap();
    let part = |k: &str| a.split(&format!("{k}=")).nth(1).unwrap().split(',').next().unwrap().trim().to_owned();
    (part("Credential"), part("SignedHeaders").split(';').map(String::from).collect(), part("Signature"))
}

/// Signs the request as received, with the secret, and says whether the signature matches.
fn sigv4_matches(s: &Seen, secret: &str) -> bool {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let (credential, signed, signature) = auth_parts(&s.headers);
    let scope: Vec<&str> = credential.split('/').collect();
    let date = s.headers["x-amz-date"].to_str().unwrap();
    let time = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ").unwrap().and_utc();
    let identity = aws_credential_types::Credentials::new(scope[0], secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(scope[2])
        .name(scope[3])
        .time(time.into())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers: Vec<(&str, &str)> = signed
        .iter()
        .filter(|n| n.as_str() != "authorization")
        .map(|n| (n.as_str(), s.headers[n.as_str()].to_str().unwrap()))
        .collect();
    let uri = format!("http://{}{}", s.headers["host"].to_str().unwrap(), s.path);
    let req = SignableRequest::new("POST", &uri, headers.into_iter(), SignableBody::Bytes(&s.body)).unwrap();
    sign(req, &params).unwrap().signature() == signature
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    let dec = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (dec(k), dec(v))))
        .collect()
}

#[test]
fn sns_publishes_the_alert_signed_with_attributes_and_survives_throttling() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ok = r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>"#;
    let hook = Arc::new(Mutex::new(Hook { reply: ok.into(), ..Default::default() }));
    let addr = serve(&rt, &hook);
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("AKIDSNS", "sns-secret", None, None, "test"),
        ))
        .endpoint_url(format!("http://{addr}"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let topic = "arn:aws:sns:eu-west-1:123456789012:trailtop-alerts";
    let sns_rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut sink = trailtop::alert::sns::Sns::with_config(sns_rt, &conf, topic);
    // Throttled: a failure to try again, not a refusal.
    let throttle = r#"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-0</RequestId></ErrorResponse>"#;
    {
        let mut h = hook.lock().unwrap();
        h.script.push_back((400, None));
        h.reply = throttle.into();
    }
    match sink.send(&alert("e1", "high")) {
        Err(trailtop::alert::Failure::Retry { why, .. }) => assert!(why.contains("Throttling"), "{why}"),
        other => panic!("{other:?}"),
    }
    hook.lock().unwrap().reply = ok.into();
    sink.send(&alert("e1", "high")).unwrap();
    let seen = hook.lock().unwrap().seen.last().cloned().unwrap();
    assert!(sigv4_matches(&seen, "sns-secret"), "the SigV4 signature checks out");
    assert!(!sigv4_matches(&seen, "another-secret"), "and would not with another secret");
    let (credential, _, _) = auth_parts(&seen.headers);
    assert!(credential.ends_with("/eu-west-1/sns/aws4_request"), "{credential}");
    let f = form(&seen.body);
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("Action").as_deref(), Some("Publish"));
    assert_eq!(get("TopicArn").as_deref(), Some(topic));
    let msg: Value = serde_json::from_str(&get("Message").unwrap()).unwrap();
    assert_eq!(msg["alert_id"], "e1");
    let attrs: Vec<(String, String)> = (1..=3)
        .map(|i| {
            let name = get(&format!("MessageAttributes.entry.{i}.Name")).unwrap();
            let value = get(&format!("MessageAttributes.entry.{i}.Value.StringValue")).unwrap();
            assert_eq!(get(&format!("MessageAttributes.entry.{i}.Value.DataType")).as_deref(), Some("String"));
            (name, value)
        })
        .collect();
    for want in [("severity", "high"), ("principal", "arn:aws:iam::1:user/alice"), ("alert_id", "e1")] {
        assert!(attrs.contains(&(want.0.into(), want.1.into())), "{want:?} in {attrs:?}");
    }
}

#[test]
fn an_alert_too_large_for_sns_is_trimmed_under_its_limit() {
    let mut v: Value = serde_json::from_str(&alert("f1", "high")).unwrap();
    v["principal"] = Value::String("p".repeat(400 << 10));
    v["features"] = json!({"events": 1});
    let out = trailtop::alert::sns::fit(&v);
    assert!(out.len() <= trailtop::alert::sns::MAX_MESSAGE, "{}", out.len());
    let back: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((back["alert_id"].as_str(), back["trimmed"].as_bool()), (Some("f1"), Some(true)));
}

fn syslog_sink(to: trailtop::alert::syslog::Transport) -> trailtop::alert::syslog::Syslog {
    trailtop::alert::syslog::Syslog::new(to)
}

#[test]
fn syslog_over_udp_tcp_and_a_unix_socket() {
    // UDP: one datagram per alert.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut sink = syslog_sink(trailtop::alert::syslog::Transport::Udp(udp.local_addr().unwrap().to_string()));
    sink.send(&alert("g1", "critical")).unwrap();
    let mut buf = [0u8; 4096];
    let n = udp.recv(&mut buf).unwrap();
    let m = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(m.starts_with("<34>1 "), "auth.crit: {m}");
    assert!(
        m.contains("[trailtop@32473 ") && m.contains(r#"alert_id="g1""#) && m.contains(r#"place="Budapest, HU""#),
        "{m}"
    );

    // TCP: octet counting (RFC 6587), two messages on one connection.
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut sink = syslog_sink(trailtop::alert::syslog::Transport::Tcp(tcp.local_addr().unwrap().to_string()));
    sink.send(&alert("g2", "high")).unwrap();
    sink.send(&alert("g3", "medium")).unwrap();
    let (mut conn, _) = tcp.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut frames = Vec::new();
    while frames.len() < 2 {
        let n = std::io::Read::read(&mut conn, &mut buf).unwrap();
        assert!(n > 0, "connection closed early");
        got.extend_from_slice(&buf[..n]);
        frames.clear();
        let mut rest = &got[..];
        while let Some(sp) = rest.iter().position(|b| *b == b' ') {
            let len: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
            if rest.len() < sp + 1 + len {
                break;
            }
            frames.push(String::from_utf8_lossy(&rest[sp + 1..sp + 1 + len]).into_owned());
            rest = &rest[sp + 1 + len..];
        }
    }
    assert!(frames[0].starts_with("<35>1 ") && frames[0].contains(r#"alert_id="g2""#), "{frames:?}");
    assert!(frames[1].starts_with("<36>1 ") && frames[1].contains(r#"alert_id="g3""#), "{frames:?}");

    // A unix datagram socket, as /dev/log is.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut sink = syslog_sink(trailtop::alert::syslog::Transport::Unix(path));
    sink.send(&alert("g4", "high")).unwrap();
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains(r#"alert_id="g4""#));
}
