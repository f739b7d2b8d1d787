//! Whole screens of the console, rendered with ratatui's `TestBackend` from a deterministic
//! generated day, at 80x24 (an SSH session) and 160x48.

use std::collections::BTreeMap;
use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use trailtop::app::action::Action;
use trailtop::app::keymap::Keymap;
use trailtop::app::pipeline::{RatePoint, Snapshot, SourceView};
use trailtop::app::state::AppState;
use trailtop::features::{FeatureConfig, FeatureStore};
use trailtop::generate::{ALL_SCENARIOS, Generator};
use trailtop::model::{ModelConfig, Threshold, score_rows};
use trailtop::parse::{ParseOptions, ParseStats, parse_document};
use trailtop::source::SourceStatus;
use trailtop::ui::theme::{Palette, Theme};

const START: i64 = 1_709_510_400;

fn snapshot() -> Arc<Snapshot> {
    let mut g = Generator::for_total(4, START, 2, 6000, ALL_SCENARIOS);
    let cfg = FeatureConfig::default();
    let mut store = FeatureStore::new(cfg);
    let mut tail = Vec::new();
    let mut stats = ParseStats::default();
    let mut rates: BTreeMap<i64, RatePoint> = BTreeMap::new();
    let opts = ParseOptions { keep_raw: true, ..Default::default() };
    for _ in 0..48 {
        for e in g.next_hour() {
            let json = serde_json::to_vec(&e.record).unwrap();
            let mut evs = Vec::new();
            parse_document(&json, &opts, &mut evs, &mut stats);
            for ev in evs {
                store.add(&ev);
                let m = ev.time.div_euclid(60) * 60;
                let p = rates.entry(m).or_insert(RatePoint { minute: m, ..Default::default() });
                p.events += 1;
                p.errors += u32::from(ev.error_code.is_some());
                tail.push(Arc::new(ev));
            }
        }
    }
    let scored = score_rows(store.rows(), &ModelConfig::default()).unwrap();
    let end = START + 2 * 86_400;
    Arc::new(Snapshot {
        generation: 7,
        rows: Arc::new(scored.rows),
        cutoff: scored.cutoff,
        population: Arc::new(scored.population),
        rates: rates.into_values().collect(),
        sources: vec![SourceView {
            name: "demo".into(),
            status: SourceStatus::Live,
            newest_event: Some(end - 5),
            events: tail.len() as u64,
            last_error: None,
            note: None,
        }],
        events: tail.len() as u64,
        tail,
        stats,
        duplicates: 0,
        trained_at: Some(end),
        model_error: None,
        demo: true,
        feature_config: cfg,
        labels: 0,
        notice: None,
    })
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
    for _ in 0..3 {
        s.update(Action::PageDown);
    }
    let last = screen(&s, 80, 24);
    for b in &keymap.bindings {
        assert!(first.contains(&b.desc) || last.contains(&b.desc), "{:?} never shown", b.desc);
    }
    assert!(!last.contains("↓ more"), "{last}");
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
