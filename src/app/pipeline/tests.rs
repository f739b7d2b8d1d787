use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::*;
use crate::features::EntityBy;

type Started = (Sender<SourceMsg>, Receiver<Arc<Snapshot>>, Sender<PipelineCommand>);

/// A pipeline on its own thread with one source.
fn start() -> Started {
    let (src_tx, src_rx) = crossbeam_channel::bounded(8);
    let (cmd_tx, cmd_rx) = crossbeam_channel::bounded(1);
    let (snap_tx, snap_rx) = crossbeam_channel::bounded(4);
    let pipeline = Pipeline {
        data_dir: None,
        cfg: FeatureConfig { window_secs: 3600, by: EntityBy::Principal },
        model: ModelConfig::default(),
        tail_capacity: 10,
        source_names: vec!["s3://trail/".into()],
        demo: false,
    };
    std::thread::spawn(move || pipeline.run(src_rx, cmd_rx, snap_tx));
    (src_tx, snap_rx, cmd_tx)
}

fn event_at(id: &str, time: i64) -> Event {
    let doc = format!(
        r#"{{"eventTime":"{}","eventName":"E","eventID":"{id}","userIdentity":{{"arn":"arn:aws:iam::1:user/u"}}}}"#,
        crate::parse::time::rfc3339(time)
    );
    let (mut ev, st) = crate::parse::parse_bytes(doc.as_bytes(), &crate::parse::ParseOptions::default());
    assert_eq!(st.invalid, 0);
    ev.pop().expect("one event")
}

/// A record stamped 20 hours ahead (inside the day of drift parse allows) must not become the
/// chart's newest minute, which pushed every real minute out of it, nor pin the lag at zero.
#[test]
fn a_future_record_neither_empties_the_chart_nor_pins_the_lag() {
    let (src_tx, snap_rx, _cmd) = start();
    let now = chrono::Utc::now().timestamp();
    let events = vec![event_at("past", now - 7200), event_at("now", now - 60), event_at("future", now + 20 * 3600)];
    src_tx.send(SourceMsg::Events { source: 0, events, stats: ParseStats::default(), error: None }).unwrap();
    let snap = loop {
        let snap = snap_rx.recv_timeout(Duration::from_secs(20)).expect("a snapshot");
        if snap.events == 3 {
            break snap;
        }
    };
    let minutes: Vec<i64> = snap.rates.iter().map(|p| p.minute).collect();
    assert_eq!(minutes, [(now - 7200) / 60 * 60, (now - 60) / 60 * 60]);
    assert_eq!(snap.sources[0].newest_event, Some(now - 60));
}

/// The header shows a source's errors and notes: whatever a server or a file name put in
/// them must not reach the terminal as escape sequences.
#[test]
fn source_errors_and_notes_are_scrubbed() {
    let (src_tx, snap_rx, _cmd_tx) = start();
    let hostile = "AccessDenied: \x1b]0;pwned\x07\x1b[2Jno\u{202e}te\u{9b}31m";
    src_tx.send(SourceMsg::Status { source: 0, status: SourceStatus::Degraded(hostile.into()) }).unwrap();
    src_tx.send(SourceMsg::Note { source: 0, text: hostile.into() }).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let clean = "AccessDenied: ]0;pwned[2Jnote31m";
    loop {
        let snap = snap_rx.recv_timeout(Duration::from_secs(10)).expect("a snapshot");
        let src = &snap.sources[0];
        if src.note.is_some() && matches!(src.status, SourceStatus::Degraded(_)) {
            assert_eq!(src.status, SourceStatus::Degraded(clean.into()));
            assert_eq!(src.note.as_deref(), Some(clean));
            break;
        }
        assert!(Instant::now() < deadline, "no snapshot with both");
    }
}
