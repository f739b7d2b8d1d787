//! The pipeline driven as a value: messages in, snapshots out, no threads.

use super::*;
use crate::features::EntityBy;
use crate::parse::{Event, ParseStats};
use crate::source::SourceStatus;

/// One source, hour windows by principal, a tail of 10, labels in memory.
fn config() -> Pipeline {
    Pipeline {
        cfg: FeatureConfig { window_secs: 3600, by: EntityBy::Principal },
        tail_capacity: 10,
        ..Pipeline::in_memory("s3://trail/")
    }
}

fn state() -> PipelineState {
    PipelineState::new(config())
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

fn batch(events: Vec<Event>) -> SourceMsg {
    SourceMsg::Events { source: 0, events, stats: ParseStats::default(), error: None }
}

/// The header shows a source's errors and notes: whatever a server or a file name put in
/// them must not reach the terminal as escape sequences.
#[test]
fn source_errors_and_notes_are_scrubbed() {
    let mut st = state();
    let hostile = "AccessDenied: \x1b]0;pwned\x07\x1b[2Jno\u{202e}te\u{9b}31m";
    st.ingest(SourceMsg::Status { source: 0, status: SourceStatus::Degraded(hostile.into()) });
    st.ingest(SourceMsg::Note { source: 0, text: hostile.into() });
    st.ingest(SourceMsg::Events {
        source: 0,
        events: vec![],
        stats: ParseStats::default(),
        error: Some(hostile.into()),
    });
    let snap = st.publish();
    let clean = "AccessDenied: ]0;pwned[2Jnote31m";
    let src = &snap.sources[0];
    assert_eq!(src.status, SourceStatus::Degraded(clean.into()));
    assert_eq!(src.note.as_deref(), Some(clean));
    assert_eq!(src.last_error.as_deref(), Some(clean));
}

/// A record stamped 20 hours ahead (inside the day of drift parse allows) must not become the
/// chart's newest minute, which pushed every real minute out of it, nor pin the lag at zero.
#[test]
fn a_future_record_neither_empties_the_chart_nor_pins_the_lag() {
    let mut st = state();
    let now = chrono::Utc::now().timestamp();
    st.ingest(batch(vec![
        event_at("past", now - 7200),
        event_at("now", now - 60),
        event_at("future", now + 20 * 3600),
    ]));
    let snap = st.publish();
    assert_eq!(snap.events, 3);
    let minutes: Vec<i64> = snap.rates.iter().map(|p| p.minute).collect();
    assert_eq!(minutes, [(now - 7200) / 60 * 60, (now - 60) / 60 * 60]);
    assert_eq!(snap.sources[0].newest_event, Some(now - 60));
}

/// The demo at `--speed` runs ahead of the clock on purpose: its newest minute is the chart's.
#[test]
fn the_demo_s_own_clock_sets_its_newest_time() {
    let mut st = PipelineState::new(Pipeline { demo: true, ..config() });
    let ahead = chrono::Utc::now().timestamp() + 20 * 3600;
    st.ingest(batch(vec![event_at("sim", ahead)]));
    let snap = st.publish();
    assert_eq!(snap.sources[0].newest_event, Some(ahead));
    assert_eq!(snap.rates.last().map(|p| p.minute), Some(ahead / 60 * 60));
}

/// Duplicates are counted once, the tail keeps the newest, and a snapshot ranks what came in.
#[test]
fn ingest_dedupes_bounds_the_tail_and_ranks() {
    let mut st = state();
    let t = 1_709_251_200;
    st.ingest(batch((0..15).map(|i| event_at(&format!("e{i}"), t + i * 60)).collect()));
    st.ingest(batch(vec![event_at("e3", t + 180)]));
    let snap = st.publish();
    assert_eq!((snap.events, snap.duplicates), (15, 1));
    assert_eq!(snap.tail.len(), 10, "the tail holds its capacity");
    assert_eq!(snap.tail.iter().next().map(|e| e.id.to_string()), Some("e5".into()));
    assert_eq!(snap.rows.len(), 1, "one principal, one window");
    assert!(snap.trained_at.is_some());
    // Nothing new: the ranking is reused, the generation moves on.
    let again = st.publish();
    assert!(Arc::ptr_eq(&snap.rows, &again.rows));
    assert_eq!(again.generation, snap.generation + 1);
}

/// A label re-ranks at once and is counted in force; its undo withdraws it.
#[test]
fn labels_apply_and_undo() {
    let mut st = state();
    let t = 1_709_251_200;
    st.ingest(batch((0..5).map(|i| event_at(&format!("e{i}"), t + i)).collect()));
    let row = st.publish().rows[0].clone();
    let req = LabelRequest {
        row: row.clone(),
        verdict: crate::model::feedback::Verdict::FalsePositive,
        scope: crate::model::feedback::Scope::Entity,
        note: None,
        expires_days: None,
    };
    st.apply(PipelineCommand::Label(Box::new(req)));
    let snap = st.publish();
    assert_eq!(snap.labels, 1);
    assert_eq!(snap.rows[0].verdict, Some(crate::model::feedback::Verdict::FalsePositive));
    st.apply(PipelineCommand::Undo { window_start: row.row.window_start, entity: row.row.entity.clone() });
    assert_eq!(st.publish().labels, 0);
}

/// A second instance on a data dir another holds writes nothing there: labels stay in
/// memory, the model is not saved.
#[test]
fn a_read_only_pipeline_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut st = PipelineState::new(Pipeline { data_dir: Some(dir.path().to_path_buf()), read_only: true, ..config() });
    let t = 1_709_251_200;
    st.ingest(batch((0..5).map(|i| event_at(&format!("e{i}"), t + i)).collect()));
    let row = st.publish().rows[0].clone();
    let req = LabelRequest {
        row,
        verdict: crate::model::feedback::Verdict::FalsePositive,
        scope: crate::model::feedback::Scope::Entity,
        note: None,
        expires_days: None,
    };
    st.apply(PipelineCommand::Label(Box::new(req)));
    assert_eq!(st.publish().labels, 1, "in force in memory");
    let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(written.is_empty(), "{written:?}");
}

