//! The event-rate chart: events per minute over the chosen span across the full width, the
//! failed calls drawn over them in the error colour, a count axis on the left and a time axis
//! (UTC) underneath.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::state::AppState;
use crate::config::action::Action;
use crate::config::keymap::Keymap;
use crate::config::theme::{Role, Theme};
use crate::parse::time::format_utc;

const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Events and errors in each of the last `span` minutes up to `newest`, oldest first.
fn minutes(rates: &[crate::pipeline::RatePoint], newest: i64, span: i64) -> Vec<(u64, u64)> {
    let mut minutes = vec![(0u64, 0u64); span as usize];
    let first = newest - (span - 1) * 60;
    for p in rates.iter().rev().take_while(|p| p.minute >= first) {
        let i = ((p.minute - first) / 60) as usize;
        if let Some(m) = minutes.get_mut(i) {
            (m.0, m.1) = (m.0 + u64::from(p.events), m.1 + u64::from(p.errors));
        }
    }
    minutes
}

/// Events and errors per minute for each of `cols` columns over `minutes` (a column's mean
/// over the minutes it covers; when columns outnumber minutes, a minute spans several columns).
fn columns(minutes: &[(u64, u64)], cols: usize) -> Vec<(f64, f64)> {
    let span = minutes.len();
    (0..cols)
        .map(|c| {
            let (from, to) = (c * span / cols, ((c + 1) * span / cols).max(c * span / cols + 1));
            let n = (to - from) as f64;
            let (e, r) = minutes[from..to.min(span)].iter().fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1));
            (e as f64 / n, r as f64 / n)
        })
        .collect()
}

pub fn render(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme, keymap: &Keymap) {
    let rates = &s.snap.rates;
    let newest = rates.last().map_or(0, |p| p.minute);
    let span = s.span_minutes;
    let now = rates.last().map_or((0, 0), |p| (p.events, p.errors));
    // Rows: the title on the border, the bars, the time axis.
    let bar_rows = area.height.saturating_sub(2).max(1) as usize;
    let minutes = minutes(rates, newest, span);
    let probe = columns(&minutes, area.width.max(1) as usize);
    let peak = probe.iter().map(|c| c.0).fold(0.0, f64::max).ceil().max(1.0);
    let label = crate::text::group(peak as u64);
    let axis_w = label.chars().count() + 1;
    let plot_w = (area.width as usize).saturating_sub(axis_w).max(1);
    let cols = columns(&minutes, plot_w);
    let title = format!(
        " events/min, last {}: now {}, peak {}, errors now {} ({}: span) ",
        match span {
            60 => "1h",
            360 => "6h",
            _ => "24h",
        },
        now.0,
        label,
        now.1,
        keymap.key_for(Action::Span)
    );
    let mut lines = Vec::with_capacity(bar_rows + 1);
    for row in 0..bar_rows {
        // Eighths of a row filled from the bottom, for events and for errors.
        let eighths = |v: f64| -> usize {
            let total = (v / peak * (bar_rows * 8) as f64).round() as usize;
            total.saturating_sub((bar_rows - 1 - row) * 8).min(8)
        };
        let axis = match row {
            0 => format!("{label:>w$} ", w = axis_w - 1),
            r if r + 1 == bar_rows => format!("{:>w$} ", 0, w = axis_w - 1),
            _ => " ".repeat(axis_w),
        };
        let mut spans = vec![Span::styled(axis, theme.fg(Role::Muted))];
        let mut run = String::new();
        let mut run_style: Option<Style> = None;
        for &(e, r) in &cols {
            let (ev, er) = (eighths(e), eighths(r));
            // An error bar stands in front of the events' bar: it is the part that failed. In a
            // cell the events fill, the events' colour shows behind it.
            let (ch, style) = match (er, ev) {
                (0, _) => (BARS[ev], theme.fg(Role::Chart)),
                (_, 8) => (BARS[er], theme.fg(Role::Error).bg(theme.color(Role::Chart))),
                _ => (BARS[er], theme.fg(Role::Error)),
            };
            if run_style.is_some_and(|st| st != style) {
                spans.push(Span::styled(std::mem::take(&mut run), run_style.unwrap_or_default()));
            }
            run_style = Some(style);
            run.push(ch);
        }
        spans.push(Span::styled(run, run_style.unwrap_or_default()));
        lines.push(Line::from(spans));
    }
    lines.push(Line::styled(time_axis(newest, span, axis_w, plot_w), theme.fg(Role::Muted)));
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.fg(Role::Border))
        .title(Span::styled(title, theme.fg(Role::Muted)));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// `05:00 UTC` under the first column, the middle's time under the middle, the newest minute's
/// at the right end.
fn time_axis(newest: i64, span: i64, axis_w: usize, plot_w: usize) -> String {
    let first = newest - (span - 1) * 60;
    let mid = first + (span / 2) * 60;
    let (a, b, c) =
        (format!("{} UTC", format_utc(first, "%H:%M")), format_utc(mid, "%H:%M"), format_utc(newest, "%H:%M"));
    let mut line = vec![' '; axis_w + plot_w];
    let mut put = |at: usize, text: &str| {
        for (i, ch) in text.chars().enumerate() {
            if let Some(slot) = line.get_mut(at + i) {
                *slot = ch;
            }
        }
    };
    put(axis_w, &a);
    let mid_at = axis_w + plot_w / 2 - b.len() / 2;
    if mid_at > axis_w + a.len() + 1 {
        put(mid_at, &b);
    }
    put((axis_w + plot_w).saturating_sub(c.len()), &c);
    line.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use crate::pipeline::RatePoint;

    #[test]
    fn the_span_fills_every_column_and_errors_follow_their_minutes() {
        let newest = 100 * 60;
        let rates: Vec<RatePoint> = (41..=100)
            .map(|m| RatePoint { minute: m * 60, events: 10, errors: if m == 100 { 4 } else { 0 } })
            .collect();
        // 60 minutes over 150 columns: no column is empty.
        let cols = super::columns(&super::minutes(&rates, newest, 60), 150);
        assert_eq!(cols.len(), 150);
        assert!(cols.iter().all(|c| c.0 == 10.0), "{cols:?}");
        assert!(cols[149].1 == 4.0 && cols[140].1 == 0.0);
        // 60 minutes over 20 columns: three minutes a column, as a mean.
        let cols = super::columns(&super::minutes(&rates, newest, 60), 20);
        assert_eq!(cols[19], (10.0, 4.0 / 3.0));
        // A minute older than the span is left out.
        let cols = super::columns(&super::minutes(&rates, newest, 30), 30);
        assert_eq!(cols.iter().map(|c| c.0).sum::<f64>(), 300.0);
    }
}
