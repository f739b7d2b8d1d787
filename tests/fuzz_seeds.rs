//! The fuzz targets' seed corpus (`fuzz/corpus/TARGET/seed-*`) and every input a fuzzing run
//! found to crash (`fuzz/regressions/TARGET/`), run through the same entry points as the
//! fuzzers (`trailtop::fuzzing`) as ordinary tests. The fuzzers themselves run in
//! `benches/fuzz.sh`, not in CI.

use std::path::Path;

#[test]
fn every_seed_and_regression_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut ran = 0;
    for (name, target) in trailtop::fuzzing::TARGETS {
        let mut seeds = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                if file.starts_with('.') || (dir == "corpus" && !file.starts_with("seed-")) {
                    continue;
                }
                let data = std::fs::read(&path).unwrap();
                if std::panic::catch_unwind(|| target(&data)).is_err() {
                    panic!("{name} panicked on {}", path.display());
                }
                seeds += 1;
            }
        }
        assert!(seeds > 0, "no seeds for {name}");
        ran += seeds;
    }
    assert!(ran >= 15, "{ran}");
}
