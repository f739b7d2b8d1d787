//! The `trailtop` binary: parses the command line and hands off to the library.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use trailtop::cli::{
    Cli, Command, EvalArgs, EvalFormat, Format, GenArgs, LabelFormat, LabelsAction, LabelsArgs, ScanArgs,
};
use trailtop::features::FeatureConfig;
use trailtop::headless::collect::{TimeRange, collect};
use trailtop::headless::scan;
use trailtop::headless::scan::Signatures;
use trailtop::sigma::Rules;
use trailtop::source::SourceSpec;

/// Exit codes: 0 done, 1 an error, 2 a usage error (from clap), 3 `scan` printed its
/// ranking but a source failed, so part of the input is missing from it (a cron job must not
/// read that as "no anomalies").
const EXIT_INCOMPLETE: u8 = 3;

/// The command line, with where the data and config folders are in `--help`.
fn command() -> clap::Command {
    use clap::CommandFactory;
    let config = trailtop::config::paths::config_dir().map_or("(none)".into(), |d| d.display().to_string());
    Cli::command().after_help(format!(
        "Data folder (state, labels, checkpoints, alert spools, log): {}  [TRAILTOP_DATA_DIR]\nConfig folder (keymap.toml, queries.toml, sigma/, geoip/): {config}  [TRAILTOP_CONFIG_HOME]",
        trailtop::config::paths::data_dir().display()
    ))
}

fn main() -> ExitCode {
    use clap::FromArgMatches;
    let cli = Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
    let done = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        Some(Command::Scan(args)) => run_scan(args),
        Some(Command::Gen(args)) => done(run_gen(args)),
        Some(Command::Eval(args)) => done(run_eval(args)),
        Some(Command::Labels(args)) => done(run_labels(args)),
        Some(Command::Watch(args)) => done(trailtop::watch::run(*args)),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut command(), "trailtop", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => done(clap_mangen::Man::new(command()).render(&mut std::io::stdout()).map_err(Into::into)),
        None => done(trailtop::console::run(cli.console)),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`| head`) is the reader's choice, not an error (as in ripgrep).
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

