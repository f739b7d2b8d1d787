//! Whole screens of the console, rendered with ratatui's `TestBackend` from a deterministic
//! generated day, at 80x24 (an SSH session) and 200x50.

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use trailtop::app::state::{AppState, Command, View};
use trailtop::config::action::Action;
use trailtop::config::keymap::Keymap;
use trailtop::config::theme::{Palette, Theme};
use trailtop::generate::{ALL_SCENARIOS, Generator};
use trailtop::model::Threshold;
use trailtop::parse::{ParseOptions, ParseStats, parse_document};
use trailtop::pipeline::{Pipeline, PipelineState, Snapshot};
use trailtop::source::SourceMsg;
use trailtop::source::SourceStatus;

const START: i64 = 1_709_510_400;

/// Two days of generated traffic through the real pipeline, published once; the fields
/// that follow the wall clock (training time, source state) are then pinned, so the screens
/// do not change from run to run.
fn snapshot() -> Arc<Snapshot> {
    snapshot_with(None)
}

/// [`snapshot`], matching `sigma` rules too.
fn snapshot_with(sigma: Option<Arc<trailtop::sigma::Rules>>) -> Arc<Snapshot> {
    let mut g = Generator::for_total(4, START, 2, 6000, ALL_SCENARIOS);
    let mut st = PipelineState::new(Pipeline { demo: true, sigma, ..Pipeline::in_memory("demo") });
    let opts = ParseOptions { keep_raw: true, ..Default::default() };
    for _ in 0..48 {
        let mut events = Vec::new();
        let mut stats = ParseStats::default();
        for e in g.next_hour() {
            let json = serde_json::to_vec(&e.record).unwrap();
            parse_document(&json, &opts, &mut events, &mut stats);
        }
        st.ingest(SourceMsg::Events { source: 0, events, stats, error: None });
    }
    st.ingest(SourceMsg::Status { source: 0, status: SourceStatus::Live });
    let mut snap = st.publish();
    let end = START + 2 * 86_400;
    snap.generation = 7;
    snap.trained_at = Some(end);
    if let Some(m) = &mut snap.model {
        m.fitted_at = end;
    }
    snap.sources[0].newest_event = Some(end - 5);
    Arc::new(snap)
}

/// The ids of the records the generator made for attacks, in [`snapshot`]'s data.
fn attack_ids() -> std::collections::HashSet<String> {
    let mut g = Generator::for_total(4, START, 2, 6000, ALL_SCENARIOS);
    (0..48).flat_map(|_| g.next_hour()).filter(|e| e.label.is_some()).map(|e| e.record.event_id.clone()).collect()
}

fn screen(state: &AppState, w: u16, h: u16) -> String {
    screen_with(state, w, h, &Keymap::load(None).0)
}

fn screen_with(state: &AppState, w: u16, h: u16, keymap: &Keymap) -> String {
    let (theme, _) = Theme::load("dark", Palette::None);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| trailtop::ui::render(f, state, &theme, keymap)).unwrap();
    format!("{}", terminal.backend())
}

fn state_with(actions: &[Action]) -> AppState {
    let mut s = AppState::new(Threshold::Contamination(0.01));
    s.now = START + 2 * 86_400;
    s.on_snapshot(snapshot());
    for a in actions {
        s.update(*a);
    }
    s
}

#[test]
fn views_at_both_sizes() {
    let cases: &[(&str, &[Action])] = &[
        ("anomalies", &[]),
        ("entities", &[Action::ViewEntities]),
        ("entities_open", &[Action::ViewEntities, Action::Open, Action::Down]),
        ("entities_by_address", &[Action::ViewEntities, Action::GroupBy]),
        ("tail", &[Action::ViewTail]),
        ("model", &[Action::ViewModel]),
        ("detail", &[Action::Open]),
        ("json", &[Action::Open, Action::Open]),
        ("help", &[Action::Help]),
        ("pivot_key", &[Action::Open, Action::PivotAccessKey]),
        ("pivot_session", &[Action::Open, Action::PivotSession]),
        ("pivot_address", &[Action::Open, Action::PivotAddress]),
        ("pivot_around", &[Action::Open, Action::PivotAround]),
    ];
    for (name, actions) in cases {
        let s = state_with(actions);
        for (w, h) in [(80, 24), (200, 50)] {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&s, w, h));
        }
    }
}

