//! Soak: the console's pipeline (same value, same budgets, same allocator) fed simulated weeks
//! of the demo's traffic, hour by hour, publishing a snapshot every few simulated hours (the
//! console keeps the latest) and saving its state every simulated day. Prints resident memory
//! per simulated day and the peak, so that growth after the first days shows.
//!
//! `cargo bench --bench soak`. `TRAILTOP_SOAK_EVENTS` (default 10,000,000),
//! `TRAILTOP_SOAK_RATE` (events per hour, default the demo's 2,400), `TRAILTOP_SOAK_PUBLISH`
//! (simulated hours between snapshots, default 6), `TRAILTOP_SOAK_MEMORY` (MiB, default 256),
//! `TRAILTOP_SOAK_RETAIN` (days, default 14).

use std::sync::Arc;
use std::time::Instant;

use trailtop::generate::Generator;
use trailtop::parse::{ParseOptions, ParseStats, parse_document};
use trailtop::pipeline::{Pipeline, PipelineState};
use trailtop::source::SourceMsg;
use trailtop::source::demo::DEMO_RATE;
use trailtop::sys::{peak_rss_kib, rss_kib};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let target: u64 = env("TRAILTOP_SOAK_EVENTS", 10_000_000);
    let rate: f64 = env("TRAILTOP_SOAK_RATE", DEMO_RATE);
    let publish_hours: u64 = env("TRAILTOP_SOAK_PUBLISH", 6);
    let memory: usize = env::<usize>("TRAILTOP_SOAK_MEMORY", 256) << 20;
    let retain_days: i64 = env("TRAILTOP_SOAK_RETAIN", 14);
    let dir = tempfile::tempdir().expect("temp dir");
    // The simulated period ends now: records may not be stamped in the future.
    let days = (target as f64 / rate / 24.0).ceil() as i64 + 1;
    let start = (chrono::Utc::now().timestamp() / 86_400 - days) * 86_400;
    let mut st = PipelineState::new(Pipeline {
        data_dir: Some(dir.path().to_path_buf()),
        tail_capacity: 200_000,
        memory,
        retain: Some(retain_days * 86_400),
        demo: true,
        ..Pipeline::in_memory("demo")
    });
    let mut g = Generator::with_rate(1, start, rate);
    let opts = ParseOptions { keep_raw: true, ..Default::default() };
    println!(
        "soak: {target} events at {rate}/h ({days} simulated days), --memory {} MiB, --retain {retain_days}d, a snapshot every {publish_hours} h",
        memory >> 20
    );
    println!("  day     events   windows  tail records  tail MiB   RSS MiB  peak MiB  wall s");
    let started = Instant::now();
    let (mut events, mut hour, mut buf) = (0u64, 0u64, Vec::new());
    let mut held = None;
    let (mut snapshot_ms, mut save_ms): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    while events < target {
        let (mut out, mut stats) = (Vec::new(), ParseStats::default());
        for e in g.next_hour() {
            buf.clear();
            serde_json::to_writer(&mut buf, &e.record).expect("serialize");
            parse_document(&buf, &opts, &mut out, &mut stats);
        }
        events += out.len() as u64;
        st.ingest(SourceMsg::Events { source: 0, events: out, stats, error: None });
        hour += 1;
        if hour % publish_hours == 0 {
            let t = Instant::now();
            // The console holds the latest snapshot while the next is made.
            let snap = Arc::new(st.publish());
            snapshot_ms.push(t.elapsed().as_secs_f64() * 1e3);
            held = Some(snap);
        }
        if hour % 24 == 0 {
            let t = Instant::now();
            st.save();
            save_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let snap = held.as_ref().expect("published");
            let day = hour / 24;
            if day <= 3 || day % 7 == 0 || events >= target {
                println!(
                    "  {day:>3} {events:>10} {:>9} {:>13} {:>9.0} {:>9} {:>9} {:>7.0}",
                    snap.rows.len(),
                    snap.tail.len(),
                    snap.tail.iter().map(|e| e.approx_bytes()).sum::<usize>() as f64 / 1048576.0,
                    rss_kib() / 1024,
                    peak_rss_kib() / 1024,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    snapshot_ms.sort_by(f64::total_cmp);
    save_ms.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p) as usize];
    let state_mib = std::fs::read_dir(dir.path())
        .expect("data dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>() as f64
        / 1048576.0;
    println!(
        "  {events} events in {:.0} s; peak RSS {} MiB; publishing a snapshot p50 {:.0} ms, p99 {:.0} ms; saving the state p50 {:.0} ms, max {:.0} ms; state on disk {state_mib:.1} MiB",
        started.elapsed().as_secs_f64(),
        peak_rss_kib() / 1024,
        q(&snapshot_ms, 0.5),
        q(&snapshot_ms, 0.99),
        q(&save_ms, 0.5),
        q(&save_ms, 1.0)
    );
}