fn run_scan(args: Box<ScanArgs>) -> anyhow::Result<ExitCode> {
    let data = trailtop::config::paths::data_dir();
    trailtop::sys::private_dir(&data)?;
    // Another instance writing checkpoints there: read, but keep no checkpoint.
    let lock = trailtop::sys::lock_data_dir(&data);
    if lock.is_none() {
        eprintln!("trailtop: another trailtop uses {}: this scan keeps no checkpoint", data.display());
    }
    if let Some(w) = trailtop::source::aws::endpoint_warning(args.aws.endpoint_url.as_deref()) {
        eprintln!("trailtop: warning: {w}");
    }
    let specs = args.sources.iter().map(|s| SourceSpec::parse(s)).collect::<anyhow::Result<Vec<_>>>()?;
    let cfg = FeatureConfig { window_secs: args.features.window, by: args.features.by };
    let range = TimeRange { since: args.since, until: args.until };
    let now = chrono::Utc::now().timestamp();
    let sigma = Rules::load_given(&args.sigma.folders(), &args.sigma.ignore, args.sigma.level);
    if let Some((_, report)) = &sigma {
        eprintln!("trailtop: {}", report.summary());
        if args.stats {
            for (path, why) in report.problems.iter().skip(1).take(20) {
                eprintln!("trailtop: sigma: {}: {}", path.display(), trailtop::parse::sanitize::clean(why));
            }
        }
    }
    // Rules may read fields no typed one holds (requestParameters.*, responseElements.*): the
    // records of the calls they are about are kept whole, or every record when one of them is
    // about any call.
    let raw_calls = sigma.as_ref().map(|(rules, _)| rules.raw_calls());
    let spawn = trailtop::source::SpawnOptions {
        parse: trailtop::parse::ParseOptions {
            keep_raw: matches!(raw_calls, Some(None)),
            raw_calls: raw_calls.flatten().map(std::sync::Arc::new),
            ..Default::default()
        },
        follow: false,
        demo_speed: 1.0,
        aws: args.aws.options(lock.is_some().then(|| data.clone())),
        since: args.since.map(|t| now - t),
    };
    let rules = sigma.map(|(rules, _)| std::sync::Arc::new(rules));
    let geo = args.geo.open()?;
    match &geo {
        Some(g) => eprintln!("trailtop: {}", g.summary()),
        None => eprintln!("trailtop: no GeoIP database (--geoip): no country or travel features"),
    }
    let (ingest, totals) = collect(&specs, &spawn, cfg, range, rules, geo, |_, _| {})?;
    let model_cfg = args.model.config();
    let feedback = match args.labels_dir.as_deref() {
        Some("none") => Default::default(),
        Some(dir) => trailtop::headless::labels::load(std::path::Path::new(dir))?,
        None => trailtop::headless::labels::load(&data)?,
    };
    if !feedback.is_empty() {
        eprintln!("trailtop: using {} analyst label(s)", feedback.labels.len());
    }
    let scored = trailtop::model::score_rows_with(ingest.rows(), &model_cfg, &feedback)?;
    let signatures = ingest.rules().map(|rules| Signatures {
        rules,
        hits: &ingest.signatures,
        starts: trailtop::sigma::Starts::new(
            scored.rows.iter().map(|r| (r.row.window_start, r.row.entity.as_str())),
            &ingest.signatures,
        ),
    });
    // The query picks windows from the whole ranking; --top then counts what it kept.
    let picked: Vec<trailtop::model::ScoredRow>;
    let matching: &[trailtop::model::ScoredRow] = match &args.query {
        Some(q) => {
            let vocab = ingest.store.vocab();
            picked = scored.rows.iter().filter(|r| q.matches_row(r, &vocab)).cloned().collect();
            eprintln!("trailtop: --query kept {} of {} entity-windows", picked.len(), scored.rows.len());
            &picked
        }
        None => &scored.rows,
    };
    let shown = if args.all { matching } else { &matching[..args.top.min(matching.len())] };
    let mut out = Output::open(args.output.as_deref())?;
    let written = match args.format {
        Format::Table => {
            // Cut to the terminal's width only when printing to it.
            let width = (args.output.is_none() && std::io::stdout().is_terminal())
                .then(|| crossterm::terminal::size().map_or(100, |(w, _)| usize::from(w)));
            scan::write_table(&mut out, shown, width, signatures.as_ref()).map_err(Into::into)
        }
        Format::Jsonl => scan::write_jsonl(&mut out, shown, signatures.as_ref()).map_err(Into::into),
        Format::Csv => scan::write_csv(&mut out, shown, signatures.as_ref()),
    };
    // Sources' positions are saved only once the output is whole and closed: an output error,
    // a closed pipe or a kill before this point leaves them where they were, and the next
    // scan prints these records again.
    written.and_then(|()| out.close())?;
    for c in &totals.commits {
        if let Err(e) = c.save() {
            eprintln!("trailtop: checkpoint not saved (the next scan reads these objects again): {e:#}");
        }
    }
    eprintln!("trailtop: {}", scan::threshold_line(&scored, &model_cfg));
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
        for p in totals.problems.iter().take(20) {
            eprintln!("trailtop: skipped: {p}");
        }
        if totals.problems.len() > 20 {
            eprintln!("trailtop: skipped: ... and {} more files", totals.problems.len() - 20);
        }
    }
    if !totals.source_errors.is_empty() {
        eprintln!(
            "trailtop: incomplete: {} source problem(s) above; what was read is ranked (exit {EXIT_INCOMPLETE})",
            totals.source_errors.len()
        );
        return Ok(ExitCode::from(EXIT_INCOMPLETE));
    }
    Ok(ExitCode::SUCCESS)
}

/// Where `scan` writes: standard output or a file, buffered.
enum Output {
    Stdout(BufWriter<std::io::StdoutLock<'static>>),
    File(BufWriter<File>),
}

impl Output {
    fn open(path: Option<&std::path::Path>) -> anyhow::Result<Output> {
        Ok(match path {
            Some(p) => {
                Output::File(BufWriter::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?))
            }
            None => Output::Stdout(BufWriter::new(std::io::stdout().lock())),
        })
    }

