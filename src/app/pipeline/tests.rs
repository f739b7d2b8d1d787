use std::time::{Duration, Instant};

use super::*;
use crate::features::EntityBy;

/// The header shows a source's errors and notes: whatever a server or a file name put in
/// them must not reach the terminal as escape sequences.
#[test]
fn source_errors_and_notes_are_scrubbed() {
    let (src_tx, src_rx) = crossbeam_channel::bounded(8);
    let (_cmd_tx, cmd_rx) = crossbeam_channel::bounded(1);
    let (snap_tx, snap_rx) = crossbeam_channel::bounded(4);
    let pipeline = Pipeline {
        data_dir: None,
        cfg: FeatureConfig { window_secs: 3600, by: EntityBy::Principal },
        model: ModelConfig::default(),
        tail_capacity: 10,
        source_names: vec!["s3://trail/".into()],
        demo: false,
    };
    std::thread::spawn(move || pipeline.run(src_rx, cmd_rx, snap_tx));
    let hostile = "AccessDenied: \x1b]0;pwned\x07\x1b[2Jno\u{202e}te\u{9b}31m";
    src_tx.send(SourceMsg::Status { source: 0, status: SourceStatus::Degraded(hostile.into()) }).unwrap();
    src_tx.send(SourceMsg::Note { source: 0, text: hostile.into() }).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let clean = "AccessDenied: ]0;pwned[2Jnote31m";
    loop {
        let snap = snap_rx.recv_timeout(Duration::from_secs(10)).expect("a snapshot");
        let src = &snap.sources[0];
        if src.note.is_some() && matches!(src.status, SourceStatus::Degraded(_)) {
            assert_eq!(src.status, SourceStatus::Degraded(clean.into()));
            assert_eq!(src.note.as_deref(), Some(clean));
            break;
        }
        assert!(Instant::now() < deadline, "no snapshot with both");
    }
}
