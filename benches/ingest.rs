//! Ingest benchmark: `trailtop scan` over a gzipped S3-layout folder against `zcat` alone on
//! the same files. Prints events/s, the wall-time ratio scan/zcat and scan's peak RSS.
//!
//! `cargo bench --bench ingest`; `TRAILTOP_BENCH_EVENTS` sets the size (default 1,000,000).

use std::process::Command;
use std::time::Instant;

fn main() {
    let events: u64 = std::env::var("TRAILTOP_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let bin = env!("CARGO_BIN_EXE_trailtop");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("trail");

    let t = Instant::now();
    let gen_status = Command::new(bin)
        .args(["gen", "--out", data.to_str().unwrap(), "--events", &events.to_string(), "--days", "7"])
        .status()
        .expect("run trailtop gen");
    assert!(gen_status.success());
    let gen_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let zcat = Command::new("sh")
        .arg("-c")
        .arg(format!("find '{}' -name '*.gz' -print0 | xargs -0 cat | zcat > /dev/null", data.display()))
        .status()
        .expect("run zcat");
    assert!(zcat.success());
    let zcat_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let scan = Command::new(bin)
        .args(["scan", data.to_str().unwrap(), "--format", "jsonl", "--output", "/dev/null", "--stats"])
        .output()
        .expect("run trailtop scan");
    let scan_secs = t.elapsed().as_secs_f64();
    assert!(scan.status.success(), "{}", String::from_utf8_lossy(&scan.stderr));
    let stderr = String::from_utf8_lossy(&scan.stderr);
    let rss = stderr.split("peak RSS ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or("?");

    println!("ingest benchmark: {events} events, gzipped S3 layout, 7 days");
    println!("  gen            {gen_secs:>7.2} s  ({:.0} events/s)", events as f64 / gen_secs);
    println!("  zcat           {zcat_secs:>7.2} s");
    println!("  trailtop scan  {scan_secs:>7.2} s  ({:.0} events/s), peak RSS {rss} MiB", events as f64 / scan_secs);
    println!("  scan / zcat    {:>7.2}", scan_secs / zcat_secs);
}
