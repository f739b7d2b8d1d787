//! The model view: the rank-score histogram with the cut-off, the forest's life (when and why
//! it was fitted, drift), and the selected window's features against the population.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::views::{fmt_num, short_window};
use crate::app::state::{AppState, HISTOGRAM_BINS};
use crate::config::theme::{Role, Theme};
use crate::features::FEATURE_NAMES;
use crate::text::short_principal;

/// Rank-score histogram with the cut-off marked, and the selected window's features against the
/// population.
pub fn render(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme) {
    let (hist, bins) = (&s.lists.histogram, HISTOGRAM_BINS);
    let max = hist.iter().max().copied().unwrap_or(1).max(1);
    let bar_w = (area.width as usize / 2).saturating_sub(18).max(5);
    let cut_bin = ((s.snap.cutoff.min(1.0) * bins as f64) as usize).min(bins - 1);
    let mut lines = vec![Line::from(Span::styled(
        " rank score histogram (score + rules; +/- moves the threshold)",
        theme.fg(Role::Title),
    ))];
    for (i, &n) in hist.iter().enumerate().rev() {
        if n == 0 && i < 6 {
            continue;
        }
        // Counts on a log scale: the interesting tail is a handful against thousands.
        let len = ((n as f64).ln_1p() / (max as f64).ln_1p() * bar_w as f64).round() as usize;
        let marker = if i == cut_bin { "◀ cut-off" } else { "" };
        // The top bin holds everything above it: rules lift a rank score past 1.
        let label = if i + 1 == bins {
            format!("≥{:.2}", i as f64 / bins as f64)
        } else {
            format!(" {:.2}", i as f64 / bins as f64)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{label} "), theme.fg(Role::Muted)),
            Span::styled("█".repeat(len), theme.fg(if i >= cut_bin { Role::SeverityHigh } else { Role::Chart })),
            Span::styled(format!(" {n} {marker}"), theme.fg(Role::Muted)),
        ]));
    }
    let left = Rect { width: area.width / 2, ..area };
    let right = Rect { x: area.x + area.width / 2, width: area.width - area.width / 2, ..area };
    // The forest's life under the histogram, wrapped, in at most a third of the height.
    let life = model_life(s, theme);
    let life_h = if life.is_empty() { 0 } else { (left.height / 3).clamp(1, 6) };
    let hist = Rect { height: left.height - life_h, ..left };
    let below = Rect { y: left.y + hist.height, height: life_h, ..left };
    f.render_widget(Paragraph::new(lines), hist);
    f.render_widget(Paragraph::new(life).wrap(ratatui::widgets::Wrap { trim: true }), below);
    let Some(sel) = s.selected_row() else { return };
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " {} @ {}: value vs population",
            short_principal(&sel.row.principal),
            short_window(sel.row.window_start)
        ),
        theme.fg(Role::Title),
    ))];
    for (i, name) in FEATURE_NAMES.iter().enumerate() {
        let v = sel.row.features[i];
        let pct = s.snap.population.get(i).map_or(0.5, |col| crate::model::explain::percentile_in(col, v));
        let pos = (pct * 10.0).round() as usize;
        let gauge: String = (0..=10).map(|k| if k == pos { '●' } else { '─' }).collect();
        lines.push(Line::from(vec![
            Span::styled(format!(" {name:<22} "), theme.fg(Role::Base)),
            Span::styled(gauge, theme.fg(if pct >= 0.99 { Role::SeverityHigh } else { Role::Muted })),
            Span::styled(format!(" {} (p{:.0})", fmt_num(v), pct * 100.0), theme.fg(Role::Base)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), right);
}

/// When and why the forest in use was fitted, and how far the last day drifted from it.
fn model_life(s: &AppState, theme: &Theme) -> Vec<Line<'static>> {
    let Some(m) = &s.snap.model else { return Vec::new() };
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " forest fitted {} on {} windows ({}); {} fitted since start",
            crate::parse::time::format_utc(m.fitted_at, "%m-%d %H:%M"),
            crate::text::group(m.windows as u64),
            m.reason,
            m.fits
        ),
        theme.fg(Role::Base),
    ))];
    let worst: Vec<String> = m.drift.features.iter().take(3).map(|(n, p)| format!("{n} {p:.2}")).collect();
    let (text, role) = if m.drift.windows == 0 {
        (" drift: no windows in the last day".to_owned(), Role::Muted)
    } else {
        let role = if m.drift.significant() { Role::Warn } else { Role::Muted };
        (
            format!(
                " drift (PSI), last day's {} windows: {}; scores {:.2} (a feature past {:.2} refits)",
                crate::text::group(m.drift.windows as u64),
                worst.join(", "),
                m.drift.scores,
                crate::model::drift::PSI_RETRAIN
            ),
            role,
        )
    };
    lines.push(Line::from(Span::styled(text, theme.fg(role))));
    let every = m.every.map_or("when labels change, history grows by a quarter, or it drifts".to_owned(), |e| {
        format!(
            "every {}, and when labels change, history grows by a quarter, or it drifts",
            crate::text::human_secs(e)
        )
    });
    lines.push(Line::from(Span::styled(format!(" refits: {every}"), theme.fg(Role::Muted))));
    if let crate::model::Threshold::Budget(_) = s.threshold {
        lines.push(Line::from(Span::styled(
            format!(" alert budget {} → cut-off {:.3}", s.threshold.describe(), s.snap.cutoff),
            theme.fg(Role::Base),
        )));
    }
    lines
}
