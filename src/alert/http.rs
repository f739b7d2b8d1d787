//! Webhooks: a generic one (the alert document as the body) and Slack's incoming webhooks
//! (Block Kit). Both go through the AWS SDK's own HTTP client (hyper, rustls), which is in
//! the build already.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{HttpConnector, SharedHttpConnector};
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

use super::deliver::{Failure, Sink};
use super::doc::text as str_of;
use crate::text::truncate;

/// How long a POST may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The most of a refusal's body that goes into the error.
const ERROR_BODY: usize = 200;

/// A POST of JSON to one URL.
pub struct Post {
    rt: tokio::runtime::Runtime,
    http: SharedHttpConnector,
    url: String,
}

impl Post {
    /// A client for `url`.
    pub fn new(url: &str) -> anyhow::Result<Post> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let http = {
            let _in = rt.enter();
            crate::source::aws::http_connector()
        }
        .ok_or_else(|| anyhow::anyhow!("no HTTP client"))?;
        Ok(Post { rt, http, url: url.to_owned() })
    }

    /// POSTs `body`: a 2xx is delivered; 408, 429 (with its `Retry-After`), 5xx and transport
    /// errors are tried again; any other status is a refusal.
    pub fn send(&self, body: Vec<u8>) -> Result<(), Failure> {
        let req = http::Request::post(&self.url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("trailtop/", env!("CARGO_PKG_VERSION")))
            .body(SdkBody::from(body))
            .map_err(|e| Failure::Refused(format!("cannot make the request: {e}")))?;
        let req = req.try_into().map_err(|e| Failure::Refused(format!("cannot make the request: {e}")))?;
        self.rt.block_on(async {
            let resp = match tokio::time::timeout(TIMEOUT, self.http.call(req)).await {
                Err(_) => return Err(Failure::retry(format!("no answer within {TIMEOUT:?}"))),
                Ok(Err(e)) => {
                    return Err(Failure::retry(format!(
                        "{}",
                        aws_smithy_types::error::display::DisplayErrorContext(&e)
                    )));
                }
                Ok(Ok(r)) => r,
            };
            let status = resp.status().as_u16();
            let after =
                resp.headers().get("retry-after").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
            let body = tokio::time::timeout(TIMEOUT, http_body_bytes(resp.into_body())).await.unwrap_or_default();
            let text = crate::parse::sanitize::clean_owned(&truncate(&String::from_utf8_lossy(&body), ERROR_BODY));
            match status {
                200..=299 => Ok(()),
                408 | 429 | 500..=599 => Err(Failure::Retry { why: format!("HTTP {status}: {text}"), after }),
                _ => Err(Failure::Refused(format!("HTTP {status}: {text}"))),
            }
        })
    }
}

async fn http_body_bytes(body: SdkBody) -> Vec<u8> {
    let mut stream = aws_smithy_types::byte_stream::ByteStream::new(body);
    let mut out = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.extend_from_slice(&chunk);
        if out.len() > 64 << 10 {
            break;
        }
    }
    out
}

/// A generic webhook: the alert document as it is.
pub struct Webhook(pub Post);

impl Sink for Webhook {
    fn send(&mut self, doc: &str) -> Result<(), Failure> {
        self.0.send(doc.as_bytes().to_vec())
    }
}

/// A Slack incoming webhook: one Block Kit message per alert, at most one a second.
pub struct Slack(pub Post);

impl Sink for Slack {
    fn send(&mut self, doc: &str) -> Result<(), Failure> {
        let v = super::deliver::parse_doc(doc)?;
        self.0.send(serde_json::to_vec(&slack_message(&v)).unwrap_or_default())
    }

    fn min_interval(&self) -> Duration {
        Duration::from_secs(1)
    }
}

/// Text from log content for Slack: plain text (never mrkdwn, so `<!channel>` and links are
/// inert), scrubbed, with `://` broken, within `max` characters.
fn plain(s: &str, max: usize) -> Value {
    let text = crate::parse::sanitize::clean(s).replace("://", ":⁄⁄");
    json!({"type": "plain_text", "text": truncate(&text, max), "emoji": false})
}

/// The Block Kit message for an alert document: principal, address and place, window, rank
/// score, rules and signatures, top event names and the top reasons.
pub fn slack_message(v: &Value) -> Value {
    let list = |key: &str, f: &dyn Fn(&Value) -> Option<String>| -> Vec<String> {
        v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(f).collect()).unwrap_or_default()
    };
    let place = v.get("place").and_then(Value::as_str).map(|p| format!(" ({p})")).unwrap_or_default();
    let events = list("top_events", &|e| Some(format!("{} ×{}", str_of(e, "name"), e.get("count")?.as_u64()?)));
    let rules = list("rules", &|r| r.as_str().map(String::from));
    let sigma = list("sigma", &|s| {
        (s.get("habitual") != Some(&Value::Bool(true)))
            .then(|| format!("{}: {}", str_of(s, "level"), str_of(s, "title")))
    });
    let reasons = list("reasons", &|r| r.get("text").and_then(Value::as_str).map(|t| format!("• {t}")));
    let field = |label: &str, text: String| plain(&format!("{label}\n{text}"), 1900);
    let mut blocks = vec![
        json!({"type": "header", "text": plain(&format!("trailtop {}: {}", str_of(v, "severity"), str_of(v, "principal")), 150)}),
        json!({"type": "section", "fields": [
            field("Principal", str_of(v, "principal").to_owned()),
            field("Source", format!("{}{place}", str_of(v, "source_ip"))),
            field("Window (UTC)", format!("{} – {}", str_of(v, "window_start"), str_of(v, "window_end"))),
            field("Rank score", format!("{:.3} (rank {})", v.get("rank_score").and_then(Value::as_f64).unwrap_or(0.0), v.get("rank").and_then(Value::as_u64).unwrap_or(0))),
        ]}),
    ];
    let mut lines = Vec::new();
    if !events.is_empty() {
        lines.push(format!("Events: {}", events.join(", ")));
    }
    if !rules.is_empty() {
        lines.push(format!("Rules: {}", rules.join(", ")));
    }
    if !sigma.is_empty() {
        lines.push(format!("Sigma: {}", sigma.join("; ")));
    }
    if !lines.is_empty() {
        blocks.push(json!({"type": "section", "text": plain(&lines.join("\n"), 2900)}));
    }
    if !reasons.is_empty() {
        let top: Vec<&String> = reasons.iter().take(3).collect();
        blocks.push(json!({"type": "section", "text": plain(&format!("Why\n{}", top.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")), 2900)}));
    }
    blocks.push(json!({"type": "context", "elements": [plain(&format!("alert {} · {}", str_of(v, "alert_id"), str_of(v, "trigger")), 300)]}));
    json!({"text": escape(str_of(v, "summary")), "blocks": blocks})
}

/// The notification text, which Slack reads as mrkdwn: its three control characters escaped
/// (so `<!channel>` or `<https://x|y>` in a principal's name stay text), scrubbed, `://` broken.
fn escape(s: &str) -> String {
    crate::parse::sanitize::clean(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace("://", ":⁄⁄")
}
