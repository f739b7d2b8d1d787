use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::action::Action;
use crate::features::{FeatureRow, N_FEATURES};
use crate::model::ScoredRow;
use crate::model::feedback::Verdict;
use crate::parse::{ParseOptions, parse_bytes};
use crate::pipeline::{PipelineCommand, Snapshot, TailView};

/// The hour the test windows start: 2024-03-01T01:00Z (parse turns 1970 away).
const HOUR: i64 = 1_709_254_800;

fn row(rank: usize, entity: &str, events: u64) -> ScoredRow {
    let mut features = [0.0; N_FEATURES];
    features[0] = events as f64;
    ScoredRow {
        row: FeatureRow {
            entity: format!("arn:aws:iam::1:user/{entity}"),
            principal: format!("arn:aws:iam::1:user/{entity}"),
            source_ip: "203.0.113.1".into(),
            window_start: HOUR,
            window_end: HOUR + 3600,
            events,
            features,
            names: vec![],
            ..Default::default()
        },
        score: 1.0 - rank as f64 / 100.0,
        rank_score: 1.0 - rank as f64 / 100.0,
        rank,
        flagged: rank == 1,
        rules: vec![],
        reasons: vec![],
        verdict: None,
        prev_rank: None,
        signatures: vec![],
        ..Default::default()
    }
}

fn event(id: &str, name: &str, entity: &str) -> Arc<crate::parse::Event> {
    let json = format!(
        r#"{{"eventTime":"2024-03-01T01:10:00Z","eventID":"{id}","eventName":"{name}","sourceIPAddress":"203.0.113.1","userIdentity":{{"arn":"arn:aws:iam::1:user/{entity}"}}}}"#
    );
    Arc::new(parse_bytes(json.as_bytes(), &ParseOptions { keep_raw: true, ..Default::default() }).0.remove(0))
}

fn snap(order: &[&str]) -> Arc<Snapshot> {
    let rows = order.iter().enumerate().map(|(i, e)| row(i + 1, e, 10 * (i as u64 + 1))).collect();
    Arc::new(Snapshot {
        rows: Arc::new(rows),
        tail: TailView::from_events(vec![
            event("1", "GetObject", "a"),
            event("2", "ListBuckets", "b"),
            event("3", "GetUser", "a"),
        ]),
        feature_config: crate::features::FeatureConfig { window_secs: 3600, by: crate::features::EntityBy::Principal },
        ..Default::default()
    })
}

/// The user name of the selected row.
fn who(s: &AppState) -> String {
    s.selected_row().unwrap().row.entity.rsplit('/').next().unwrap().to_owned()
}

fn state() -> AppState {
    let mut s = AppState::new(Threshold::Contamination(0.01));
    s.on_snapshot(snap(&["a", "b", "c"]));
    s
}

#[test]
fn selection_follows_its_row_when_the_ranking_changes() {
    let mut s = state();
    s.update(Action::Down);
    assert_eq!(who(&s), "b");
    s.on_snapshot(snap(&["c", "a", "b"]));
    assert_eq!(who(&s), "b", "the selection must not jump");
    assert_eq!(s.cursors[View::Anomalies].row, 2);
}

#[test]
fn an_untouched_cursor_stays_on_the_top_row() {
    let mut s = state();
    s.on_snapshot(snap(&["c", "a", "b"]));
    assert_eq!((who(&s), s.cursors[View::Anomalies].row), ("c".to_owned(), 0), "nobody moved it: it shows the new top");
    s.update(Action::Down);
    s.update(Action::Up);
    s.on_snapshot(snap(&["b", "c", "a"]));
    assert_eq!(who(&s), "c", "once moved, it follows its row");
}

#[test]
fn movement_is_clamped() {
    let mut s = state();
    s.update(Action::Up);
    assert_eq!(s.cursors[View::Anomalies].row, 0);
    s.update(Action::Bottom);
    assert_eq!(s.cursors[View::Anomalies].row, 2);
    s.update(Action::PageDown);
    assert_eq!(s.cursors[View::Anomalies].row, 2);
    s.update(Action::Top);
    assert_eq!(s.cursors[View::Anomalies].row, 0);
}