#[test]
fn too_small_says_so() {
    let s = state_with(&[]);
    let text = screen(&s, 50, 12);
    assert!(text.contains("terminal too small: 50x12, need 60x16"), "{text}");
}

#[test]
fn the_top_anomaly_is_an_attack_and_is_flagged() {
    let s = state_with(&[]);
    let top = s.selected_row().unwrap();
    assert!(top.flagged);
    // An attack: its window holds records the generator labelled malicious.
    let attack = attack_ids();
    let events = s.snap.window_events(top);
    assert!(
        !events.is_empty() && events.iter().any(|e| attack.contains(&*e.id)),
        "top row {} is benign",
        top.row.entity
    );
    assert!(top.row.source_ip.starts_with(|c: char| c.is_ascii_digit()));
    let text = screen(&s, 160, 48);
    assert!(text.contains("DEMO DATA"));
    assert!(text.contains("ranked entity-windows"));
}

#[test]
fn every_key_in_the_help_is_reachable_at_80x24() {
    let (keymap, _) = Keymap::load(None);
    let mut s = state_with(&[Action::Help]);
    s.help_overflow = keymap.bindings.len().saturating_sub(trailtop::ui::help_rows(24));
    assert!(s.help_overflow > 0, "the help is taller than 24 rows");
    let first = screen(&s, 80, 24);
    assert!(first.contains("↓ more") && first.contains("j/k scroll"), "{first}");
    // Page by page to the end: every binding is on some page.
    let mut pages = vec![first];
    while pages.last().is_some_and(|p| p.contains("↓ more")) && pages.len() < 10 {
        s.update(Action::PageDown);
        pages.push(screen(&s, 80, 24));
    }
    for b in &keymap.bindings {
        assert!(pages.iter().any(|p| p.contains(&b.desc)), "{:?} never shown", b.desc);
    }
    assert!(!pages.last().unwrap().contains("↓ more"), "the last page ends the list");
}

#[test]
fn a_window_whose_older_records_are_not_held_says_why() {
    let mut s = state_with(&[Action::Open]);
    let d = s.detail.as_mut().unwrap();
    let all = d.row.as_ref().unwrap().row.events;
    assert!(all > 2 && d.events.len() as u64 == all, "the fixture holds every record");
    d.events.truncate(2);
    d.held = 2;
    let start = d.row.as_ref().unwrap().row.window_start;
    let text = screen(&s, 160, 48);
    assert!(text.contains(&format!("2 of {all} records, the rest are no longer held")), "{text}");
    // The budget dropped records of this window: the title names it.
    let mut snap = (*s.snap).clone();
    snap.evicted_until = Some(start + 60);
    s.snap = std::sync::Arc::new(snap.clone());
    let text = screen(&s, 160, 48);
    assert!(text.contains(&format!("2 of {all} records, the rest aged out of memory (--memory)")), "{text}");
    // A window restored from before a restart, with nothing evicted since.
    snap.evicted_until = None;
    snap.restored = Some(trailtop::pipeline::saved::RestoredView {
        windows: 10,
        principals: 2,
        events: 100,
        saved_at: START,
        model: true,
    });
    s.snap = std::sync::Arc::new(snap);
    s.detail.as_mut().unwrap().events.clear();
    s.detail.as_mut().unwrap().held = 0;
    let text = screen(&s, 160, 48);
    assert!(text.contains(&format!("0 of {all} records: the rest were read before the restart")), "{text}");
    assert!(text.contains("restored 10 windows, 2 principals, model"), "the header says what was restored: {text}");
}

