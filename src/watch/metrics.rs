//! Health you can scrape: `--metrics ADDR` serves the Prometheus text format (version 0.0.4)
//! at any path, from the latest snapshot and the sinks' counters. Loopback unless
//! `--metrics-public`.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;

use crate::alert::{SinkState, SinkView};
use crate::pipeline::Snapshot;
use crate::source::SourceStatus;

/// What the endpoint shows, updated by the watch loop.
#[derive(Default)]
pub struct Health {
    /// The latest snapshot.
    pub snap: Option<Arc<Snapshot>>,
    /// The sinks.
    pub sinks: Vec<SinkView>,
    /// Alerts decided since start.
    pub decided: u64,
    /// When the process started, Unix seconds.
    pub started: i64,
}

/// Shared between the loop and the server.
pub type Shared = Arc<Mutex<Health>>;

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

struct Out(String);

impl Out {
    fn help(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn value(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", label(v))).collect();
        let l = if l.is_empty() { String::new() } else { format!("{{{}}}", l.join(",")) };
        let _ = writeln!(self.0, "{name}{l} {v}");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, v: f64) {
        self.help(name, kind, help);
        self.value(name, &[], v);
    }
}

/// The exposition at wall-clock time `now`.
pub fn render(h: &Health, now: i64) -> String {
    let mut o = Out(String::new());
    o.one("trailtop_start_time_seconds", "gauge", "When this process started.", h.started as f64);
    if let Some(s) = &h.snap {
        o.one("trailtop_events_ingested_total", "counter", "Events accepted, after de-duplication.", s.events as f64);
        o.one("trailtop_duplicates_total", "counter", "Records dropped as duplicates.", s.duplicates as f64);
        o.help("trailtop_records_skipped_total", "counter", "Records not used, by reason.");
        let st = &s.stats;
        for (reason, n) in [
            ("invalid", st.invalid),
            ("oversized", st.oversized),
            ("digest", st.digests),
            ("truncated", st.truncated),
            ("older_than_retain", s.too_old),
        ] {
            o.value("trailtop_records_skipped_total", &[("reason", reason)], n as f64);
        }
        o.help("trailtop_source_up", "gauge", "1 when the source reads, 0 when it reports an error.");
        for src in &s.sources {
            let up = !matches!(src.status, SourceStatus::Degraded(_));
            o.value("trailtop_source_up", &[("source", &src.name)], f64::from(u8::from(up)));
        }
        o.help("trailtop_source_backfilling", "gauge", "1 while the source reads what was there before it started.");
        for src in &s.sources {
            let b = matches!(src.status, SourceStatus::Backfilling { .. });
            o.value("trailtop_source_backfilling", &[("source", &src.name)], f64::from(u8::from(b)));
        }
        o.help("trailtop_source_events_total", "counter", "Events a source delivered, after de-duplication.");
        for src in &s.sources {
            o.value("trailtop_source_events_total", &[("source", &src.name)], src.events as f64);
        }
        type Count = fn(&crate::pipeline::SourceCounts) -> u64;
        let counts: [(&str, &str, Count); 3] = [
            ("trailtop_source_requests_total", "API requests a source made (LookupEvents).", |c| c.requests),
            ("trailtop_source_throttled_total", "Of those, throttled.", |c| c.throttled),
            (
                "trailtop_source_errors_total",
                "Errors a source reported (a file or object cut short, the source degraded).",
                |c| c.errors,
            ),
        ];
        for (name, help, f) in counts {
            o.help(name, "counter", help);
            for src in &s.sources {
                o.value(name, &[("source", &src.name)], f(&src.counts) as f64);
            }
        }
        o.help("trailtop_source_lag_seconds", "gauge", "Wall-clock time since the newest event a source delivered.");
        for src in &s.sources {
            if let Some(t) = src.newest_event {
                o.value("trailtop_source_lag_seconds", &[("source", &src.name)], (now - t).max(0) as f64);
            }
        }
        o.one("trailtop_windows_scored", "gauge", "Entity-windows in the ranking.", s.rows.len() as f64);
        let flagged = s.rows.iter().filter(|r| r.flagged).count();
        o.one("trailtop_windows_flagged", "gauge", "Entity-windows in the flagged set.", flagged as f64);
        o.one("trailtop_ranking_generation", "counter", "Rankings published since start.", s.generation as f64);
        if let Some(t) = s.trained_at {
            o.one("trailtop_model_trained_timestamp_seconds", "gauge", "When the model was last fitted.", t as f64);
            o.one(
                "trailtop_model_age_seconds",
                "gauge",
                "Seconds since the model was last fitted.",
                (now - t).max(0) as f64,
            );
        }
        o.one("trailtop_labels", "gauge", "Analyst labels in force.", s.labels as f64);
        if let Some(m) = &s.model {
            o.one(
                "trailtop_model_fits_total",
                "counter",
                "Forests fitted since start (first fit, labels, growth, cadence, drift).",
                m.fits as f64,
            );
            o.one("trailtop_model_windows", "gauge", "Windows the forest in use was fitted on.", m.windows as f64);
            o.one(
                "trailtop_model_drift_windows",
                "gauge",
                "Windows of the last day of event time that drift is judged on.",
                m.drift.windows as f64,
            );
            o.one(
                "trailtop_model_score_psi",
                "gauge",
                "PSI of the last day's forest scores against the training windows'.",
                m.drift.scores,
            );
            o.help("trailtop_model_drift_psi", "gauge", "PSI of each modelled feature, last day against the training windows; past 0.25 the forest is fitted again.");
            for (feature, psi) in &m.drift.features {
                o.value("trailtop_model_drift_psi", &[("feature", feature)], *psi);
            }
        }
    }
    o.one(
        "trailtop_alerts_decided_total",
        "counter",
        "Alerts decided since start (each goes to every sink).",
        h.decided as f64,
    );
    type Field = fn(&SinkView) -> f64;
    let per_sink: [(&str, &str, &str, Field); 5] = [
        ("trailtop_alerts_sent_total", "counter", "Alerts a sink took.", |v| v.sent as f64),
        ("trailtop_alerts_failed_total", "counter", "Sends that failed (each retry counts).", |v| v.failed as f64),
        ("trailtop_alerts_refused_total", "counter", "Alerts a sink refused for good (set aside in its spool).", |v| {
            v.refused as f64
        }),
        ("trailtop_alerts_spooled", "gauge", "Alerts waiting in a sink's spool.", |v| v.spooled as f64),
        ("trailtop_sink_up", "gauge", "1 when a sink's last send went through.", |v| {
            f64::from(u8::from(v.state == SinkState::Ok))
        }),
    ];
    for (name, kind, help, f) in per_sink {
        o.help(name, kind, help);
        for v in &h.sinks {
            o.value(name, &[("sink", &v.name)], f(v));
        }
    }
    o.0
}

/// Whether `addr` may serve: loopback always, anything else only when asked.
pub fn allowed(addr: &SocketAddr, public: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        public || addr.ip().is_loopback(),
        "--metrics {addr}: not a loopback address; add --metrics-public to serve it there"
    );
    Ok(())
}

