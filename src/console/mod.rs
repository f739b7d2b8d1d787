//! The console: `run` wires sources → pipeline → app state → ui and owns the terminal. It is
//! the one place that knows both `app` (state and update) and `ui` (render), which do not
//! know each other.
//!
//! Threads: one per source, the pipeline, and a terminal-input reader. The loop here waits on
//! input, new snapshots, a slow tick (for lag clocks), panics and SIGTERM, applies them to the
//! state, and draws once per turn only when something changed.

mod panic_watch;

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{bounded, select, tick};
use crossterm::event::{Event as TermEvent, KeyEventKind};

use crate::app::state::{AppState, Command};
use crate::cli::ConsoleArgs;
use crate::config::keymap::Keymap;
use crate::config::paths::config_dir;
use crate::config::theme::{Palette, Theme};
use crate::launch::DataDir;
use crate::pipeline::PipelineCommand;

const LAG_TICK: Duration = Duration::from_secs(5);
/// How long quitting waits for the pipeline to save its state.
const SAVE_WAIT: Duration = Duration::from_secs(30);
/// Copies up to this size are encoded on the loop's thread; larger ones (up to 1 MiB) on
/// their own.
const COPY_INLINE: usize = 64 << 10;
/// How long quitting gives alerts being sent; the rest stay spooled for the next start.
const ALERT_GRACE: Duration = Duration::from_secs(5);

/// The OSC 52 sequence that puts `text` on the clipboard (through SSH too).
fn encode_osc52(text: &str) -> String {
    use base64::Engine;
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
}

/// Writes a control sequence (OSC 52, the bell) between frames: only the loop's thread writes to
/// the terminal.
fn write_raw(seq: &str) {
    let mut out = std::io::stdout();
    let _ = out.write_all(seq.as_bytes());
    let _ = out.flush();
}

