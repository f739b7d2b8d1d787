//! Sigma benchmark: `trailtop scan` over generated gzipped files with and without every rule in
//! `../shared/sigma` (795 CloudTrail rules from SigmaHQ and Suzaku), in alternating runs, and
//! what the rules add. Needs `../shared` (it says so and stops without it).
//!
//! `cargo bench --bench sigma`; `TRAILTOP_BENCH_EVENTS` (default 1,000,000),
//! `TRAILTOP_BENCH_PAIRS` (default 3).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn main() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigma");
    if !rules.is_dir() {
        println!("sigma benchmark: {} is absent; nothing measured", rules.display());
        return;
    }
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (events, pairs) = (env("TRAILTOP_BENCH_EVENTS", 1_000_000), env("TRAILTOP_BENCH_PAIRS", 3));
    let bin = env!("CARGO_BIN_EXE_trailtop");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("trail");
    let status = Command::new(bin)
        .args(["gen", "--out", data.to_str().unwrap(), "--events", &events.to_string(), "--days", "7"])
        .status()
        .expect("run trailtop gen");
    assert!(status.success());
    let scan = |with_rules: bool| {
        let mut cmd = Command::new(bin);
        cmd.env("TRAILTOP_DATA_DIR", dir.path().join("state")).env("TRAILTOP_CONFIG_HOME", dir.path().join("config"));
        cmd.args([
            "scan",
            data.to_str().unwrap(),
            "--labels-dir",
            "none",
            "--format",
            "jsonl",
            "--output",
            "/dev/null",
        ]);
        if with_rules {
            cmd.args(["--sigma", rules.to_str().unwrap()]);
        }
        let t = Instant::now();
        let out = cmd.output().expect("run trailtop scan");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (t.elapsed().as_secs_f64(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    println!("sigma benchmark: {events} generated events, scan without and with {}", rules.display());
    let mut ratios = Vec::new();
    for pair in 1..=pairs {
        let (without, _) = scan(false);
        let (with, stderr) = scan(true);
        if pair == 1 {
            print!("  {}", stderr.lines().find(|l| l.contains("sigma:")).unwrap_or("?"));
            println!();
        }
        println!("  pair {pair}: without {without:.2} s, with {with:.2} s → {:.2}", with / without);
        ratios.push(with / without);
    }
    ratios.sort_by(f64::total_cmp);
    println!("  median ratio {:.2} (+{:.0}%)", ratios[ratios.len() / 2], (ratios[ratios.len() / 2] - 1.0) * 100.0);
}
