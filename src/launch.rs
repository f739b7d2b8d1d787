//! Starting the data path for the long-running commands, the console and `watch` alike: the
//! data dir and its lock, the log, the rules and databases, the sources and the pipeline
//! thread. What is started here runs the same way under both, so they can take turns on one
//! data dir.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use crossbeam_channel::{Receiver, Sender, bounded};

use crate::cli::{AwsArgs, RunArgs};
use crate::features::FeatureConfig;
use crate::model::{ModelConfig, Threshold};
use crate::parse::ParseOptions;
use crate::pipeline::{Pipeline, PipelineCommand, PipelineState, Snapshot};
use crate::source::aws::AwsOptions;
use crate::source::{SourceMsg, SourceSpec};

/// The data dir, and its lock while this process holds it.
pub struct DataDir {
    /// Where it is.
    pub path: PathBuf,
    /// `None` when another instance holds it: this one writes nothing there.
    pub lock: Option<std::fs::File>,
}

impl DataDir {
    /// Makes (private) and locks the data dir.
    pub fn open() -> anyhow::Result<DataDir> {
        let path = crate::config::paths::data_dir();
        crate::sys::private_dir(&path)?;
        // One writer per data dir: a second instance reads it and writes nothing, so labels,
        // the model, checkpoints and alert spools are never written by two at once.
        let lock = crate::sys::lock_data_dir(&path);
        Ok(DataDir { path, lock })
    }

    /// Whether another instance holds the lock.
    pub fn read_only(&self) -> bool {
        self.lock.is_none()
    }

    /// What to tell the user when another instance holds it.
    pub fn lock_notice(&self) -> Option<String> {
        self.read_only().then(|| {
            format!(
                "another trailtop uses {}: this one writes nothing there (labels stay in memory, checkpoints are not kept, no alerts are sent)",
                self.path.display()
            )
        })
    }
}

/// The sources' AWS options. An S3 checkpoint without the state saved with it (a damaged or
/// deleted state file, or one from another version) would resume past every event the model
/// learned from, leaving it no baseline: the range is then read again, as `--from-scratch` does.
pub fn aws_options(aws: &AwsArgs, state_dir: Option<PathBuf>, baseline: bool) -> AwsOptions {
    let mut opts = aws.options(state_dir);
    if !baseline && !opts.from_scratch && opts.state_dir.is_some() {
        opts.from_scratch = true;
    }
    opts
}

/// The pipeline, running.
pub struct Running {
    /// Its snapshots.
    pub snapshots: Receiver<Arc<Snapshot>>,
    /// Commands to it; dropping this ends it (after it saves).
    pub commands: Sender<PipelineCommand>,
    /// Disconnects when the pipeline thread has ended, normally or not.
    pub ended: Receiver<()>,
    /// Where the flagged set is cut.
    pub threshold: Threshold,
}

/// Starts the sources and the pipeline thread for `run`. `on_start` runs first on the
/// pipeline thread (the console's fault injection for its tests).
pub fn start(
    run: &RunArgs,
    dir: &DataDir,
    geo: Option<Arc<crate::geo::Geo>>,
    on_start: fn(),
) -> anyhow::Result<Running> {
    let specs: Vec<SourceSpec> = if run.sources.is_empty() {
        vec![SourceSpec::Demo]
    } else {
        run.sources.iter().map(|s| SourceSpec::parse(s)).collect::<anyhow::Result<_>>()?
    };
    tracing::info!(?specs, "starting");
    let cfg = FeatureConfig { window_secs: run.features.window, by: run.features.by };
    let threshold = run.alert_budget.map_or(Threshold::Contamination(0.01), Threshold::Budget);
    let opts = ParseOptions { keep_raw: true, ..Default::default() };
    let sigma = crate::sigma::Rules::load_given(&run.sigma.folders(), &run.sigma.ignore, run.sigma.level);
    let sigma_summary = sigma.as_ref().map(|(_, report)| (report.summary(), !report.problems.is_empty()));
    if let Some((line, _)) = &sigma_summary {
        tracing::info!("{line}");
    }
    // The header shows the line only when a rule file did not load.
    let sigma_notice = sigma_summary.and_then(|(line, problems)| problems.then_some(line));
    let read_only = dir.read_only();
    // Made before the sources start: whether it restored a baseline decides where they start.
    let pipeline = PipelineState::new(Pipeline {
        data_dir: Some(dir.path.clone()),
        read_only,
        cfg,
        model: ModelConfig { threshold, always_flag: run.always_flag.0, ..Default::default() },
        tail_capacity: 200_000,
        memory: run.memory,
        retain: Some(run.retain),
        source_names: specs.iter().map(ToString::to_string).collect(),
        demo: specs.contains(&SourceSpec::Demo),
        sigma: sigma.map(|(rules, _)| Arc::new(rules)),
        sigma_notice,
        geo,
        retrain: run.retrain,
    });
    let (src_tx, src_rx) = bounded::<SourceMsg>(256);
    let aws = aws_options(&run.aws, (!read_only).then(|| dir.path.clone()), pipeline.has_baseline());
    if aws.from_scratch && !run.aws.from_scratch && specs.iter().any(|s| matches!(s, SourceSpec::S3 { .. })) {
        tracing::info!("no saved state restored: S3 sources read their range again, not from their checkpoints");
    }
    let spawn = crate::source::SpawnOptions {
        parse: opts,
        follow: true,
        demo_speed: run.speed,
        aws,
        since: run.since.map(|t| chrono::Utc::now().timestamp() - t),
    };
    for (id, spec) in specs.iter().enumerate() {
        crate::source::spawn(id, spec, &spawn, src_tx.clone());
    }
    drop(src_tx);
    let (snap_tx, snapshots) = bounded(4);
    let (commands, cmd_rx) = bounded(16);
    let (ended_tx, ended) = bounded::<()>(0);
    std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || {
            let _ended = ended_tx;
            on_start();
            pipeline.run(src_rx, cmd_rx, snap_tx);
        })
        .context("cannot start the pipeline thread")?;
    Ok(Running { snapshots, commands, ended, threshold })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// A restarted console whose state file was damaged or deleted resumed at its S3
    /// checkpoint with nothing learned: every event before it was never seen again. Without a
    /// restored baseline it now reads the range again.
    #[test]
    fn a_checkpoint_without_a_restored_baseline_is_not_resumed() {
        let args =
            crate::cli::AwsArgs { profile: None, region: None, endpoint_url: None, poll: 60, from_scratch: false };
        let dir = Some(PathBuf::from("/data"));
        assert!(super::aws_options(&args, dir.clone(), false).from_scratch, "no baseline: read again");
        assert!(!super::aws_options(&args, dir, true).from_scratch, "baseline restored: resume");
        // Without a data dir there is no checkpoint to resume at, nothing to say.
        assert!(!super::aws_options(&args, None, false).from_scratch);
        let asked = crate::cli::AwsArgs { from_scratch: true, ..args };
        assert!(super::aws_options(&asked, Some(PathBuf::from("/data")), true).from_scratch);
    }
}