    /// Flushed, and a file synced and closed.
    fn close(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut w) => w.flush().map_err(Into::into),
            Output::File(w) => {
                let file = w.into_inner().map_err(|e| e.into_error())?;
                // Only a regular file has anything to sync: `-o /dev/null` (or a FIFO) refuses
                // fsync with EINVAL, which is no failure of the output.
                if file.metadata().is_ok_and(|m| !m.is_file()) {
                    return Ok(());
                }
                file.sync_all().context("cannot sync the output file")
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File(w) => w.flush(),
        }
    }
}

fn run_gen(args: GenArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let end = args.start + i64::from(args.days) * 86_400;
    let mut g =
        trailtop::generate::Generator::for_total(args.seed, args.start, args.days, args.events, &args.attacks.0);
    if g.attack_events() as u64 > args.events {
        anyhow::bail!(
            "--events {} is fewer than the attacks alone make ({}): give more events, fewer --attacks, or --attacks none",
            args.events,
            g.attack_events()
        );
    }
    let sum = trailtop::generate::write::write_all(&mut g, end, &args.out, args.layout, args.labels.as_deref())?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "trailtop: wrote {} events ({} malicious, {} attack instances) in {} files, {} MiB{}, in {:.2} s ({:.0} events/s)",
        sum.events,
        sum.malicious,
        g.scheduled_instances(),
        sum.files,
        sum.bytes >> 20,
        if args.layout == trailtop::generate::write::Layout::S3 { " gzipped" } else { "" },
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
    let geo = args.geo.open()?;
    let (ingest, _) = collect(&specs, &spawn, cfg, TimeRange::default(), None, geo, |ev, store| {
        if let Some(scenario) = labels.get(&*ev.id) {
            let key = (store.window_of(ev.time), trailtop::features::entity_text(cfg.by, ev));
            positives.entry(key).or_default().insert(scenario.clone());
        }
    })?;
    // Eval measures the ranking and its cut: windows flagged by a rule alone would mix the
    // rules' hits into the cut's precision.
    let model = trailtop::model::ModelConfig { always_flag: None, ..args.model.config() };
    let scored = trailtop::model::score_rows(ingest.rows(), &model)?;
    let report = trailtop::headless::eval::evaluate(&scored.rows, &positives);
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        EvalFormat::Table => trailtop::headless::eval::write_table(&mut out, &report),
        EvalFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report).map_err(Into::into).and_then(|()| writeln!(out))
        }
    };
    written.map_err(Into::into)
}

/// Whether `e` is, at any depth, a write to a closed pipe (a bare I/O error, or one inside
/// JSON or CSV serialisation).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>().is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
            || c.downcast_ref::<csv::Error>()
                .is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe))
    })
}

fn run_labels(args: LabelsArgs) -> anyhow::Result<()> {
    let dir = args.labels_dir.unwrap_or_else(trailtop::config::paths::data_dir);
    let fb = trailtop::headless::labels::load(&dir)?;
    let mut out = std::io::stdout().lock();
    match args.action {
        LabelsAction::List => trailtop::headless::labels::list(&mut out, &fb).map_err(Into::into),
        LabelsAction::Export { format: LabelFormat::Jsonl } => {
            trailtop::headless::labels::export_jsonl(&mut out, &fb).map_err(Into::into)
        }
        LabelsAction::Export { format: LabelFormat::Csv } => trailtop::headless::labels::export_csv(&mut out, &fb),
        LabelsAction::Withdraw { id } => {
            // One writer per data dir: a running console or watch holds the labels in memory.
            let _lock = trailtop::sys::lock_data_dir(&dir).ok_or_else(|| {
                anyhow::anyhow!(
                    "another trailtop uses {}: withdraw the label there (u), or stop it first",
                    dir.display()
                )
            })?;
            let said = trailtop::headless::labels::withdraw(&dir, &fb, &id)?;
            writeln!(out, "{said}").map_err(Into::into)
        }
    }
}
