//! The `trailtop` binary: parses the command line and hands off to the library.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::Context;
use clap::Parser;

use trailtop::cli::{Cli, Command, Format, ScanArgs};
use trailtop::features::FeatureConfig;
use trailtop::headless::collect::{TimeRange, collect};
use trailtop::headless::scan;
use trailtop::source::SourceSpec;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Scan(args)) => run_scan(args),
        None => anyhow::bail!("the console is not built yet; use `trailtop scan SOURCE...`"),
    }
}

fn run_scan(args: ScanArgs) -> anyhow::Result<()> {
    let specs = args.sources.iter().map(|s| SourceSpec::parse(s)).collect::<anyhow::Result<Vec<_>>>()?;
    let cfg = FeatureConfig { window_secs: args.features.window, by: args.features.by };
    let range = TimeRange { since: args.since, until: args.until };
    let (store, totals) = collect(&specs, cfg, range, |_, _| {})?;
    let rows = store.rows();
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let written = match args.format {
        Format::Table => scan::write_table(&mut out, &rows).map_err(Into::into),
        Format::Jsonl => scan::write_jsonl(&mut out, &rows).map_err(Into::into),
        Format::Csv => scan::write_csv(&mut out, &rows),
    };
    match written.and_then(|()| out.flush().map_err(Into::into)) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {}
        other => other?,
    }
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
            eprintln!("trailtop: last problem: {e}");
        }
    }
    if args.stats {
        eprintln!("trailtop: {} entity-windows; peak RSS {} MiB", rows.len(), trailtop::sys::peak_rss_kib() / 1024);
    }
    Ok(())
}
