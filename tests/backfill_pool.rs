//! A back-fill much larger than the source channel, on a machine with two cores: the folder
//! source must not wait inside the pool the pipeline's model needs, or both stop for good
//! (seen on a 2-core jump host: "back-filling 0/4124 · 0 events" forever, CPU idle).
//!
//! Its own test binary, because the global rayon pool can be sized once per process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use trailtop::features::{EntityBy, FeatureConfig};
use trailtop::generate::write::Layout;
use trailtop::parse::ParseOptions;
use trailtop::pipeline::{Pipeline, Snapshot};
use trailtop::source::{SourceSpec, SpawnOptions};

/// The account the issue was reproduced with: 100k generated events in 3,967 gzipped files,
/// slow enough to parse in a debug build that the model retrains mid-back-fill.
const EVENTS: u64 = 100_000;

#[test]
fn a_large_folder_backfills_on_a_two_thread_pool() {
    rayon::ThreadPoolBuilder::new().num_threads(2).build_global().expect("first use of the global pool");
    let dir = tempfile::tempdir().unwrap();
    let start = 1_709_510_400; // 2024-03-04
    let mut g = trailtop::generate::Generator::for_total(1, start, 7, EVENTS, trailtop::generate::ALL_SCENARIOS);
    let sum = trailtop::generate::write::write_all(&mut g, start + 7 * 86_400, dir.path(), Layout::S3, None).unwrap();
    assert!(sum.files > 3_000, "{} files", sum.files);
    // The console's channel sizes: 256 source messages, 4 snapshots.
    let (src_tx, src_rx) = bounded(256);
    let spawn = SpawnOptions {
        parse: ParseOptions { keep_raw: true, ..Default::default() },
        follow: true,
        demo_speed: 1.0,
        aws: Default::default(),
        since: None,
    };
    trailtop::source::spawn(0, &SourceSpec::Path(dir.path().to_path_buf()), &spawn, src_tx);
    let (_cmd_tx, cmd_rx) = bounded(16);
    let (snap_tx, snap_rx) = bounded::<Arc<Snapshot>>(4);
    let pipeline = Pipeline {
        cfg: FeatureConfig { window_secs: 3600, by: EntityBy::Principal },
        tail_capacity: 1_000,
        ..Pipeline::in_memory("folder")
    };
    std::thread::spawn(move || pipeline.run(src_rx, cmd_rx, snap_tx));
    // Generous: the whole back-fill takes seconds; a deadlock never ends.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    while Instant::now() < deadline {
        if let Ok(snap) = snap_rx.recv_timeout(Duration::from_secs(1)) {
            seen = snap.events;
            if seen == sum.events && !snap.rows.is_empty() {
                return;
            }
        }
    }
    panic!("back-fill stalled at {seen} of {} events", sum.events);
}
