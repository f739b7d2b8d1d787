//! Console benchmark: frame render time (p50/p99) of each view with ratatui's `TestBackend`
//! at 200x60, with 1,000,000 events ingested (the newest 200,000 held with their raw JSON, as
//! the console does) and 50,000 entity-windows ranked; the time from a key press to the next
//! frame; and peak RSS.
//!
//! `cargo bench --bench render`; `TRAILTOP_BENCH_EVENTS` sets the event count.

use std::sync::Arc;
use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use trailtop::app::state::AppState;
use trailtop::config::action::Action;
use trailtop::config::keymap::Keymap;
use trailtop::config::theme::{Palette, Theme};
use trailtop::features::{FeatureConfig, FeatureStore};
use trailtop::generate::{ALL_SCENARIOS, Generator};
use trailtop::model::{ModelConfig, Threshold, score_rows};
use trailtop::parse::{ParseOptions, ParseStats, parse_document};
use trailtop::pipeline::{RatePoint, Snapshot, SourceView};
use trailtop::source::SourceStatus;

const START: i64 = 1_709_510_400;
const TAIL: usize = 200_000;
const WINDOWS: usize = 50_000;

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q) as usize]
}

fn main() {
    let n: u64 = std::env::var("TRAILTOP_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let t = Instant::now();
    let mut g = Generator::for_total(5, START, 7, n, ALL_SCENARIOS);
    let cfg = FeatureConfig::default();
    let mut store = FeatureStore::new(cfg);
    let mut tail = std::collections::VecDeque::with_capacity(TAIL);
    let mut rates: std::collections::BTreeMap<i64, RatePoint> = Default::default();
    let mut stats = ParseStats::default();
    let opts = ParseOptions { keep_raw: true, ..Default::default() };
    let mut buf = Vec::new();
    let mut events = 0u64;
    while g.clock() < START + 7 * 86_400 {
        for e in g.next_hours(4).into_iter().flatten() {
            buf.clear();
            serde_json::to_writer(&mut buf, &e.record).unwrap();
            let mut out = Vec::with_capacity(1);
            parse_document(&buf, &opts, &mut out, &mut stats);
            for ev in out {
                store.add(&ev);
                let m = ev.time.div_euclid(60) * 60;
                rates.entry(m).or_insert(RatePoint { minute: m, ..Default::default() }).events += 1;
                if tail.len() == TAIL {
                    tail.pop_front();
                }
                tail.push_back(Arc::new(ev));
                events += 1;
            }
        }
    }
    let ingest_s = t.elapsed().as_secs_f64();
    // The generated week has a few thousand windows; repeat them across earlier weeks to rank
    // 50,000, as a long history would.
    let base = store.rows();
    let mut rows = Vec::with_capacity(WINDOWS);
    for i in 0..WINDOWS {
        let mut r = base[i % base.len()].clone();
        let shift = (i / base.len()) as i64 * 7 * 86_400;
        r.window_start -= shift;
        r.window_end -= shift;
        rows.push(r);
    }
    let t = Instant::now();
    let scored = score_rows(rows, &ModelConfig::default()).unwrap();
    let score_s = t.elapsed().as_secs_f64();
    let snap = Arc::new(Snapshot {
        generation: 1,
        rows: Arc::new(scored.rows),
        cutoff: scored.cutoff,
        population: Arc::new(scored.population),
        rates: rates.into_values().collect(),
        sources: vec![SourceView {
            name: "bench".into(),
            status: SourceStatus::Live,
            newest_event: None,
            events,
            last_error: None,
            note: None,
            counts: Default::default(),
        }],
        tail: trailtop::pipeline::TailView::from_events(tail.into_iter().collect()),
        events,
        stats,
        duplicates: 0,
        trained_at: Some(START),
        model_error: None,
        demo: false,
        feature_config: cfg,
        labels: 0,
        notice: None,
        ..Default::default()
    });
    let (theme, _) = Theme::load("dark", Palette::TrueColor);
    let (keymap, _) = Keymap::load(None);
    let mut state = AppState::new(Threshold::Contamination(0.01));
    let t = Instant::now();
    state.on_snapshot(Arc::clone(&snap));
    let apply_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    state.rebuild();
    let rebuild_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    println!(
        "console benchmark: {events} events ingested in {ingest_s:.1} s, {} windows scored in {score_s:.2} s",
        snap.rows.len()
    );
    println!(
        "  applying a snapshot (filter, sort, keep selection): {apply_ms:.1} ms; rebuilding the lists again: {rebuild_ms:.1} ms"
    );
    for (name, action) in [
        ("anomalies", Action::ViewAnomalies),
        ("entities", Action::ViewEntities),
        ("tail", Action::ViewTail),
        ("model", Action::ViewModel),
    ] {
        state.update(action);
        let mut times = Vec::new();
        for i in 0..200 {
            state.update(if i % 2 == 0 { Action::Down } else { Action::PageDown });
            let t = Instant::now();
            term.draw(|f| trailtop::ui::render(f, &state, &theme, &keymap)).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (p50, p99) = (percentile(&mut times.clone(), 0.5), percentile(&mut times, 0.99));
        println!("  render {name:<10} p50 {p50:>6.2} ms  p99 {p99:>6.2} ms");
    }
    // A drill-down into the best-ranked window whose records are still held, moving through
    // its records.
    state.update(Action::ViewAnomalies);
    state.update(Action::Top);
    state.update(Action::Open);
    for _ in 0..2_000 {
        if state.detail.as_ref().is_some_and(|d| !d.events.is_empty()) {
            break;
        }
        state.update(Action::Back);
        state.update(Action::Down);
        state.update(Action::Open);
    }
    let mut times = Vec::new();
    for _ in 0..200 {
        state.update(Action::Down);
        let t = Instant::now();
        term.draw(|f| trailtop::ui::render(f, &state, &theme, &keymap)).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (p50, p99) = (percentile(&mut times.clone(), 0.5), percentile(&mut times, 0.99));
    println!("  render {:<10} p50 {p50:>6.2} ms  p99 {p99:>6.2} ms", "drill-down");
    // Each pivot from the drill-down's record, over the records held: the key press to its frame.
    for (name, action) in [
        ("access key", Action::PivotAccessKey),
        ("session", Action::PivotSession),
        ("address", Action::PivotAddress),
        ("around", Action::PivotAround),
    ] {
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            state.update(action);
            term.draw(|f| trailtop::ui::render(f, &state, &theme, &keymap)).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            let found = state.detail.as_ref().map_or(0, |d| d.events.len());
            state.update(Action::Back);
            if times.len() == 1 {
                print!("  pivot {name:<10} {found:>7} records");
            }
        }
        let (p50, max) = (percentile(&mut times.clone(), 0.5), percentile(&mut times, 1.0));
        println!("  key press to frame p50 {p50:>7.2} ms  max {max:>7.2} ms");
    }
    state.update(Action::Back);
    state.update(Action::ViewAnomalies);
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        state.update(Action::Down);
        term.draw(|f| trailtop::ui::render(f, &state, &theme, &keymap)).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "  key press to frame (anomalies): p50 {:.2} ms  p99 {:.2} ms",
        percentile(&mut times.clone(), 0.5),
        percentile(&mut times, 0.99)
    );
    println!("  peak RSS {} MiB", trailtop::sys::peak_rss_kib() / 1024);
}
