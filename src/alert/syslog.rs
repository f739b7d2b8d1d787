//! Syslog for SIEMs: RFC 5424 with the alert's facts as structured data, formatted by the
//! `syslog` crate. Its transports do not frame messages on a stream, so they are sent here:
//! one datagram each over UDP and unix datagram sockets, octet-counted (RFC 6587) over TCP,
//! newline-ended over a unix stream socket.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use syslog::{Facility, Formatter5424, LogFormat, Severity};

use super::deliver::{Failure, Sink};

/// The structured-data id: `name@PEN`, with 32473, the number RFC 5612 reserves for
/// documentation, since trailtop has no enterprise number of its own.
pub const SD_ID: &str = "trailtop@32473";
/// The most of a message UDP carries safely (RFC 5424 asks receivers for 2048 at least).
const DATAGRAM_MAX: usize = 2048;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where syslog messages go.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// `syslog+udp://HOST:PORT`.
    Udp(String),
    /// `syslog+tcp://HOST:PORT`.
    Tcp(String),
    /// `syslog+unix:///dev/log`.
    Unix(PathBuf),
}

/// A syslog sink.
pub struct Syslog {
    to: Transport,
    formatter: Formatter5424,
    tcp: Option<TcpStream>,
}

impl Syslog {
    /// A sink sending to `to` (TCP connects at the first alert).
    pub fn new(to: Transport) -> Syslog {
        Syslog { to, formatter: formatter(), tcp: None }
    }
}

/// The header fields: facility auth (security messages), app name `trailtop`, this process,
/// this host's name.
pub fn formatter() -> Formatter5424 {
    Formatter5424 {
        facility: Facility::LOG_AUTH,
        process: "trailtop".into(),
        pid: std::process::id(),
        ..Formatter5424::default()
    }
}

/// An alert as an RFC 5424 message: severity from the alert's, its facts as structured data,
/// the summary as the message.
pub fn message(f: &Formatter5424, v: &Value) -> Vec<u8> {
    let s = |k: &str| crate::parse::sanitize::clean_owned(super::doc::text(v, k));
    let severity = match v.get("severity").and_then(Value::as_str) {
        Some("critical") => Severity::LOG_CRIT,
        Some("high") => Severity::LOG_ERR,
        _ => Severity::LOG_WARNING,
    };
    let list = |k: &str| {
        v.get(k).and_then(Value::as_array).map_or_else(String::new, |a| {
            a.iter().filter_map(|x| x.as_str().or_else(|| x.get("title")?.as_str())).collect::<Vec<_>>().join(", ")
        })
    };
    let mut params = BTreeMap::new();
    for k in ["alert_id", "trigger", "severity", "principal", "source_ip", "window_start", "window_end", "entity"] {
        params.insert(k.to_owned(), s(k));
    }
    if let Some(p) = v.get("place").and_then(Value::as_str) {
        params.insert("place".into(), crate::parse::sanitize::clean_owned(p));
    }
    params.insert("rank_score".into(), v.get("rank_score").map(|x| x.to_string()).unwrap_or_default());
    params.insert("rules".into(), list("rules"));
    params.insert("sigma".into(), crate::parse::sanitize::clean_owned(&list("sigma")));
    let data = BTreeMap::from([(SD_ID.to_owned(), params)]);
    let mut out = Vec::new();
    // MSGID 1: an alert (the crate takes a number).
    let _ = f.format(&mut out, severity, (1u32, data.clone(), s("summary")));
    if out.len() > DATAGRAM_MAX {
        // The facts matter more than the sentence: the summary goes first.
        out.clear();
        let _ = f.format(&mut out, severity, (1u32, data, "-"));
    }
    out
}

impl Sink for Syslog {
    fn send(&mut self, doc: &str) -> Result<(), Failure> {
        let v = super::deliver::parse_doc(doc)?;
        let msg = message(&self.formatter, &v);
        let fail = |what: &str, e: std::io::Error| Failure::retry(format!("{what}: {e}"));
        match &self.to {
            Transport::Udp(addr) => {
                let sock = UdpSocket::bind(if addr.starts_with('[') { "[::]:0" } else { "0.0.0.0:0" })
                    .map_err(|e| fail("udp", e))?;
                sock.send_to(&msg, addr.as_str()).map_err(|e| fail(addr, e))?;
            }
            Transport::Tcp(addr) => {
                if self.tcp.is_none() {
                    let s = TcpStream::connect(addr.as_str()).map_err(|e| fail(addr, e))?;
                    let _ = s.set_write_timeout(Some(TIMEOUT));
                    self.tcp = Some(s);
                }
                let mut framed = format!("{} ", msg.len()).into_bytes();
                framed.extend_from_slice(&msg);
                if let Some(s) = &mut self.tcp
                    && let Err(e) = s.write_all(&framed).and_then(|_| s.flush())
                {
                    self.tcp = None;
                    return Err(fail(addr, e));
                }
            }
            Transport::Unix(path) => {
                let shown = path.display().to_string();
                if let Err(e) = UnixDatagram::unbound().and_then(|d| d.send_to(&msg, path)) {
                    // A stream socket (syslog-ng's, some containers'): one line per message.
                    let mut line = msg;
                    line.push(b'\n');
                    UnixStream::connect(path).and_then(|mut s| s.write_all(&line)).map_err(|_| fail(&shown, e))?;
                }
            }
        }
        Ok(())
    }
}