/// Serves the metrics at `addr` on a thread of its own; returns the address bound (port 0
/// picks one).
pub fn serve(addr: SocketAddr, health: Shared) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr).with_context(|| format!("--metrics: cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            loop {
                let Ok((sock, _)) = listener.accept().await else { continue };
                let health = Arc::clone(&health);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| {
                        let text = {
                            let h = health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                            render(&h, chrono::Utc::now().timestamp())
                        };
                        async move {
                            hyper::Response::builder()
                                .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                                .body(http_body_util::Full::new(bytes::Bytes::from(text)))
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(sock);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
                });
            }
        });
    })?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SourceCounts, SourceView};

    #[test]
    fn the_exposition_names_each_source_and_sink_and_escapes_labels() {
        let src = SourceView {
            name: "lookup://us-east-1 \"x\"".into(),
            status: SourceStatus::Degraded("throttled".into()),
            newest_event: Some(900),
            events: 12,
            last_error: None,
            note: None,
            counts: SourceCounts { requests: 40, throttled: 3, errors: 1 },
        };
        let snap = Snapshot { events: 12, sources: vec![src], ..Default::default() };
        let h = Health {
            snap: Some(Arc::new(snap)),
            sinks: vec![SinkView { name: "file:///a".into(), sent: 2, spooled: 1, ..Default::default() }],
            decided: 3,
            started: 100,
        };
        let text = render(&h, 1000);
        for want in [
            "trailtop_events_ingested_total 12",
            r#"trailtop_source_up{source="lookup://us-east-1 \"x\""} 0"#,
            r#"trailtop_source_requests_total{source="lookup://us-east-1 \"x\""} 40"#,
            r#"trailtop_source_throttled_total{source="lookup://us-east-1 \"x\""} 3"#,
            r#"trailtop_source_errors_total{source="lookup://us-east-1 \"x\""} 1"#,
            r#"trailtop_source_lag_seconds{source="lookup://us-east-1 \"x\""} 100"#,
            "trailtop_alerts_decided_total 3",
            r#"trailtop_alerts_sent_total{sink="file:///a"} 2"#,
            r#"trailtop_alerts_spooled{sink="file:///a"} 1"#,
            r#"trailtop_sink_up{sink="file:///a"} 1"#,
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
        // Every sample line is a name, optional labels and a number.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert!(allowed(&"0.0.0.0:9898".parse().unwrap(), false).is_err());
        assert!(allowed(&"0.0.0.0:9898".parse().unwrap(), true).is_ok());
        assert!(allowed(&"[::1]:9898".parse().unwrap(), false).is_ok());
    }
}