/// Every default key rebound: the console is driven through every view with the new keys
/// alone, the old ones do nothing, and the footer, titles and help show the new ones.
#[test]
fn every_key_can_be_rebound_and_the_hints_follow() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let (mut keymap, _) = Keymap::load(None);
    // Function keys, ctrl-letters and ctrl-digits: the defaults are replaced, so a default
    // among them (ctrl-f) is fresh too.
    let mut fresh = (1..=12)
        .map(|n| format!("f{n}"))
        .chain(('a'..='z').map(|c| format!("ctrl-{c}")))
        .chain(('0'..='9').map(|c| format!("ctrl-{c}")));
    let mut new_key = std::collections::HashMap::new();
    for b in &mut keymap.bindings {
        let k = fresh.next().expect("enough fresh keys");
        new_key.insert(format!("{:?}", b.action), k.clone());
        b.keys = vec![k];
    }
    let key_of = |action: Action| new_key[&format!("{action:?}")].clone();
    let event_for = |name: &str| match name.strip_prefix("ctrl-") {
        Some(c) => KeyEvent::new(KeyCode::Char(c.chars().next().unwrap()), KeyModifiers::CONTROL),
        None => KeyEvent::new(KeyCode::F(name[1..].parse().unwrap()), KeyModifiers::NONE),
    };
    let mut s = state_with(&[]);
    let press =
        |s: &mut AppState, action: Action| s.on_key(event_for(&key_of(action)), |layer, k| keymap.action_for(layer, k));
    // The old keys are gone.
    s.on_key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE), |layer, k| keymap.action_for(layer, k));
    s.on_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE), |layer, k| keymap.action_for(layer, k));
    assert!(!s.quit && s.view == View::Anomalies);
    for (action, view) in [
        (Action::ViewEntities, View::Entities),
        (Action::ViewTail, View::Tail),
        (Action::ViewModel, View::Model),
        (Action::ViewAnomalies, View::Anomalies),
        (Action::NextView, View::Entities),
        (Action::PrevView, View::Anomalies),
    ] {
        press(&mut s, action);
        assert_eq!(s.view, view, "{action:?}");
    }
    press(&mut s, Action::Down);
    assert_eq!(s.selected_row().map(|r| r.rank), Some(2));
    press(&mut s, Action::Open);
    assert!(s.detail.is_some());
    press(&mut s, Action::Back);
    assert!(s.detail.is_none());
    press(&mut s, Action::MarkFalsePositive);
    press(&mut s, Action::MarkScopePrincipal);
    let cmds = press(&mut s, Action::MarkConfirm);
    assert!(matches!(
        &cmds[..],
        [Command::Pipeline(trailtop::pipeline::PipelineCommand::Label(r))] if r.scope == trailtop::model::feedback::Scope::Principal
    ));
    press(&mut s, Action::ViewEntities);
    press(&mut s, Action::ViewTail);
    let tail = screen_with(&s, 160, 48, &keymap);
    assert!(tail.contains(&format!("({} to pause)", key_of(Action::Follow))), "{tail}");
    press(&mut s, Action::ViewEntities);
    let entities = screen_with(&s, 160, 48, &keymap);
    assert!(entities.contains(&format!("{} reverse", key_of(Action::SortReverse))), "{entities}");
    for action in [Action::Help, Action::Filter, Action::Open, Action::Quit] {
        assert!(entities.contains(&format!("{} ", key_of(action))), "{action:?} hint: {entities}");
    }
    assert!(!entities.contains("? help") && !entities.contains("q quit"), "{entities}");
    press(&mut s, Action::Help);
    // The dialog's keys are the last in the help, which is taller than 48 rows: scroll down
    // (the console loop sets how far it can scroll from the terminal's height).
    s.help_overflow = keymap.bindings.len().saturating_sub(trailtop::ui::help_rows(48));
    press(&mut s, Action::Bottom);
    let help = screen_with(&s, 160, 48, &keymap);
    assert!(help.contains(&key_of(Action::MarkConfirm)) && help.contains("dialog: record"), "{help}");
    press(&mut s, Action::Quit);
    press(&mut s, Action::Quit);
    assert!(s.quit, "quit by its new key");
}

/// The drill-down listed a window's records without saying which of them its rules fired on:
/// an analyst had to open each record's JSON to find the StopLogging among the Describes.
#[test]
fn the_drill_down_marks_the_records_a_rule_fired_on() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title: Trail Stopped\nid: t-1\nlogsource: {product: aws, service: cloudtrail}\nlevel: high\n\
                detection:\n  sel: {eventName: StopLogging}\n  condition: sel\n";
    std::fs::write(dir.path().join("stop.yml"), rule).unwrap();
    let level = trailtop::sigma::Level::Informational;
    let rules = Arc::new(trailtop::sigma::Rules::load(&[dir.path().to_path_buf()], &[], level).0);
    let mut s = AppState::new(Threshold::Contamination(0.01));
    s.now = START + 2 * 86_400;
    s.on_snapshot(snapshot_with(Some(rules)));
    for _ in 0..100 {
        if s.selected_row().is_some_and(|r| !r.signatures.is_empty()) {
            break;
        }
        s.update(Action::Down);
    }
    assert!(s.selected_row().is_some_and(|r| !r.signatures.is_empty()), "a window with the rule's hit");
    s.update(Action::Open);
    let text = screen(&s, 160, 48);
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("⚑ high: Trail Stopped")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains("StopLogging"), "{text}");
    assert!(!text.lines().any(|l| l.contains("DeleteTrail") && l.contains("⚑ high")), "{text}");
}

