//! The `trailtop` binary: parses the command line and hands off to the library.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};

use anyhow::Context;
use clap::Parser;

use trailtop::cli::{
    Cli, Command, EvalArgs, EvalFormat, Format, GenArgs, LabelFormat, LabelsAction, LabelsArgs, ScanArgs,
};
use trailtop::features::FeatureConfig;
use trailtop::headless::collect::{TimeRange, collect};
use trailtop::headless::scan;
use trailtop::source::SourceSpec;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Scan(args)) => run_scan(args),
        Some(Command::Gen(args)) => run_gen(args),
        Some(Command::Eval(args)) => run_eval(args),
        Some(Command::Labels(args)) => run_labels(args),
        None => trailtop::app::run(cli.console),
    }
}

fn run_scan(args: ScanArgs) -> anyhow::Result<()> {
    let specs = args.sources.iter().map(|s| SourceSpec::parse(s)).collect::<anyhow::Result<Vec<_>>>()?;
    let cfg = FeatureConfig { window_secs: args.features.window, by: args.features.by };
    let range = TimeRange { since: args.since, until: args.until };
    let now = chrono::Utc::now().timestamp();
    let spawn = trailtop::source::SpawnOptions {
        parse: Default::default(),
        follow: false,
        demo_speed: 1.0,
        aws: args.aws.options(Some(trailtop::app::data_dir())),
        since: args.since.map(|t| now - t),
    };
    let (store, totals) = collect(&specs, &spawn, cfg, range, |_, _| {})?;
    let model_cfg = args.model.config();
    let feedback = match args.labels_dir.as_deref() {
        Some("none") => Default::default(),
        Some(dir) => trailtop::headless::labels::load(std::path::Path::new(dir))?,
        None => trailtop::headless::labels::load(&trailtop::app::data_dir())?,
    };
    if !feedback.is_empty() {
        eprintln!("trailtop: using {} analyst label(s)", feedback.labels.len());
    }
    let scored = trailtop::model::score_rows_with(store.rows(), &model_cfg, &feedback)?;
    let shown = if args.all { &scored.rows[..] } else { &scored.rows[..args.top.min(scored.rows.len())] };
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let written = match args.format {
        Format::Table => {
            // Cut to the terminal's width only when printing to it.
            let width = (args.output.is_none() && std::io::stdout().is_terminal())
                .then(|| crossterm::terminal::size().map_or(100, |(w, _)| usize::from(w)));
            scan::write_table(&mut out, shown, width).map_err(Into::into)
        }
        Format::Jsonl => scan::write_jsonl(&mut out, shown).map_err(Into::into),
        Format::Csv => scan::write_csv(&mut out, shown),
    };
    quiet_broken_pipe(written.and_then(|()| out.flush().map_err(Into::into)))?;
    eprintln!("trailtop: {}", scan::threshold_line(&scored, model_cfg.threshold));
    let s = &totals.stats;
    if args.stats || s.skipped() > 0 || totals.file_errors > 0 {
        eprintln!(
            "trailtop: {} files, {} records, {} events used, {} duplicates, {} outside --since/--until; skipped: {} invalid, {} oversized, {} digests, {} truncated; {} insight records, {} repaired non-UTF-8",
            totals.files,
            s.records,
            totals.events,
            totals.duplicates,
            totals.out_of_range,
            s.invalid,
            s.oversized,
            s.digests,
            s.truncated,
            s.insights,
            s.repaired_utf8
        );
        if let Some(e) = &s.last_error {
            eprintln!("trailtop: last problem: {}", trailtop::parse::sanitize::clean(e));
        }
    }
    if args.stats {
        eprintln!(
            "trailtop: {} entity-windows; peak RSS {} MiB",
            scored.rows.len(),
            trailtop::sys::peak_rss_kib() / 1024
        );
    }
    Ok(())
}

fn run_gen(args: GenArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let end = args.start + i64::from(args.days) * 86_400;
    let mut g =
        trailtop::generate::Generator::for_total(args.seed, args.start, args.days, args.events, &args.attacks.0);
    let sum = trailtop::generate::write::write_all(&mut g, end, &args.out, args.layout, args.labels.as_deref())?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "trailtop: wrote {} events ({} malicious, {} attack instances) in {} files, {} MiB compressed, in {:.2} s ({:.0} events/s)",
        sum.events,
        sum.malicious,
        g.scheduled_instances(),
        sum.files,
        sum.bytes >> 20,
        secs,
        sum.events as f64 / secs
    );
    Ok(())
}

// Parsing allocates a handful of small strings per record; mimalloc handles that pattern
// markedly faster than glibc's allocator across threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    use rustc_hash::{FxHashMap, FxHashSet};
    let labels = trailtop::headless::eval::read_labels(&args.labels)?;
    let specs = args.sources.iter().map(|s| SourceSpec::parse(s)).collect::<anyhow::Result<Vec<_>>>()?;
    let cfg = FeatureConfig { window_secs: args.features.window, by: args.features.by };
    let mut positives: FxHashMap<(i64, String), FxHashSet<String>> = FxHashMap::default();
    let spawn = trailtop::source::SpawnOptions {
        parse: Default::default(),
        follow: false,
        demo_speed: 1.0,
        aws: Default::default(),
        since: None,
    };
    let (store, _) = collect(&specs, &spawn, cfg, TimeRange::default(), |ev, store| {
        if let Some(scenario) = labels.get(&*ev.id) {
            let key = (store.window_of(ev.time), trailtop::features::entity_text(cfg.by, ev));
            positives.entry(key).or_default().insert(scenario.clone());
        }
    })?;
    let scored = trailtop::model::score_rows(store.rows(), &args.model.config())?;
    let report = trailtop::headless::eval::evaluate(&scored.rows, &positives);
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        EvalFormat::Table => trailtop::headless::eval::write_table(&mut out, &report),
        EvalFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report).map_err(Into::into).and_then(|()| writeln!(out))
        }
    };
    quiet_broken_pipe(written.map_err(Into::into))
}

/// A closed pipe (`| head`) is the reader's choice, not an error.
fn quiet_broken_pipe(r: anyhow::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {
            Ok(())
        }
        other => other,
    }
}

fn run_labels(args: LabelsArgs) -> anyhow::Result<()> {
    let dir = args.labels_dir.unwrap_or_else(trailtop::app::data_dir);
    let fb = trailtop::headless::labels::load(&dir)?;
    let mut out = std::io::stdout().lock();
    let written = match args.action {
        LabelsAction::List => trailtop::headless::labels::list(&mut out, &fb).map_err(Into::into),
        LabelsAction::Export { format: LabelFormat::Jsonl } => {
            trailtop::headless::labels::export_jsonl(&mut out, &fb).map_err(Into::into)
        }
        LabelsAction::Export { format: LabelFormat::Csv } => trailtop::headless::labels::export_csv(&mut out, &fb),
    };
    quiet_broken_pipe(written)
}