/// The thread: when the last source ends, what it sent since the last publication is
/// published at once. It waited for a command that might never come, so a single file's last
/// batch never reached the screen.
#[test]
fn the_last_batch_is_published_when_the_sources_end() {
    let (src_tx, src_rx) = crossbeam_channel::bounded(8);
    let (_cmd_tx, cmd_rx) = crossbeam_channel::bounded(1);
    let (snap_tx, snap_rx) = crossbeam_channel::bounded(8);
    std::thread::spawn(move || config().run(src_rx, cmd_rx, snap_tx));
    let t = 1_709_251_200;
    src_tx.send(batch(vec![event_at("a", t)])).unwrap();
    src_tx.send(batch(vec![event_at("b", t + 1)])).unwrap();
    drop(src_tx);
    // Generous: the publication is immediate; before the fix it never came.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while let Ok(snap) = snap_rx.recv_deadline(deadline) {
        if snap.events == 2 {
            return;
        }
    }
    panic!("the second batch was never published");
}

fn stop_rules() -> Arc<crate::sigma::Rules> {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title: Trail stopped\nid: t-1\nlogsource: {product: aws, service: cloudtrail}\nlevel: high\ntags: [attack.t1562.008]\ndetection:\n  sel: {eventName: StopLogging}\n  condition: sel\n";
    std::fs::write(dir.path().join("stop.yml"), rule).unwrap();
    Arc::new(crate::sigma::Rules::load(&[dir.path().to_path_buf()], &[], crate::sigma::Level::Informational).0)
}

/// Thirty hours of one principal, with a trail stopped in hour ten.
fn thirty_hours_and_a_stop(t0: i64) -> Vec<Event> {
    let mut events: Vec<Event> = (0..30).map(|h| event_at(&format!("e{h}"), t0 + h * 3600)).collect();
    let doc = format!(
        r#"{{"eventTime":"{}","eventName":"StopLogging","eventID":"stop","userIdentity":{{"arn":"arn:aws:iam::1:user/u"}}}}"#,
        crate::parse::time::rfc3339(t0 + 10 * 3600 + 60)
    );
    events.extend(crate::parse::parse_bytes(doc.as_bytes(), &crate::parse::ParseOptions::default()).0);
    events
}

/// The console matched no Sigma rule: now every new event is matched, the window's hits
/// reach the snapshot (strongest first) and a high hit lifts its window above the rest.
#[test]
fn sigma_hits_reach_the_snapshot_and_lift_their_window() {
    let mut st = PipelineState::new(Pipeline { sigma: Some(stop_rules()), ..config() });
    let t0 = 1_709_251_200;
    st.ingest(batch(thirty_hours_and_a_stop(t0)));
    let snap = st.publish();
    let top = &snap.rows[0];
    assert_eq!(top.row.window_start, t0 + 10 * 3600, "the window with the hit ranks first");
    assert_eq!(top.signatures.len(), 1);
    let sig = &top.signatures[0];
    assert_eq!((sig.title.as_str(), sig.level, sig.count), ("Trail stopped", crate::sigma::Level::High, 1));
    assert_eq!(sig.techniques, ["T1562.008"]);
    assert!(snap.rows[1..].iter().all(|r| r.signatures.is_empty()));
}

/// Hits are saved with the state: a restarted console still shows (and ranks by) the hits of
/// windows it will not read again.
#[test]
fn sigma_hits_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || Pipeline { data_dir: Some(dir.path().to_path_buf()), sigma: Some(stop_rules()), ..config() };
    let t0 = 1_709_251_200;
    let mut st = PipelineState::new(cfg());
    st.ingest(batch(thirty_hours_and_a_stop(t0)));
    st.publish();
    st.save();
    drop(st);
    let mut again = PipelineState::new(cfg());
    let snap = again.publish();
    assert_eq!(snap.rows[0].row.window_start, t0 + 10 * 3600);
    assert_eq!(snap.rows[0].signatures.len(), 1, "{:?}", snap.rows[0]);
}

