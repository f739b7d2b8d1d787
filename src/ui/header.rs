//! The header: each source's state, the counts, what was restored and the model's state.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{group, human_secs};
use crate::alert::SinkState;
use crate::app::state::AppState;
use crate::config::theme::{Role, Theme};
use crate::model::Threshold;
use crate::source::SourceStatus;
use crate::text::truncate;

/// A newest event older than this is an archive's, shown by its date rather than as a lag.
const ARCHIVE_AGE: i64 = 86_400;

/// Draws the header.
pub fn render(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme) {
    let snap = &s.snap;
    let mut spans = vec![Span::styled("trailtop ", theme.fg(Role::Title).add_modifier(Modifier::BOLD))];
    if snap.demo {
        spans.push(Span::styled(
            " DEMO DATA ",
            Style::default().fg(theme.color(Role::Demo)).add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
        spans.push(Span::raw(" "));
    }
    let now = s.now;
    for src in &snap.sources {
        let (text, role) = match &src.status {
            SourceStatus::Backfilling { done, total } => (format!("back-filling {done}/{total}"), Role::Warn),
            SourceStatus::Live => {
                let lag = match src.newest_event {
                    // Only the demo at `--speed` gets ahead of the clock.
                    Some(t) if t > now => format!(", simulated {} ahead", human_secs(t - now)),
                    // An archive being watched: its age, not a lag.
                    Some(t) if now - t > ARCHIVE_AGE => format!(
                        ", newest event {} UTC ({} days ago)",
                        crate::parse::time::format_utc(t, "%Y-%m-%d %H:%M"),
                        group(((now - t) / 86_400) as u64)
                    ),
                    Some(t) => format!(", lag {}", human_secs(now - t)),
                    None => ", waiting for events".into(),
                };
                (format!("live{lag}"), Role::Ok)
            }
            SourceStatus::Finished => ("read".into(), Role::Ok),
            SourceStatus::Degraded(e) => (format!("error: {}", truncate(e, 40)), Role::Error),
        };
        spans.push(Span::styled(format!("{} ", truncate(&src.name, 30)), theme.fg(Role::Base)));
        spans.push(Span::styled(format!("[{text}]  "), theme.fg(role)));
        if let Some(n) = &src.note {
            spans.push(Span::styled(format!("{}  ", truncate(n, 48)), theme.fg(Role::Muted)));
        }
    }
    // Alert sinks: where alerts go and whether they get there.
    for sink in &s.sinks {
        let (text, role) = match sink.state {
            SinkState::Ok if sink.spooled > 0 => (format!("sending, {} spooled", group(sink.spooled)), Role::Warn),
            SinkState::Ok => (format!("ok, {} sent", group(sink.sent)), Role::Ok),
            SinkState::Failing => (
                format!(
                    "failing, {} spooled: {}",
                    group(sink.spooled),
                    truncate(sink.last_error.as_deref().unwrap_or(""), 32)
                ),
                Role::Error,
            ),
        };
        spans.push(Span::styled(format!("alerts {} ", truncate(&sink.name, 40)), theme.fg(Role::Base)));
        spans.push(Span::styled(format!("[{text}]  "), theme.fg(role)));
    }
    // At the end of the first line: the counts and the model's state fill the second.
    if let Some(r) = &snap.restored {
        spans.push(Span::styled(
            format!(
                "restored {}, {}{} (saved {})",
                crate::text::plural(r.windows as u64, "window"),
                crate::text::plural(r.principals as u64, "principal"),
                if r.model { ", model" } else { "" },
                crate::parse::time::format_utc(r.saved_at, "%m-%d %H:%M")
            ),
            theme.fg(Role::Muted),
        ));
    }
    let line2 = counts_line(s, theme, false);
    // At 80 columns the zero counts go and the model's state is said briefly, so that it fits.
    let fits = |l: &[Span]| l.iter().map(|s| s.content.chars().count()).sum::<usize>() <= area.width as usize;
    let line2 = if fits(&line2) { line2 } else { counts_line(s, theme, true) };
    f.render_widget(Paragraph::new(vec![Line::from(spans), Line::from(line2)]), area);
}

/// The second line: counts, what is new, the model's state; `brief` leaves out zero counts
/// and says the model's state in fewer words.
fn counts_line(s: &AppState, theme: &Theme, brief: bool) -> Vec<Span<'static>> {
    let snap = &s.snap;
    let st = &snap.stats;
    let mut line2 = vec![Span::styled(crate::text::plural(snap.events, "event"), theme.fg(Role::Base))];
    for (name, n, role) in [
        ("skipped", st.skipped(), if st.skipped() > 0 { Role::Warn } else { Role::Muted }),
        ("dup", snap.duplicates, Role::Muted),
        ("labels", snap.labels as u64, Role::Muted),
    ] {
        if !brief || n > 0 {
            line2.push(Span::styled(format!("  {name} {}", group(n)), theme.fg(role)));
        }
    }
    if snap.reread > 0 {
        line2.push(Span::styled(format!("  re-read {}", group(snap.reread)), theme.fg(Role::Muted)));
    }
    if snap.too_old > 0 {
        line2.push(Span::styled(format!("  older than --retain {}", group(snap.too_old)), theme.fg(Role::Muted)));
    }
    if s.fresh.count > 0 {
        line2.push(Span::styled(format!("  {} new flagged", group(s.fresh.count as u64)), theme.fg(Role::Warn)));
    }
    line2.push(Span::styled(format!("  │ {}", model_state(s, brief)), theme.fg(Role::Muted)));
    // Last: the least needed at 80 columns.
    if !snap.geo {
        line2.push(Span::styled("  │ no GeoIP (--geoip): no country or travel", theme.fg(Role::Muted)));
    }
    line2
}

fn model_state(s: &AppState, brief: bool) -> String {
    let snap = &s.snap;
    if let Some(e) = &snap.model_error {
        return format!("model error: {e}");
    }
    match snap.trained_at {
        None => format!("model warming up ({} so far)", crate::text::plural(snap.events, "event")),
        Some(t) => {
            let flagged = s.lists.flagged;
            let how = match s.threshold {
                Threshold::Contamination(f) => format!("top {:.2}%", f * 100.0),
                Threshold::Score(t) => format!("≥{t:.2}"),
                Threshold::Budget(_) => format!("{}, cut-off {:.3}", s.threshold.describe(), snap.cutoff),
            };
            // The forest's number, not the publication's: a threshold move or new windows
            // scored by the same forest change neither.
            let (why, windows) = snap
                .model
                .as_ref()
                .map_or((String::new(), snap.rows.len()), |m| (format!(" ({})", m.reason), m.windows));
            if brief {
                return format!(
                    "{flagged} flagged ({how}); model fitted {}{why}",
                    crate::parse::time::format_utc(t, "%H:%M")
                );
            }
            format!(
                "model fitted {}{why} on {} windows; {flagged} flagged ({how})",
                crate::parse::time::format_utc(t, "%H:%M:%S"),
                group(windows as u64)
            )
        }
    }
}
