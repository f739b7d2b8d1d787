//! A restart keeps what was learned: run the pipeline, stop it, start another on the same data
//! dir, and it ranks as the one that never stopped would have.

use std::path::Path;

use trailtop::features::{EntityBy, FeatureConfig};
use trailtop::generate::Generator;
use trailtop::model::ScoredRow;
use trailtop::parse::{Event, ParseOptions, ParseStats, parse_document};
use trailtop::pipeline::{Pipeline, PipelineState, Snapshot};
use trailtop::source::{Commit, SourceMsg};

/// 2024-03-04T00:00Z, a Monday.
const T0: i64 = 1_709_510_400;

fn pipeline(dir: Option<&Path>) -> Pipeline {
    Pipeline {
        data_dir: dir.map(Path::to_path_buf),
        cfg: FeatureConfig { window_secs: 3600, by: EntityBy::PrincipalIp },
        tail_capacity: 100_000,
        retain: Some(14 * 86_400),
        ..Pipeline::in_memory("/var/trail")
    }
}

/// `hours` of the generated account, parsed as a source would.
fn traffic(g: &mut Generator, hours: usize) -> Vec<Event> {
    let (mut out, mut stats) = (Vec::new(), ParseStats::default());
    for e in g.next_hours(hours).into_iter().flatten() {
        let json = serde_json::to_vec(&e.record).unwrap();
        parse_document(&json, &ParseOptions { keep_raw: true, ..Default::default() }, &mut out, &mut stats);
    }
    out
}

fn batch(events: Vec<Event>) -> SourceMsg {
    SourceMsg::Events { source: 0, events, stats: ParseStats::default(), error: None }
}

/// What a ranking says of each window, in rank order.
fn ranking(s: &Snapshot) -> Vec<(i64, String, f64, f64, bool)> {
    s.rows
        .iter()
        .map(|r: &ScoredRow| (r.row.window_start, r.row.entity.clone(), r.score, r.rank_score, r.flagged))
        .collect()
}

#[test]
fn a_restarted_pipeline_ranks_its_first_new_window_as_without_the_restart() {
    let mut g = Generator::with_rate(11, T0, 300.0);
    let (before, after) = (traffic(&mut g, 72), traffic(&mut g, 2));
    assert!(before.len() > 5_000 && !after.is_empty(), "{} then {}", before.len(), after.len());

    // One pipeline that never stops.
    let mut straight = PipelineState::new(pipeline(None));
    straight.ingest(batch(before.clone()));
    straight.publish();
    straight.ingest(batch(after.clone()));
    let want = straight.publish();

    // One that stops after the first three days and is started again on its data dir.
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("position.json");
    let mut first = PipelineState::new(pipeline(Some(dir.path())));
    first.ingest(batch(before.clone()));
    first.ingest(SourceMsg::Commit { source: 0, commit: Commit::new(checkpoint.clone(), &"after day 3") });
    let last = first.publish();
    assert!(!checkpoint.exists(), "a position waits for the state that holds its events");
    first.save();
    assert!(checkpoint.exists(), "saved with the state");
    drop(first);

    let mut second = PipelineState::new(pipeline(Some(dir.path())));
    let resumed = second.publish();
    let restored = resumed.restored.clone().expect("the header says what was restored");
    assert_eq!(restored.windows, last.rows.len());
    assert_eq!(restored.events, before.len() as u64);
    assert!(restored.model, "the fitted model was restored");
    assert_eq!(ranking(&resumed), ranking(&last), "the restored model ranks the restored windows as before");

    second.ingest(batch(after.clone()));
    let got = second.publish();
    let new_window = T0 + 72 * 3600;
    let first_new = |s: &Snapshot| -> Vec<(i64, String, f64, f64, bool)> {
        ranking(s).into_iter().filter(|r| r.0 == new_window).collect()
    };
    assert!(!first_new(&want).is_empty());
    assert_eq!(first_new(&got), first_new(&want), "the first new window scores as without the restart");
    assert_eq!(ranking(&got), ranking(&want), "and so does every other");
    assert_eq!(got.events, after.len() as u64, "events counted by this run");

    // A folder read again from the start: what the restored run had counted is held for
    // drill-down again but not counted twice.
    second.ingest(batch(before.clone()));
    let reread = second.publish();
    assert_eq!((reread.events, reread.reread, reread.duplicates), (after.len() as u64, before.len() as u64, 0));
    assert_eq!(ranking(&reread), ranking(&want));
}

/// A data dir whose state holds three hours of the account of `seed`, and the generator.
fn saved_three_hours(seed: u64) -> (tempfile::TempDir, Generator) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::with_rate(seed, T0, 100.0);
    let mut st = PipelineState::new(pipeline(Some(dir.path())));
    st.ingest(batch(traffic(&mut g, 3)));
    st.publish();
    st.save();
    (dir, g)
}

#[test]
fn a_damaged_state_is_reported_and_replaced() {
    let (dir, mut g) = saved_three_hours(3);
    let state = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("state-")))
        .expect("a state file");
    std::fs::write(&state, b"\x1f\x8b\x08\x00garbage").unwrap();
    let mut st = PipelineState::new(pipeline(Some(dir.path())));
    let snap = st.publish();
    assert!(snap.restored.is_none());
    assert!(snap.notice.as_deref().is_some_and(|n| n.contains("damaged")), "{:?}", snap.notice);
    st.ingest(batch(traffic(&mut g, 1)));
    st.publish();
    st.save();
    assert!(PipelineState::new(pipeline(Some(dir.path()))).publish().restored.is_some(), "replaced by a good one");
}

#[test]
fn other_sources_or_windows_do_not_share_a_state() {
    let (dir, mut g) = saved_three_hours(5);
    let demo = Pipeline { source_names: vec!["demo".into()], ..pipeline(Some(dir.path())) };
    assert!(PipelineState::new(demo).publish().restored.is_none());
    let daily = Pipeline {
        cfg: FeatureConfig { window_secs: 86_400, by: EntityBy::PrincipalIp },
        ..pipeline(Some(dir.path()))
    };
    assert!(PipelineState::new(daily).publish().restored.is_none());
    // A second instance (read-only) restores but writes nothing.
    let ro = Pipeline { read_only: true, ..pipeline(Some(dir.path())) };
    let mut st = PipelineState::new(ro);
    assert!(st.publish().restored.is_some());
    let listing = |d: &Path| {
        let mut v: Vec<_> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().metadata().unwrap().modified().unwrap()).collect();
        v.sort();
        v
    };
    let was = listing(dir.path());
    st.ingest(batch(traffic(&mut g, 1)));
    st.publish();
    st.save();
    assert_eq!(listing(dir.path()), was);
}
