//! Whole screens of the console, rendered with ratatui's `TestBackend` from a deterministic
//! generated day, at 80x24 (an SSH session) and 160x48.

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use trailtop::app::state::AppState;
use trailtop::config::action::Action;
use trailtop::config::keymap::Keymap;
use trailtop::config::theme::{Palette, Theme};
use trailtop::features::FeatureConfig;
use trailtop::generate::{ALL_SCENARIOS, Generator};
use trailtop::model::{ModelConfig, Threshold};
use trailtop::parse::{ParseOptions, ParseStats, parse_document};
use trailtop::pipeline::{Pipeline, PipelineState, Snapshot};
use trailtop::source::SourceMsg;
use trailtop::source::SourceStatus;

const START: i64 = 1_709_510_400;

/// Two days of generated traffic through the real pipeline, published once; the fields
/// that follow the wall clock (training time, source state) are then pinned, so the screens
/// do not change from run to run.
fn snapshot() -> Arc<Snapshot> {
    let mut g = Generator::for_total(4, START, 2, 6000, ALL_SCENARIOS);
    let mut st = PipelineState::new(Pipeline {
        data_dir: None,
        cfg: FeatureConfig::default(),
        model: ModelConfig::default(),
        tail_capacity: 10_000,
        source_names: vec!["demo".into()],
        demo: true,
    });
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
    snap.sources[0].newest_event = Some(end - 5);
    Arc::new(snap)
}

/// The ids of the records the generator made for attacks, in [`snapshot`]'s data.
fn attack_ids() -> std::collections::HashSet<String> {
    let mut g = Generator::for_total(4, START, 2, 6000, ALL_SCENARIOS);
    (0..48).flat_map(|_| g.next_hour()).filter(|e| e.label.is_some()).map(|e| e.record.event_id.clone()).collect()
}

fn screen(state: &AppState, w: u16, h: u16) -> String {
    let (theme, _) = Theme::load("dark", Palette::None);
    let (keymap, _) = Keymap::load(None);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| trailtop::ui::render(f, state, &theme, &keymap)).unwrap();
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
        ("tail", &[Action::ViewTail]),
        ("model", &[Action::ViewModel]),
        ("detail", &[Action::Open]),
        ("json", &[Action::Open, Action::Open]),
        ("help", &[Action::Help]),
    ];
    for (name, actions) in cases {
        let s = state_with(actions);
        for (w, h) in [(80, 24), (160, 48)] {
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
fn a_window_whose_older_records_left_the_tail_says_so() {
    let mut s = state_with(&[Action::Open]);
    let d = s.detail.as_mut().unwrap();
    let all = d.row.as_ref().unwrap().row.events;
    assert!(all > 2 && d.events.len() as u64 == all, "the fixture holds every record");
    d.events.truncate(2);
    let text = screen(&s, 160, 48);
    assert!(text.contains(&format!("2 of {all} records, the rest left the tail buffer")), "{text}");
}