#[test]
fn drill_down_to_records_and_json_and_back() {
    let mut s = state();
    s.update(Action::Open);
    let d = s.detail.as_ref().unwrap();
    assert_eq!(d.events.iter().map(|e| &*e.id).collect::<Vec<_>>(), ["3", "1"], "entity a's records, newest first");
    assert_eq!(d.json, None);
    s.page = 3;
    let scroll = |s: &AppState| s.detail.as_ref().unwrap().json.as_ref().map(|j| j.scroll);
    s.update(Action::Open);
    assert_eq!(scroll(&s), Some(0));
    s.update(Action::Down);
    assert_eq!(scroll(&s), Some(1));
    let lines = &s.detail.as_ref().unwrap().json.as_ref().unwrap().lines;
    assert_eq!(lines.len(), 9, "the record pretty-printed: {lines:?}");
    s.update(Action::Bottom);
    assert_eq!(scroll(&s), Some(6), "the last line stops at the bottom of a 3-line page");
    s.update(Action::Back);
    assert!(s.detail.as_ref().unwrap().json.is_none());
    s.update(Action::Quit);
    assert!(s.detail.is_none() && !s.quit, "q backs out of a drill-down first");
    s.update(Action::Quit);
    assert!(s.quit);
}

/// A key press through the default keymap, as the console routes it.
fn press(s: &mut AppState, code: KeyCode) -> Vec<Command> {
    let (keymap, _) = crate::config::keymap::Keymap::load(None);
    s.on_key(KeyEvent::new(code, KeyModifiers::NONE), |layer, k| keymap.action_for(layer, k))
}

fn type_text(s: &mut AppState, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

#[test]
fn filter_bar_applies_to_tail_and_rows() {
    let mut s = state();
    s.update(Action::ViewTail);
    assert_eq!(s.lists.tail.len(), 3);
    press(&mut s, KeyCode::Char('/'));
    // While the bar is open, keys are text: `q` does not quit.
    type_text(&mut s, "event:Get*q");
    press(&mut s, KeyCode::Backspace);
    assert!(!s.quit);
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(s.lists.tail.len(), 2);
    assert_eq!(s.selected_event().unwrap().id.as_ref(), "3", "newest first");
    s.update(Action::Filter);
    for _ in 0..10 {
        press(&mut s, KeyCode::Backspace);
    }
    type_text(&mut s, "principal:*/b");
    press(&mut s, KeyCode::Enter);
    // Ctrl-C quits even from the filter bar.
    press(&mut s, KeyCode::Char('/'));
    let (keymap, _) = crate::config::keymap::Keymap::load(None);
    s.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), |layer, k| keymap.action_for(layer, k));
    assert!(s.quit);
    s.quit = false;
    s.mode = Mode::Normal;
    assert_eq!(s.lists.anomalies.len(), 1);
    assert_eq!(s.lists.tail.len(), 1);
    s.update(Action::Back);
    assert!(s.filter.is_empty() && s.lists.tail.len() == 3, "esc clears the filter");
}

#[test]
fn freeze_keeps_the_tail_still() {
    let mut s = state();
    s.update(Action::Follow);
    let mut more = (*snap(&["a"])).clone();
    let mut events: Vec<_> = more.tail.iter().cloned().collect();
    events.push(event("4", "PutObject", "c"));
    more.tail = TailView::from_events(events);
    s.on_snapshot(Arc::new(more));
    assert_eq!(s.lists.tail.len(), 3, "frozen");
    s.update(Action::Follow);
    assert_eq!(s.lists.tail.len(), 4, "following again");
}

