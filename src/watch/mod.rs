//! `trailtop watch`: the console's pipeline without a terminal. Sources → pipeline → alerts,
//! with metrics on the side, until SIGTERM or SIGINT: then the pipeline saves its state and
//! the sources' checkpoints, sends in flight get a few seconds, and the process exits 0. It
//! keeps the same data dir as the console, so the two can take turns on one account.

pub mod metrics;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{RecvTimeoutError, select, tick};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::alert::Alerts;
use crate::cli::WatchArgs;
use crate::launch::DataDir;
use crate::source::SourceStatus;

/// How long the pipeline may take to save at the end.
const SAVE_WAIT: Duration = Duration::from_secs(30);
/// How long sends in flight get at the end; the rest stay spooled.
const ALERT_GRACE: Duration = Duration::from_secs(5);
/// How often the loop looks at the signal flag.
const TICK: Duration = Duration::from_millis(200);

/// Log lines on stderr as journald reads them: `<N>` (the syslog priority) and the message,
/// no time (journald stamps lines itself), no colour.
struct Journald;

impl<S, N> FormatEvent<S, N> for Journald
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(w, "<{priority}>")?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Runs until a signal; an error when it cannot start or the pipeline dies.
pub fn run(args: WatchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.run.sources.is_empty(), "watch needs a source (a folder, s3://…, lookup://… or demo)");
    let dir = DataDir::open()?;
    let appender = tracing_appender::rolling::never(&dir.path, "trailtop.log");
    let (file, _log_guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILTOP_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false).event_format(Journald))
        .with(tracing_subscriber::fmt::layer().with_writer(file).with_ansi(false))
        .try_init();
    if let Some(n) = dir.lock_notice() {
        anyhow::bail!("{n}; watch needs the data dir to itself (its alert spools are kept there)");
    }
    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, Arc::clone(&term)).context("cannot install the signal handler")?;
    }
    if let Some(addr) = &args.metrics {
        metrics::allowed(addr, args.metrics_public)?;
    }
    let geo = args.run.geo.open()?;
    match &geo {
        Some(g) => tracing::info!("{}", g.summary()),
        None => tracing::info!("no GeoIP database (--geoip): no country or travel features"),
    }
    if let Some(w) = crate::source::aws::endpoint_warning(args.run.aws.endpoint_url.as_deref()) {
        tracing::warn!("{w}");
    }
    let mut alerts = Alerts::start(args.alerts.config(args.run.retain, args.run.aws.profile.clone()), &dir.path)?;
    if args.alerts.sinks.is_empty() {
        tracing::warn!("no --alert sink: alerts go to this log only");
    }
    for s in &args.alerts.sinks {
        tracing::info!("alerts go to {}", s.shown());
    }
    let health = metrics::Shared::default();
    health.lock().map(|mut h| h.started = chrono::Utc::now().timestamp()).ok();
    if let Some(addr) = args.metrics {
        let bound = metrics::serve(addr, Arc::clone(&health))?;
        tracing::info!("metrics at http://{bound}/metrics");
    }
    let running = crate::launch::start(&args.run, &dir, geo, || {})?;
    tracing::info!("watching {} source(s); SIGTERM or SIGINT ends", args.run.sources.len());
    let ticker = tick(TICK);
    let mut last_status: Vec<SourceStatus> = Vec::new();
    let result = loop {
        if term.load(Ordering::Relaxed) {
            tracing::info!("terminated by signal: saving state");
            break Ok(());
        }
        select! {
            recv(running.snapshots) -> snap => match snap {
                Ok(snap) => {
                    alerts.observe(&snap);
                    log_status(&snap, &mut last_status);
                    if let Ok(mut h) = health.lock() {
                        h.snap = Some(snap);
                        h.decided = alerts.decided;
                        h.sinks = alerts.views();
                    }
                }
                Err(_) => break Err(anyhow::anyhow!("the pipeline stopped")),
            },
            recv(ticker) -> _ => {
                if let Ok(mut h) = health.lock() {
                    h.sinks = alerts.views();
                }
            },
        }
    };
    // Hang up: the pipeline saves its state and the sources' positions after it, then ends.
    drop(running.commands);
    if let Err(RecvTimeoutError::Timeout) = running.ended.recv_timeout(SAVE_WAIT) {
        tracing::warn!("the pipeline did not end within {SAVE_WAIT:?}; its latest state may not be saved");
    }
    alerts.stop(ALERT_GRACE);
    tracing::info!("stopped");
    result
}

/// Logs a source's status when it changes (back-fill done, an error, recovered).
fn log_status(snap: &crate::pipeline::Snapshot, last: &mut Vec<SourceStatus>) {
    for (i, src) in snap.sources.iter().enumerate() {
        let before = last.get(i);
        let changed = match (before, &src.status) {
            (Some(SourceStatus::Backfilling { .. }), SourceStatus::Backfilling { .. }) => false,
            (Some(b), now) => b != now,
            (None, _) => true,
        };
        if changed {
            let name = crate::parse::sanitize::clean(&src.name);
            match &src.status {
                SourceStatus::Degraded(e) => tracing::warn!("{name}: {}", crate::parse::sanitize::clean(e)),
                SourceStatus::Backfilling { total: 0, .. } => tracing::info!("{name}: back-filling"),
                SourceStatus::Backfilling { total, .. } => tracing::info!("{name}: back-filling {total} unit(s)"),
                SourceStatus::Live => tracing::info!("{name}: live ({} events so far)", snap.events),
                SourceStatus::Finished => tracing::info!("{name}: read ({} events)", snap.events),
            }
        }
    }
    *last = snap.sources.iter().map(|s| s.status.clone()).collect();
}
