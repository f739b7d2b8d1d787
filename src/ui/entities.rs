//! The Entities view: a line per principal (its windows, addresses, events, and each
//! feature's highest value), its windows beneath it when expanded.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::widgets::{Cell, Row, Table};

use super::views::{
    address, block, fmt_num, of_total, page_start, principal_cell, severity, short_feature, short_window,
};
use crate::app::state::{AppState, EntityLine, View};
use crate::config::action::Action;
use crate::config::keymap::Keymap;
use crate::config::theme::{Role, Theme};
use crate::features::FEATURE_NAMES;
use crate::text::{plural, truncate};

pub fn render(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme, keymap: &Keymap) {
    let height = area.height.saturating_sub(2) as usize;
    let sel = s.cursors[View::Entities].row;
    let start = page_start(sel, height);
    let fixed = 24 + 18 + 11 + 12 + 4;
    let col_w = 9u16;
    let shown: Vec<usize> = (0..FEATURE_NAMES.len()).filter(|c| !s.hidden.contains(c)).collect();
    let n_cols = ((area.width.saturating_sub(fixed) / (col_w + 1)) as usize).clamp(1, shown.len().max(1));
    // Keep the sort column in view.
    let at = shown.iter().position(|&c| c == s.sort_col).unwrap_or(0);
    let first = at.saturating_sub(n_cols.saturating_sub(1)).min(shown.len().saturating_sub(n_cols));
    let cols: Vec<usize> = shown.iter().skip(first).take(n_cols).copied().collect();
    let (by, other) = if s.group_by_address { ("source ip", "principal") } else { ("principal", "source ip") };
    let mut header: Vec<String> = vec![by.into(), other.into(), "window".into(), "activity".into()];
    header.extend(cols.iter().map(|&c| {
        let mark = if c == s.sort_col { if s.sort_desc { "▼" } else { "▲" } } else { "" };
        format!("{}{mark}", truncate(&short_feature(FEATURE_NAMES[c]), 8))
    }));
    let rows = &s.snap.rows;
    let lines = &s.lists.entities;
    let visible: Vec<Row> = lines[start..(start + height).min(lines.len())]
        .iter()
        .enumerate()
        .map(|(i, &line)| {
            let (mut cells, values, best) = match line {
                EntityLine::Principal(g) => {
                    let g = &s.lists.groups[g];
                    let open = if s.expanded.contains(&g.key) { "▾ " } else { "▸ " };
                    let best = &rows[g.best].row;
                    // Grouped by address, the columns trade places: the address leads and the
                    // principals behind it are counted.
                    let (first, second) = match (s.group_by_address, g.others) {
                        (false, 1) => (principal_cell(&g.key, 22), address(best)),
                        (false, n) => (principal_cell(&g.key, 22), format!("{n} addresses")),
                        (true, 1) => (address(best), principal_cell(&best.principal, 18)),
                        (true, n) => (address(best), format!("{n} principals")),
                    };
                    let cells = vec![
                        Cell::from(format!("{open}{first}")),
                        Cell::from(second),
                        Cell::from(plural(g.windows.len() as u64, "window")),
                        Cell::from(g.spark.clone()),
                    ];
                    (cells, g.features, g.best)
                }
                EntityLine::Window(idx) => {
                    let r = &rows[idx];
                    let other = if s.group_by_address { principal_cell(&r.row.principal, 18) } else { address(&r.row) };
                    let cells = vec![
                        Cell::from("  └"),
                        Cell::from(other),
                        Cell::from(short_window(r.row.window_start)),
                        Cell::from(s.lists.sparks.get(&r.row.entity).cloned().unwrap_or_default()),
                    ];
                    (cells, r.row.features, idx)
                }
            };
            cells.extend(cols.iter().map(|&c| Cell::from(fmt_num(values[c]))));
            let style = if start + i == sel { theme.selection() } else { theme.fg(severity(&rows[best])) };
            Row::new(cells).style(style)
        })
        .collect();
    let mut widths =
        vec![Constraint::Length(24), Constraint::Length(18), Constraint::Length(11), Constraint::Length(12)];
    widths.extend(cols.iter().map(|_| Constraint::Length(col_w)));
    let key = |a| keymap.key_for(a);
    let hidden = if s.hidden.is_empty() {
        String::new()
    } else {
        format!(", {} hidden ({} shows)", s.hidden.len(), key(Action::ShowColumns))
    };
    let windows: usize = s.lists.groups.iter().map(|g| g.windows.len()).sum();
    let title = format!(
        " {} in {} entity-windows, by highest {} ({} opens, {} folds, {} groups by {}; {} {} column, {} reverse, {} hide{hidden}) ",
        match (s.group_by_address, s.lists.groups.len()) {
            (true, 1) => "1 address".to_owned(),
            (true, n) => format!("{} addresses", crate::text::group(n as u64)),
            (false, n) => plural(n as u64, "principal"),
        },
        of_total(s, windows),
        FEATURE_NAMES[s.sort_col],
        key(Action::Open),
        key(Action::Back),
        key(Action::GroupBy),
        if s.group_by_address { "principal" } else { "address" },
        key(Action::SortPrev),
        key(Action::SortNext),
        key(Action::SortReverse),
        key(Action::HideColumn)
    );
    f.render_widget(
        Table::new(visible, widths)
            .header(Row::new(header).style(theme.fg(Role::Muted).add_modifier(Modifier::BOLD)))
            .block(block(title, theme)),
        area,
    );
}