/// The explanation spoke in feature names ("events 400 (RARE…)") before saying what happened;
/// the rules did not say which records fired them.
#[test]
fn the_explanation_leads_with_what_happened_and_rules_name_their_records() {
    let mut s = state_with(&[]);
    let at = s.lists.anomalies.iter().position(|&i| s.snap.rows[i].rules.contains(&"logging-tampering")).unwrap();
    for _ in 0..at {
        s.update(Action::Down);
    }
    s.update(Action::Open);
    let d = s.detail.as_ref().unwrap();
    let first = &d.evidence[0];
    assert!(first.starts_with("logging-tampering: "), "{first}");
    for call in ["StopLogging", "DeleteTrail", "UTC", "record"] {
        assert!(first.contains(call), "{call} in {first}");
    }
    let text = screen(&s, 200, 50);
    let (what, why) = (text.find("what happened:").unwrap(), text.find("why the model ranked it").unwrap());
    assert!(what < why, "{text}");
    let stop = text.lines().find(|l| l.contains(" StopLogging ")).unwrap();
    assert!(stop.contains("⚑ logging-tampering"), "the record is marked with the rule: {stop}");
    let describe = text.lines().find(|l| l.contains(" DescribeTrails ")).unwrap();
    assert!(!describe.contains("logging-tampering"), "{describe}");
}

/// The Entities view listed 697 windows one by one; grouped, a principal is one line, its
/// windows beneath it when opened.
#[test]
fn entities_group_windows_under_their_principal_and_open_and_fold() {
    use trailtop::app::state::EntityLine;
    let mut s = state_with(&[Action::ViewEntities]);
    let principals = s.snap.rows.iter().map(|r| &r.row.principal).collect::<std::collections::BTreeSet<_>>().len();
    assert_eq!(s.lists.entities.len(), principals);
    assert!(s.lists.entities.iter().all(|l| matches!(l, EntityLine::Principal(_))));
    // Sorted by events: the first principal holds the busiest window.
    let busiest = s.snap.rows.iter().max_by_key(|r| r.row.events).unwrap();
    assert_eq!(s.lists.groups[0].key, busiest.row.principal);
    let windows = s.lists.groups[0].windows.len();
    assert!(windows > 1, "the busiest principal has several windows");
    s.update(Action::Open);
    assert!(s.detail.is_none(), "Enter on a principal opens its group, not a drill-down");
    assert_eq!(s.lists.entities.len(), principals + windows);
    assert_eq!(s.lists.entities[1], EntityLine::Window(s.lists.groups[0].windows[0]));
    s.update(Action::Down);
    s.update(Action::Down);
    let second = s.lists.groups[0].windows[1];
    s.update(Action::Open);
    let d = s.detail.as_ref().unwrap();
    assert_eq!(d.row.as_ref().unwrap().row, s.snap.rows[second].row, "Enter on a window drills into it");
    s.update(Action::Back);
    assert!(s.detail.is_none());
    s.update(Action::Back);
    assert_eq!(s.lists.entities.len(), principals, "Esc folds the group");
    assert_eq!(s.cursors[View::Entities].row, 0, "and the cursor is on its principal");
    // The selection stays on the principal's line when a new snapshot comes.
    s.update(Action::Down);
    let on = s.lists.groups[1].key.clone();
    s.cursors[View::Entities].moved = true;
    s.on_snapshot(snapshot());
    let EntityLine::Principal(g) = s.lists.entities[s.cursors[View::Entities].row] else { panic!("a principal") };
    assert_eq!(s.lists.groups[g].key, on);
    // Grouped by address, the console brute force from one address across many users is one
    // line, its principals counted.
    s.update(Action::GroupBy);
    let spray = s.lists.groups.iter().find(|g| s.snap.rows[g.best].rules.contains(&"console-brute-force")).unwrap();
    assert!(spray.windows.iter().all(|&i| s.snap.rows[i].row.source_ip == spray.key));
    assert!(spray.others >= 5, "{} principals from {}", spray.others, spray.key);
    let text = screen(&s, 200, 50);
    assert!(text.contains(&format!("{} principals", spray.others)), "{text}");
}