#[test]
fn sort_and_threshold_and_copy() {
    let mut s = state();
    s.update(Action::ViewEntities);
    assert_eq!(who(&s), "c", "sorted by events, descending");
    s.update(Action::SortReverse);
    assert_eq!(who(&s), "a");
    let cmds = s.update(Action::ThresholdDown);
    assert_eq!(cmds, vec![Command::Pipeline(PipelineCommand::SetThreshold(Threshold::Contamination(0.015)))]);
    let cmds = s.update(Action::Copy);
    assert_eq!(cmds, vec![Command::Copy("arn:aws:iam::1:user/a".into())]);
    s.update(Action::Help);
    assert_eq!(s.mode, Mode::Help { scroll: 0 });
    s.help_overflow = 3;
    for _ in 0..5 {
        s.update(Action::Down);
    }
    assert_eq!(s.mode, Mode::Help { scroll: 3 }, "moving keys scroll the help, no further than its end");
    s.update(Action::Up);
    assert_eq!(s.mode, Mode::Help { scroll: 2 });
    s.update(Action::Top);
    assert_eq!(s.mode, Mode::Help { scroll: 0 }, "g and G scroll it too");
    s.update(Action::Bottom);
    assert_eq!(s.mode, Mode::Help { scroll: 3 });
    s.update(Action::SortReverse);
    assert_eq!(s.mode, Mode::Normal, "any other key closes help");
    // A key bound to nothing closes it too (the help says any key does).
    s.update(Action::Help);
    press(&mut s, KeyCode::F(9));
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn false_positive_dialog_scope_expiry_note() {
    let mut s = state();
    press(&mut s, KeyCode::Char('f'));
    assert!(matches!(s.mode, Mode::Mark(_)));
    for c in "3een".chars() {
        press(&mut s, KeyCode::Char(c));
    }
    type_text(&mut s, "ci box");
    press(&mut s, KeyCode::Enter);
    let cmds = press(&mut s, KeyCode::Enter);
    assert_eq!(s.mode, Mode::Normal);
    match &cmds[..] {
        [Command::Pipeline(PipelineCommand::Label(req))] => {
            assert_eq!((req.verdict, req.scope, req.expires_days), (Verdict::FalsePositive, Scope::Principal, Some(7)));
            assert_eq!(req.note.as_deref(), Some("ci box"));
            assert!(req.row.row.entity.ends_with("/a"));
        }
        other => panic!("{other:?}"),
    }
    s.update(Action::MarkFalsePositive);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.mode, Mode::Normal, "esc cancels");
    s.on_snapshot(snap(&["b", "c", "a"]));
    assert_eq!(who(&s), "b", "after a label the cursor stays in place for the next window");
    let cmds = s.update(Action::MarkTruePositive);
    assert!(matches!(&cmds[..], [Command::Pipeline(PipelineCommand::Label(r))] if r.verdict == Verdict::TruePositive));
    // `u` on a window without a label of its own said "label withdrawn" and did nothing.
    let cmds = s.update(Action::UndoLabel);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(s.notice.as_deref(), Some("this window has no label of its own to withdraw"));
    // Once the pipeline has the label, `u` withdraws it.
    let mut labelled = (*snap(&["b", "c", "a"])).clone();
    Arc::make_mut(&mut labelled.rows)[0].verdict = Some(Verdict::TruePositive);
    s.on_snapshot(Arc::new(labelled));
    let cmds = s.update(Action::UndoLabel);
    assert!(matches!(&cmds[..], [Command::Pipeline(PipelineCommand::Undo { window_start: HOUR, .. })]));
}

#[test]
fn hide_columns_and_sparklines() {
    let mut s = state();
    s.update(Action::ViewEntities);
    s.update(Action::HideColumn);
    assert!(s.hidden.contains(&0) && s.sort_col == 1, "the sort moves off a hidden column");
    s.update(Action::SortPrev);
    assert_ne!(s.sort_col, 0, "hidden columns are skipped");
    s.update(Action::ShowColumns);
    assert!(s.hidden.is_empty());
    assert_eq!(sparkline(&[0, 5, 10]), "▁▅█");
    assert_eq!(s.lists.sparks.get("arn:aws:iam::1:user/a").map(String::as_str), Some("█"));
}

#[test]
fn raw_json_is_scrubbed_once_when_opened() {
    let mut s = state();
    s.update(Action::ViewTail);
    let json = "{\"eventTime\":\"2024-03-01T01:10:00Z\",\"eventID\":\"x\",\"eventName\":\"GetUser\",\"userIdentity\":{\"arn\":\"arn:aws:iam::1:user/a\"},\"userAgent\":\"a\u{202e}b\u{9b}31mc\"}";
    let ev = Arc::new(parse_bytes(json.as_bytes(), &ParseOptions { keep_raw: true, ..Default::default() }).0.remove(0));
    assert!(ev.raw.as_deref().unwrap().contains('\u{202e}'), "the raw record keeps what the log said");
    let mut snap = Arc::into_inner(snap(&["a"])).unwrap();
    snap.tail = TailView::from_events(vec![ev]);
    s.on_snapshot(Arc::new(snap));
    s.update(Action::Open);
    let j = s.detail.as_ref().unwrap().json.as_ref().unwrap();
    assert_eq!(j.scroll, 0);
    assert!(j.lines.iter().any(|l| l.contains("\"userAgent\": \"ab31mc\"")), "{:?}", j.lines);
    // `y` copied the raw record: the clipboard gets it scrubbed too.
    let cmds = s.update(Action::Copy);
    let [Command::Copy(text)] = &cmds[..] else { panic!("{cmds:?}") };
    assert!(text.contains("\"userAgent\":\"ab31mc\"") && !text.contains(['\u{202e}', '\u{9b}']), "{text}");
}

