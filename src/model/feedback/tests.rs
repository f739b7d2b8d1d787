use super::*;
use crate::model::ScoredRow;

fn scored(entity: &str, window: i64, names: Vec<u64>) -> ScoredRow {
    ScoredRow {
        row: FeatureRow {
            entity: entity.into(),
            principal: entity.split('|').next().unwrap().into(),
            source_ip: "1.1.1.1".into(),
            window_start: window,
            window_end: window + 3600,
            events: 3,
            features: [1.0; N_FEATURES],
            names,
            ..Default::default()
        },
        score: 0.7,
        rank_score: 0.7,
        rank: 1,
        flagged: true,
        rules: vec![],
        reasons: vec![],
        verdict: None,
        prev_rank: None,
        signatures: vec![],
        ..Default::default()
    }
}

#[test]
fn labels_survive_a_restart_and_undo_withdraws() {
    let dir = tempfile::tempdir().unwrap();
    let store = LabelStore::new(dir.path());
    let a = Label::new(&scored("p|ip", 0, vec![]), Verdict::FalsePositive, Scope::Entity, 3, 100);
    let b = Label::new(&scored("q|ip", 0, vec![]), Verdict::TruePositive, Scope::Entity, 3, 101);
    store.append(&a).unwrap();
    store.append(&b).unwrap();
    let (lines, report) = LabelStore::new(dir.path()).load().unwrap();
    assert_eq!((lines.len(), report.corrupt), (2, 0));
    assert_eq!(lines[0], a);
    store.undo(&a, 102).unwrap();
    let (lines, _) = store.load().unwrap();
    let fb = Feedback::from_lines(lines, 200);
    assert_eq!(fb.labels.len(), 1);
    assert_eq!(fb.labels[0].id, b.id);
}

#[test]
fn a_torn_last_line_is_skipped_and_the_next_append_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = LabelStore::new(dir.path());
    let a = Label::new(&scored("p|ip", 0, vec![]), Verdict::FalsePositive, Scope::Entity, 1, 100);
    store.append(&a).unwrap();
    let whole = serde_json::to_string(&a).unwrap();
    let mut f = OpenOptions::new().append(true).open(store.path()).unwrap();
    f.write_all(&whole.as_bytes()[..whole.len() / 2]).unwrap();
    drop(f);
    let b = Label::new(&scored("q|ip", 0, vec![]), Verdict::TruePositive, Scope::Entity, 1, 101);
    store.append(&b).unwrap();
    let (lines, report) = store.load().unwrap();
    assert_eq!(lines, vec![a, b]);
    assert_eq!((report.corrupt, report.first_corrupt_line), (1, Some(2)));
}

#[test]
fn scopes_and_expiry() {
    let row_a = scored("p|1.1.1.1", 0, vec![1, 2]);
    let mut fp = Label::new(&row_a, Verdict::FalsePositive, Scope::EntityEvents, 1, 100);
    let other_window_subset = scored("p|1.1.1.1", 3600, vec![2]).row;
    let other_window_more = scored("p|1.1.1.1", 7200, vec![2, 3]).row;
    let other_ip = scored("p|9.9.9.9", 0, vec![1]).row;
    assert!(fp.applies(&other_window_subset));
    assert!(!fp.applies(&other_window_more));
    assert!(!fp.applies(&other_ip));
    fp.scope = Scope::Principal;
    assert!(fp.applies(&other_ip));
    fp.scope = Scope::Entity;
    let rows = vec![other_window_subset.clone(), other_window_more, other_ip];
    let fb = Feedback::from_lines(vec![fp.clone()], 150);
    assert_eq!(fb.normal_rows(&rows).len(), 2 * REPLICAS);
    fp.expires_at = Some(120);
    assert!(Feedback::from_lines(vec![fp], 150).is_empty(), "expired");
}

/// A writer killed with SIGKILL in the middle of appending never damages earlier labels.
#[test]
fn killed_writer_leaves_earlier_labels_intact() {
    if let Ok(dir) = std::env::var("TRAILTOP_TEST_LABEL_WRITER") {
        let store = LabelStore::new(Path::new(&dir));
        let mut row = scored("p|ip", 0, vec![]);
        row.row.features = [123.456_789; N_FEATURES];
        for i in 0.. {
            let mut l = Label::new(&row, Verdict::FalsePositive, Scope::Entity, i, i as i64);
            l.note = Some("x".repeat(4000));
            store.append(&l).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let me = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(me)
        .args(["--exact", "model::feedback::tests::killed_writer_leaves_earlier_labels_intact", "--nocapture"])
        .env("TRAILTOP_TEST_LABEL_WRITER", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let store = LabelStore::new(dir.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while store.load().unwrap().0.len() < 20 {
        assert!(std::time::Instant::now() < deadline, "the writer wrote nothing");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (lines, report) = store.load().unwrap();
    assert!(lines.len() >= 20);
    assert!(report.corrupt <= 1, "{report:?}");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l.generation, i as u64, "labels in order, none lost before the last");
        assert_eq!(l.features[0], 123.456_789);
    }
    let after = Label::new(&scored("q|ip", 0, vec![]), Verdict::TruePositive, Scope::Entity, 0, 1);
    store.append(&after).unwrap();
    assert_eq!(store.load().unwrap().0.last(), Some(&after));
}

/// Two identical labels in one second had one id: an undo of the second withdrew both.
#[test]
fn identical_labels_in_one_second_are_two_labels() {
    let row = scored("e", 1_709_251_200, vec![]);
    let a = Label::new(&row, Verdict::FalsePositive, Scope::Entity, 1, 1_709_260_000);
    let b = Label::new(&row, Verdict::FalsePositive, Scope::Entity, 1, 1_709_260_000);
    assert_ne!(a.id, b.id);
    let undo = b.undo_of(1_709_260_000);
    assert_ne!(undo.id, b.undo_of(1_709_260_000).id);
    let fb = Feedback::from_lines(vec![a.clone(), b, undo], 1_709_260_001);
    assert_eq!(fb.labels.iter().map(|l| l.id.clone()).collect::<Vec<_>>(), [a.id]);
}