/// Hour windows of `n` principals from `first`, each with five calls, failing or not.
fn windows(hour: i64, first: usize, n: usize, failing: bool) -> SourceMsg {
    let error = if failing { r#","errorCode":"AccessDenied""# } else { "" };
    let events = (first..first + n)
        .flat_map(|p| {
            (0..5).map(move |k| {
                let doc = format!(
                    r#"{{"eventTime":"{}","eventName":"ListBuckets","eventID":"{hour}-{p}-{k}","sourceIPAddress":"198.51.100.{}","userIdentity":{{"arn":"arn:aws:iam::1:user/p{p}"}}{error}}}"#,
                    crate::parse::time::rfc3339(hour * 3600 + 60 * k),
                    p % 200
                );
                crate::parse::parse_bytes(doc.as_bytes(), &crate::parse::ParseOptions::default()).0.remove(0)
            })
        })
        .collect();
    batch(events)
}

const H0: i64 = 475_000;

/// A pipeline that has taken a day of ten quiet principals' hour windows.
fn a_day_in() -> PipelineState {
    let mut st = state();
    for h in 0..24 {
        st.ingest(windows(H0 + h, 0, 10, false));
    }
    st
}

/// The analyst's "this entity is a false positive" on `row`.
fn false_positive(row: crate::model::ScoredRow) -> PipelineCommand {
    PipelineCommand::Label(Box::new(LabelRequest {
        row,
        verdict: crate::model::feedback::Verdict::FalsePositive,
        scope: crate::model::feedback::Scope::Entity,
        note: None,
        expires_days: None,
    }))
}

/// The list stays still: new windows are scored by the forest in hand; a threshold move does
/// not fit anew; labels and a history grown by a quarter do, and say so.
#[test]
fn new_windows_are_scored_by_the_forest_in_hand_until_a_fit_is_due() {
    let mut st = state();
    // Nothing to fit on yet: no forest, and the first one is not "grown from 0".
    assert!(st.publish().model.is_none());
    for h in 0..24 {
        st.ingest(windows(H0 + h, 0, 10, false));
    }
    let first = st.publish().model.clone().unwrap();
    assert_eq!((first.reason.as_str(), first.fits, first.windows), ("first fit", 1, 240));
    st.ingest(windows(H0 + 24, 0, 10, false));
    let snap = st.publish();
    let m = snap.model.clone().unwrap();
    assert_eq!((m.fits, m.windows, m.fitted_at), (1, 240, first.fitted_at), "scored, not fitted");
    assert_eq!(snap.rows.len(), 250);
    st.apply(PipelineCommand::SetThreshold(crate::model::Threshold::Contamination(0.05)));
    assert_eq!(st.publish().model.unwrap().fits, 1, "a threshold move does not fit");
    st.apply(false_positive(snap.rows[0].clone()));
    let m = st.publish().model.unwrap();
    assert_eq!((m.reason.as_str(), m.fits), ("labels changed", 2));
    for h in 25..32 {
        st.ingest(windows(H0 + h, 0, 10, false));
    }
    let m = st.publish().model.unwrap();
    assert_eq!((m.reason.as_str(), m.fits, m.windows), ("history grew from 250 to 320 windows", 3, 320));
}

/// A last day unlike the training windows (every call denied) drifts past the threshold: the
/// next publication fits a new forest and says why.
#[test]
fn a_drifted_last_day_fits_a_new_forest() {
    let mut st = a_day_in();
    st.publish();
    for h in 24..29 {
        st.ingest(windows(H0 + h, 100, 10, true));
    }
    let snap = st.publish();
    assert_eq!(snap.rows.len(), 290);
    let m = snap.model.clone().unwrap();
    assert_eq!(m.fits, 1, "still the first forest");
    assert!(m.drift.significant(), "{:?}", m.drift);
    assert!(m.drift.features.iter().any(|(f, p)| *f == "failure_ratio" && *p > 1.0), "{:?}", m.drift);
    let m = st.publish().model.unwrap();
    assert_eq!(m.fits, 2);
    assert!(m.reason.starts_with("drift: "), "{}", m.reason);
    assert!(!m.drift.significant(), "fitted on the windows that drifted: {:?}", m.drift);
}

/// Rank moves (`5▲7`) vanished two seconds after a label, replaced by the next ranking's
/// churn, and background scoring alone showed moves. They are the label's now, and stay.
#[test]
fn rank_moves_are_the_last_label_s_and_stay() {
    let mut st = a_day_in();
    st.publish();
    st.ingest(windows(H0 + 24, 0, 10, false));
    let snap = st.publish();
    assert!(snap.rows.iter().all(|r| r.prev_rank.is_none()), "no label, no moves");
    st.apply(false_positive(snap.rows[0].clone()));
    let moved = |s: &Snapshot| s.rows.iter().filter(|r| r.prev_rank.is_some_and(|p| p != r.rank)).count();
    let after = st.publish();
    assert!(moved(&after) > 0);
    st.ingest(windows(H0 + 25, 0, 2, false));
    let later = st.publish();
    assert!(
        later.rows.iter().filter(|r| r.row.window_start < (H0 + 25) * 3600).all(|r| r.prev_rank.is_some()),
        "still shown"
    );
}