/// A record can be megabytes; the clipboard gets at most 1 MiB of it, and the analyst is told.
#[test]
fn copies_are_capped() {
    let mut s = state();
    s.update(Action::ViewTail);
    let big = "é".repeat(MAX_COPY);
    let json = format!(
        "{{\"eventTime\":\"2024-03-01T01:10:00Z\",\"eventID\":\"x\",\"eventName\":\"GetUser\",\"userIdentity\":{{\"arn\":\"arn:aws:iam::1:user/a\"}},\"requestParameters\":{{\"b\":\"{big}\"}}}}"
    );
    let opts = ParseOptions { keep_raw: true, max_record_bytes: 8 << 20, ..Default::default() };
    let ev = Arc::new(parse_bytes(json.as_bytes(), &opts).0.remove(0));
    let mut snap = Arc::into_inner(snap(&["a"])).unwrap();
    snap.tail = TailView::from_events(vec![ev]);
    s.on_snapshot(Arc::new(snap));
    s.update(Action::Open);
    let cmds = s.update(Action::Copy);
    let [Command::Copy(text)] = &cmds[..] else { panic!("{cmds:?}") };
    assert!(text.len() <= MAX_COPY && text.len() > MAX_COPY - 4, "{}", text.len());
    assert!(s.notice.as_deref().is_some_and(|n| n.contains("first 1023 KiB of 2048 KiB")), "{:?}", s.notice);
}

#[test]
fn a_new_source_error_is_shown_whole_once() {
    let mut s = state();
    let with_status = |status| {
        let mut snap = Arc::into_inner(snap(&["a"])).unwrap();
        let name = "s3://trail/AWSLogs/".to_owned();
        let view = crate::pipeline::SourceView {
            name,
            status,
            newest_event: None,
            events: 0,
            last_error: None,
            note: None,
            counts: Default::default(),
        };
        snap.sources = vec![view];
        Arc::new(snap)
    };
    let refused = "listing s3://trail/AWSLogs/: Connection refused (os error 111) (dispatch failure)";
    s.on_snapshot(with_status(SourceStatus::Degraded(refused.into())));
    assert_eq!(s.notice.as_deref(), Some(format!("s3://trail/AWSLogs/: {refused}").as_str()));
    s.update(Action::Down);
    assert_eq!(s.notice, None, "a key clears it");
    s.on_snapshot(with_status(SourceStatus::Degraded(refused.into())));
    assert_eq!(s.notice, None, "the same error again is not news");
}

fn event_at(id: &str, name: &str, minute: u32) -> Arc<crate::parse::Event> {
    let json = format!(
        r#"{{"eventTime":"2024-03-01T01:{minute:02}:00Z","eventID":"{id}","eventName":"{name}","sourceIPAddress":"203.0.113.1","userIdentity":{{"arn":"arn:aws:iam::1:user/a"}}}}"#
    );
    Arc::new(parse_bytes(json.as_bytes(), &ParseOptions { keep_raw: true, ..Default::default() }).0.remove(0))
}

/// The drill-down listed a window's records in the order they arrived (files come in any
/// order), and `/event:Stop*` there still showed every record.
#[test]
fn the_drill_down_is_in_time_order_and_follows_the_filter() {
    let mut snap = (*snap(&["a"])).clone();
    snap.tail = TailView::from_events(vec![
        event_at("1", "GetObject", 30),
        event_at("2", "StopLogging", 10),
        event_at("3", "GetUser", 50),
    ]);
    let mut s = AppState::new(Threshold::Contamination(0.01));
    s.on_snapshot(Arc::new(snap));
    s.update(Action::Open);
    let names = |s: &AppState| -> Vec<String> {
        s.detail.as_ref().unwrap().events.iter().map(|e| e.name.to_string()).collect()
    };
    assert_eq!(names(&s), ["GetUser", "GetObject", "StopLogging"], "newest first by event time");
    s.update(Action::Filter);
    type_text(&mut s, "event:Stop*");
    press(&mut s, KeyCode::Enter);
    assert_eq!(names(&s), ["StopLogging"]);
    assert_eq!(s.detail.as_ref().unwrap().held, 3);
    // A misspelled field is said, and changes nothing.
    s.update(Action::Filter);
    for _ in 0..20 {
        press(&mut s, KeyCode::Backspace);
    }
    type_text(&mut s, "evnt:Get*");
    press(&mut s, KeyCode::Enter);
    assert!(s.notice.as_deref().unwrap_or("").contains("unknown field 'evnt:'"), "{:?}", s.notice);
    assert_eq!(s.mode, Mode::Filter("evnt:Get*".into()), "the bar stays open to fix it");
    assert_eq!(names(&s), ["StopLogging"]);
    assert_eq!(s.filter.text, "event:Stop*", "the filter in force stays");
    press(&mut s, KeyCode::Esc);
    assert!(s.notice.is_none() && s.mode == Mode::Normal);
}