/// Restores the terminal however the console ends; the panic hook installed by
/// `ratatui::init` covers panics.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the console until the analyst quits, a signal ends it, or a thread panics.
pub fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    let dir = DataDir::open()?;
    let appender = tracing_appender::rolling::never(&dir.path, "trailtop.log");
    let (writer, _log_guard) = tracing_appender::non_blocking(appender);
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TRAILTOP_LOG").unwrap_or_else(|_| "info".into()))
        .try_init();
    tracing::info!("console starting");

    // Before any thread starts: a panic anywhere must find the terminal hooks in place.
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "the console needs a terminal (standard input and output are not one); for output to a file or pipe use `trailtop scan SOURCE...`, unattended `trailtop watch SOURCE...`"
        );
    }
    let term_flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, Arc::clone(&term_flag)).context("cannot install the signal handler")?;
    }
    // A database that cannot be read, or a sink that cannot be set up, is an error before
    // the screen is taken.
    let geo = args.run.geo.open()?;
    if let Some(g) = &geo {
        tracing::info!("{}", g.summary());
    }
    let mut alerts = match (args.alerts.sinks.is_empty(), dir.read_only()) {
        (false, false) => Some(crate::alert::Alerts::start(
            args.alerts.config(args.run.retain, args.run.aws.profile.clone()),
            &dir.path,
        )?),
        _ => None,
    };
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let _guard = TerminalGuard;
    let panics = panic_watch::install();

    let (theme, theme_notice) = Theme::load(&args.theme, Palette::detect());
    let (keymap, keymap_notice) = Keymap::load(config_dir().map(|d| d.join("keymap.toml")).as_deref());
    let running = crate::launch::start(&args.run, &dir, geo, || panic_watch::injected("pipeline"))?;
    let (snap_rx, cmd_tx, ended_rx) = (running.snapshots, running.commands, running.ended);

    // Large copies are encoded off this thread and come back here to be written: only this
    // thread writes to the terminal, so an OSC 52 sequence never lands inside a frame.
    let (clip_tx, clip_rx) = bounded::<String>(4);
    let (key_tx, key_rx) = bounded(64);
    std::thread::spawn(move || {
        loop {
            let ev = crossterm::event::read();
            let failed = ev.is_err();
            if key_tx.send(ev).is_err() || failed {
                return;
            }
        }
    });

    let mut state = AppState::new(running.threshold);
    let queries_path = config_dir().map(|d| d.join("queries.toml"));
    let (queries, queries_notice) = crate::config::queries::Queries::load(queries_path.as_deref());
    state.queries = queries;
    let endpoint_notice = crate::source::aws::endpoint_warning(args.run.aws.endpoint_url.as_deref());
    if let Some(w) = &endpoint_notice {
        tracing::warn!("{w}");
    }
    let lock_notice = dir.lock_notice();
    if let Some(n) = &lock_notice {
        tracing::warn!("{n}");
    }
    state.notice = lock_notice.or(endpoint_notice).or(theme_notice).or(keymap_notice).or(queries_notice);
    // Frames come from input and new data; this slow tick only ages the lag clocks in the
    // header while a source is quiet.
    let clock = tick(LAG_TICK);
    let mut dirty = true;
    let result = (|| -> anyhow::Result<()> {
        while !state.quit {
            if panics.receiver().try_recv().is_ok() {
                anyhow::bail!("{}", panics.message().unwrap_or_else(|| "a thread panicked".into()));
            }
            if term_flag.load(Ordering::Relaxed) {
                tracing::info!("terminated by signal");
                break;
            }
            if dirty {
                state.now = chrono::Utc::now().timestamp();
                let size = terminal.size()?;
                state.page = crate::ui::list_rows(size.height);
                state.help_overflow = keymap.bindings.len().saturating_sub(crate::ui::help_rows(size.height));
                terminal.draw(|f| crate::ui::render(f, &state, &theme, &keymap))?;
                dirty = false;
            }
            let mut commands = Vec::new();
            select! {
                recv(key_rx) -> ev => match ev {
                    Ok(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                        commands = state.on_key(key, |layer, k| keymap.action_for(layer, k));
                        dirty = true;
                    }
                    Ok(Ok(TermEvent::Resize(..))) => dirty = true,
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e).context("reading the terminal failed"),
                    Err(_) => anyhow::bail!("terminal input ended"),
                },
                recv(snap_rx) -> snap => match snap {
                    Ok(snap) => {
                        if let Some(a) = &mut alerts {
                            a.observe(&snap);
                        }
                        state.on_snapshot(snap);
                        if std::mem::take(&mut state.fresh.ring) && args.bell {
                            write_raw("\x07");
                        }
                        dirty = true;
                    }
                    // The pipeline only hangs up when it died: stop, rather than draw a console
                    // that can no longer change.
                    Err(_) => anyhow::bail!("the pipeline stopped{}", panics.message().map(|m| format!(": {m}")).unwrap_or_default()),
                },
                recv(panics.receiver()) -> _ => anyhow::bail!("{}", panics.message().unwrap_or_else(|| "a thread panicked".into())),
                recv(clip_rx) -> seq => {
                    if let Ok(seq) = seq {
                        write_raw(&seq);
                    }
                },
                recv(clock) -> _ => dirty = state.snap.sources.iter().any(|s| s.status == crate::source::SourceStatus::Live) || alerts.is_some(),
            }
            if let Some(a) = &alerts {
                let views = a.views();
                if views != state.sinks {
                    state.sinks = views;
                    dirty = true;
                }
            }
            for c in commands {
                match c {
                    // A threshold may be dropped when the queue is full (the next key sends another);
                    // labels and undos must not be: a blocking send (the queue holds 16).
                    Command::Pipeline(c @ PipelineCommand::SetThreshold(_)) => {
                        let _ = cmd_tx.try_send(c);
                    }
                    Command::Pipeline(c) => {
                        let _ = cmd_tx.send(c);
                    }
                    Command::SaveQueries(q) => {
                        if let Some(path) = &queries_path
                            && let Err(e) = q.save(path)
                        {
                            tracing::warn!("cannot keep the queries: {e:#}");
                        }
                    }
                    Command::Copy(text) if text.len() <= COPY_INLINE => write_raw(&encode_osc52(&text)),
                    Command::Copy(text) => {
                        let tx = clip_tx.clone();
                        std::thread::spawn(move || {
                            let _ = tx.send(encode_osc52(&text));
                        });
                    }
                }
            }
        }
        Ok(())
    })();
    // Hang up, give the terminal back, then let the pipeline save what it learned (the state
    // and the source positions after it).
    drop(cmd_tx);
    drop(terminal);
    if let Some(a) = alerts {
        a.stop(ALERT_GRACE);
    }
    if let Err(crossbeam_channel::RecvTimeoutError::Timeout) = ended_rx.recv_timeout(SAVE_WAIT) {
        tracing::warn!("the pipeline did not end within {SAVE_WAIT:?}; its latest state may not be saved");
    }
    result
}

#[cfg(test)]
mod tests {
    /// The clipboard sequence terminals take: OSC 52, clipboard `c`, base64, BEL.
    #[test]
    fn osc52_sequence() {
        assert_eq!(super::encode_osc52("hi"), "\x1b]52;c;aGk=\x07");
        // Whatever the text holds, the sequence is one: base64 has no control characters.
        let seq = super::encode_osc52("a\x07b\x1b]c");
        assert_eq!(seq.matches('\x07').count(), 1);
        assert_eq!(seq.matches('\x1b').count(), 1);
    }
}