/// `--alert` in the console: the header says where alerts go and whether they get there.
#[test]
fn the_header_shows_each_alert_sink_and_its_state() {
    use trailtop::alert::{SinkState, SinkView};
    let mut s = state_with(&[]);
    s.sinks = vec![
        SinkView { name: "slack+https://hooks.slack.com/…".into(), sent: 3, ..Default::default() },
        SinkView {
            name: "syslog+tcp://siem:6514".into(),
            state: SinkState::Failing,
            failed: 4,
            spooled: 2,
            last_error: Some("siem:6514: Connection refused".into()),
            ..Default::default()
        },
    ];
    let wide = screen(&s, 240, 30);
    let header = wide.lines().next().unwrap();
    assert!(header.contains("alerts slack+https://hooks.slack.com/… [ok, 3 sent]"), "{header}");
    assert!(
        header.contains("alerts syslog+tcp://siem:6514 [failing, 2 spooled: siem:6514: Connection refused]"),
        "{header}"
    );
}

/// `/event:StopLogging` on the anomaly list keeps the windows that stopped a trail, and the
/// title says how many of how many; a misspelled field is said in the bar.
#[test]
fn the_filter_keeps_windows_with_a_matching_record_and_says_n_of_m() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut s = state_with(&[]);
    let keymap = Keymap::load(None).0;
    let type_in = |s: &mut AppState, text: &str| {
        s.update(Action::Filter);
        for c in text.chars() {
            s.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), |l, k| keymap.action_for(l, k));
        }
        s.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), |l, k| keymap.action_for(l, k));
    };
    type_in(&mut s, "event:StopLogging");
    let total = s.snap.rows.len();
    let kept = s.lists.anomalies.len();
    assert!((1..5).contains(&kept), "{kept}");
    let text = screen(&s, 160, 48);
    assert!(text.contains(&format!(" {kept} of {total} ranked entity-windows")), "{text}");
    assert!(text.contains("[logging-tampering"), "the trail stopped is there: {text}");
    type_in(&mut s, " evnt:Get*");
    let text = screen(&s, 160, 48);
    assert!(text.contains("unknown field 'evnt:'"), "{text}");
}

/// A watched folder of old files showed "live, lag 1002d"; an empty one showed "live".
#[test]
fn the_header_dates_an_archive_and_says_when_it_waits() {
    let mut s = state_with(&[]);
    let mut snap = (*s.snap).clone();
    snap.sources[0].newest_event = Some(START);
    s.now = START + 853 * 86_400 + 3600;
    s.snap = std::sync::Arc::new(snap.clone());
    let header = screen(&s, 200, 30).lines().next().unwrap().to_owned();
    assert!(header.contains("[live, newest event 2024-03-04 00:00 UTC (853 days ago)]"), "{header}");
    snap.sources[0].newest_event = None;
    s.snap = std::sync::Arc::new(snap);
    let header = screen(&s, 200, 30).lines().next().unwrap().to_owned();
    assert!(header.contains("[live, waiting for events]"), "{header}");
}

/// The dialog said "this entity" without saying which; a window a principal-wide false
/// positive covers showed nothing.
#[test]
fn the_mark_dialog_says_what_each_scope_covers_and_covered_windows_show_fp() {
    let s = state_with(&[Action::MarkFalsePositive]);
    let text = screen(&s, 160, 48);
    let top = &s.snap.rows[0].row;
    let who = trailtop::text::short_principal(&top.principal);
    assert!(text.contains(&format!("this entity: {who} from {}, any hour", top.source_ip)), "{text}");
    assert!(text.contains(&format!("this principal everywhere: {who}, any address")), "{text}");
    assert!(text.contains("these event names (") && text.contains("), no other calls"), "{text}");
    let mut s = state_with(&[]);
    let mut snap = (*s.snap).clone();
    std::sync::Arc::make_mut(&mut snap.rows)[1].suppressed = true;
    s.on_snapshot(std::sync::Arc::new(snap));
    let text = screen(&s, 160, 48);
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("[FP]")).collect();
    assert_eq!(rows.len(), 1, "{text}");
}

/// The dialog at 80×24 fits the screen and keeps the keys' line.
#[test]
fn the_mark_dialog_fits_80x24() {
    let s = state_with(&[Action::MarkFalsePositive]);
    let text = screen(&s, 80, 24);
    assert!(text.contains("┌ false positive") && text.contains("mark as false positive and retrain"), "{text}");
}