/// Tail → Enter opens the record's JSON; Esc then showed a one-record list never visited.
#[test]
fn esc_from_a_tail_record_goes_back_to_the_tail() {
    let mut s = state();
    s.update(Action::ViewTail);
    s.update(Action::Open);
    assert!(s.detail.as_ref().is_some_and(|d| d.json.is_some()), "the JSON at once");
    s.update(Action::Back);
    assert!(s.detail.is_none(), "back in the tail");
    assert_eq!(s.view, View::Tail);
}

/// Ctrl-U and Ctrl-W typed a `u` and a `w`, and Left/Right did not move the cursor.
#[test]
fn the_filter_bar_edits_as_a_shell_line_does() {
    let (keymap, _) = crate::config::keymap::Keymap::load(None);
    let mut s = state();
    let ctrl = |s: &mut AppState, c: char| {
        s.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL), |l, k| keymap.action_for(l, k));
    };
    let text = |s: &AppState| match &s.mode {
        Mode::Filter(i) => (i.value().to_owned(), i.cursor()),
        other => panic!("{other:?}"),
    };
    s.update(Action::Filter);
    type_text(&mut s, "event:Get* ip:1.2.3.4");
    ctrl(&mut s, 'w');
    assert_eq!(text(&s).0, "event:Get* ip:", "ctrl-w deletes the word before the cursor");
    for _ in 0..3 {
        press(&mut s, KeyCode::Backspace);
    }
    type_text(&mut s, "error:AccessDenied");
    for _ in 0.."error:AccessDenied".len() {
        press(&mut s, KeyCode::Left);
    }
    press(&mut s, KeyCode::Char('-'));
    assert_eq!(text(&s), ("event:Get* -error:AccessDenied".to_owned(), 12), "typed where the cursor is");
    press(&mut s, KeyCode::End);
    ctrl(&mut s, 'a');
    assert_eq!(text(&s).1, 0, "ctrl-a goes to the start");
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Delete);
    assert_eq!(text(&s).0, "evnt:Get* -error:AccessDenied");
    press(&mut s, KeyCode::End);
    ctrl(&mut s, 'u');
    assert_eq!(text(&s), (String::new(), 0), "ctrl-u clears to the start");
    // A control character or a bidi override is not typed.
    press(&mut s, KeyCode::Char('\u{202e}'));
    assert_eq!(text(&s).0, "");
    type_text(&mut s, "event:Stop*");
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.filter.text, "event:Stop*");
}

/// Windows that entered the flagged set since the analyst last looked are new; the first
/// snapshot's are the starting point; the bell rings when the count grows; moving onto one
/// sees it.
#[test]
fn windows_newly_flagged_are_new_until_looked_at() {
    let mut s = state();
    assert_eq!((s.fresh.count, s.fresh.ring), (0, false), "the first flags are the starting point");
    // `c` is flagged now (rank 1), and was not before.
    s.on_snapshot(snap(&["c", "a", "b"]));
    assert_eq!(s.fresh.count, 1);
    assert!(std::mem::take(&mut s.fresh.ring));
    assert!(s.fresh.is_new(&s.snap.rows[0]));
    // A console left alone keeps it new.
    s.on_snapshot(snap(&["c", "a", "b"]));
    assert_eq!((s.fresh.count, s.fresh.ring), (1, false), "no new ring for the same news");
    s.update(Action::Down);
    s.update(Action::Up);
    assert_eq!(s.fresh.count, 0, "the cursor rested on it");
    assert!(!s.fresh.is_new(&s.snap.rows[0]));
}
