//! Stage 6: pure rendering of [`AppState`]. Nothing here does I/O or changes state; every
//! widget builds only the rows it can show.

mod chart;
mod detail;
mod entities;
mod explain;
mod header;
mod model;
mod views;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Tabs};

use crate::app::state::{AppState, Mode, VIEWS, View};
use crate::config::action::{Action, Layer};
use crate::config::keymap::Keymap;
use crate::config::theme::{Role, Theme};

/// The narrowest terminal the console draws in.
pub const MIN_WIDTH: u16 = 60;
/// The shortest terminal the console draws in.
pub const MIN_HEIGHT: u16 = 16;

/// Rows of the main list at a given terminal height (the event loop sizes pages with it).
pub fn list_rows(height: u16) -> usize {
    // The main pane, less its two borders and the table's header row.
    layout(Rect::new(0, 0, MIN_WIDTH, height)).main.height.saturating_sub(3) as usize
}

/// The console's panes, top to bottom.
pub struct Panes {
    /// Source states and counts.
    pub header: Rect,
    /// The rate chart.
    pub chart: Rect,
    /// The view tabs.
    pub tabs: Rect,
    /// The view, or the drill-down.
    pub main: Rect,
    /// Key hints, notices, the filter bar.
    pub footer: Rect,
}

/// The panes of a terminal of `area`: the one place their sizes are decided (the event loop
/// asks [`list_rows`], which asks this, how many rows a page holds).
pub fn layout(area: Rect) -> Panes {
    // The title, the bars and the time axis.
    let chart_h = if area.height >= 30 { 8 } else { 4 };
    let [header, chart, tabs, main, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(chart_h),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    Panes { header, chart, tabs, main, footer }
}

/// Rows the help shows at once in a terminal this tall.
pub fn help_rows(height: u16) -> usize {
    height.saturating_sub(2) as usize
}

/// Draws the whole console from the state: no I/O, nothing computed that the state holds.
pub fn render(f: &mut Frame, s: &AppState, theme: &Theme, keymap: &Keymap) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!("terminal too small: {}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}", area.width, area.height);
        f.render_widget(Paragraph::new(msg).style(theme.fg(Role::Warn)), area);
        return;
    }
    let Panes { header, chart, tabs, main, footer } = layout(area);
    header::render(f, header, s, theme);
    chart::render(f, chart, s, theme, keymap);
    let titles: Vec<Line> =
        VIEWS.iter().enumerate().map(|(i, v)| Line::from(format!("{} {}", i + 1, v.title()))).collect();
    f.render_widget(
        Tabs::new(titles)
            .select(s.view.index())
            .style(theme.fg(Role::Muted))
            .highlight_style(theme.fg(Role::Title).add_modifier(Modifier::BOLD)),
        tabs,
    );
    match &s.detail {
        Some(d) => detail::render(f, main, s, d, theme, keymap),
        None => match s.view {
            View::Anomalies => views::anomalies(f, main, s, theme),
            View::Entities => entities::render(f, main, s, theme, keymap),
            View::Tail => views::tail(f, main, s, theme, keymap),
            View::Model => model::render(f, main, s, theme),
        },
    }
    render_footer(f, footer, s, theme, keymap);
    if let Mode::Mark(d) = &s.mode {
        render_mark(f, area, d, theme, keymap);
    }
    if let Mode::Help { scroll } = s.mode {
        render_help(f, area, scroll, theme, keymap);
    }
}

fn render_mark(f: &mut Frame, area: Rect, d: &crate::app::state::MarkDialog, theme: &Theme, keymap: &Keymap) {
    use crate::model::feedback::Scope;
    // Wide enough for what each scope covers (a role session's name is long).
    let w = area.width.min(100);
    let h = 10.min(area.height);
    let popup = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    // What each scope covers, for this window: "this entity" alone says little.
    let r = &d.row.row;
    let who = crate::text::short_principal(&r.principal);
    let entity = match r.entity.split_once('|') {
        Some((_, ip)) => format!("{who} from {ip}"),
        None => crate::text::short_principal(&r.entity).to_owned(),
    };
    let covers = |scope: Scope| match scope {
        Scope::Entity => format!("{}: {entity}, any hour", scope.describe()),
        Scope::EntityEvents => {
            format!("{} ({}), no other calls", scope.describe(), crate::text::plural(r.names.len() as u64, "name"))
        }
        Scope::Principal => format!("{}: {who}, any address", scope.describe()),
    };
    let opt = |key: &str, scope: Scope| {
        let on = d.scope == scope;
        Line::from(vec![
            Span::styled(
                format!(" {} {key} ", if on { "●" } else { "○" }),
                theme.fg(if on { Role::Accent } else { Role::Muted }),
            ),
            Span::styled(
                crate::parse::sanitize::clean_owned(&covers(scope)),
                if on { theme.fg(Role::Base).add_modifier(Modifier::BOLD) } else { theme.fg(Role::Base) },
            ),
        ])
    };
    let expiry = d.expires_days.map_or("never".to_owned(), |n| format!("in {n} day(s)"));
    let note = if d.editing_note {
        format!("{}▏", d.note)
    } else if d.note.is_empty() {
        format!("(none; {} to write one)", keymap.key_for(Action::MarkNote))
    } else {
        d.note.clone()
    };
    let lines = vec![
        Line::from(Span::styled(
            format!(" {} @ {}", crate::text::short_principal(&d.row.row.principal), d.row.row.source_ip),
            theme.fg(Role::Title),
        )),
        opt(&keymap.key_for(Action::MarkScopeEntity), Scope::Entity),
        opt(&keymap.key_for(Action::MarkScopeEvents), Scope::EntityEvents),
        opt(&keymap.key_for(Action::MarkScopePrincipal), Scope::Principal),
        Line::from(vec![
            Span::styled(format!(" {} ", keymap.key_for(Action::MarkExpiry)), theme.fg(Role::Accent)),
            Span::styled(format!("expires: {expiry}"), theme.fg(Role::Base)),
        ]),
        Line::from(vec![
            Span::styled(format!(" {} ", keymap.key_for(Action::MarkNote)), theme.fg(Role::Accent)),
            Span::styled(format!("note: {note}"), theme.fg(Role::Base)),
        ]),
        Line::from(Span::styled(
            format!(
                " {}: mark as false positive and retrain   {}: cancel",
                keymap.key_for(Action::MarkConfirm),
                keymap.key_for(Action::MarkCancel)
            ),
            theme.fg(Role::Muted),
        )),
    ];
    f.render_widget(Clear, popup);
    let block = Block::default().borders(Borders::ALL).border_style(theme.fg(Role::Accent)).title(" false positive ");
    f.render_widget(Paragraph::new(lines).block(block), popup);
}

fn render_footer(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme, keymap: &Keymap) {
    let bar = match &s.mode {
        Mode::Filter(input) => Some(("filter> ", input, "enter apply")),
        Mode::Search(input) => Some(("search> ", input, "enter find (n/N next/previous)")),
        _ => None,
    };
    let line = if let Some((prompt, input, enter)) = bar {
        let (hint, role) = match &s.notice {
            // What was wrong with the query, in place of the hint.
            Some(e) => (format!("▏ {e}"), Role::Error),
            None => (format!("▏ {enter}, esc cancel; e.g. event:Get* -error:AccessDenied ip:203.0.113.*"), Role::Muted),
        };
        // The cursor where it is: the text before it, a bar, the text after it.
        let at = input.value().char_indices().nth(input.cursor()).map_or(input.value().len(), |(i, _)| i);
        let (before, after) = input.value().split_at(at);
        Line::from(vec![
            Span::styled(prompt, theme.fg(Role::Title)),
            Span::styled(before.to_owned(), theme.fg(Role::Base)),
            Span::styled("▏", theme.fg(Role::Accent)),
            Span::styled(after.to_owned(), theme.fg(Role::Base)),
            Span::styled(hint, theme.fg(role)),
        ])
    } else if let Some(n) = &s.notice {
        Line::from(Span::styled(n.clone(), theme.fg(Role::Accent)))
    } else {
        let mut spans = Vec::new();
        if !s.filter.is_empty() {
            spans.push(Span::styled(format!("[filter: {}] ", s.filter.text), theme.fg(Role::Accent)));
        }
        // Picked by action, shown with whatever key is bound to it (a key such as `/` was
        // split away as a separator, and a rebinding made its hint vanish).
        let picks: &[Action] = if s.detail.as_ref().is_some_and(|d| d.json.is_some()) {
            &[Action::Back, Action::Down, Action::PivotSession, Action::Copy, Action::Quit]
        } else if s.detail.is_some() {
            &[
                Action::Back,
                Action::PivotAccessKey,
                Action::PivotSession,
                Action::PivotAddress,
                Action::PivotAround,
                Action::Search,
                Action::Copy,
                Action::Quit,
            ]
        } else {
            &[
                Action::Help,
                Action::Filter,
                Action::Open,
                Action::NextView,
                Action::MarkFalsePositive,
                Action::MarkTruePositive,
                Action::UndoLabel,
                Action::Quit,
            ]
        };
        for (key, b) in picks.iter().filter_map(|a| keymap.first_for(*a)) {
            spans.push(Span::styled(format!("{key} "), theme.fg(Role::Title)));
            spans.push(Span::styled(format!("{}  ", b.short()), theme.fg(Role::Muted)));
        }
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}

fn render_help(f: &mut Frame, area: Rect, scroll: usize, theme: &Theme, keymap: &Keymap) {
    let keys: Vec<String> = keymap.bindings.iter().map(|b| b.keys.join(" ")).collect();
    let key_w = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    // The false-positive dialog's keys are its own layer: said so, since `1` there is not
    // `1` in the lists.
    let descs: Vec<String> = keymap
        .bindings
        .iter()
        .map(|b| match Layer::of(&b.context) {
            Layer::Mark => format!("dialog: {}", b.desc),
            Layer::Normal => b.desc.clone(),
        })
        .collect();
    let desc_w = descs.iter().map(|d| d.chars().count()).max().unwrap_or(0);
    let w = area.width.min((key_w + desc_w + 4) as u16);
    let h = area.height.min(keymap.bindings.len() as u16 + 2);
    let popup = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    let shown = help_rows(h);
    let scroll = scroll.min(keymap.bindings.len().saturating_sub(shown));
    let lines: Vec<Line> = keymap
        .bindings
        .iter()
        .zip(&keys)
        .zip(&descs)
        .skip(scroll)
        .take(shown)
        .map(|((_, k), d)| {
            Line::from(vec![
                Span::styled(format!("{k:>key_w$}  "), theme.fg(Role::Title)),
                Span::styled(d.clone(), theme.fg(Role::Base)),
            ])
        })
        .collect();
    let more = scroll + shown < keymap.bindings.len();
    let title = if scroll > 0 || more {
        format!(" keys ({}/{} scroll, any other key closes) ", keymap.key_for(Action::Down), keymap.key_for(Action::Up))
    } else {
        " keys (any key closes) ".to_owned()
    };
    let mut block = Block::default().borders(Borders::ALL).border_style(theme.fg(Role::Accent)).title(title);
    if more {
        block = block.title_bottom(Line::from(" ↓ more ").right_aligned());
    }
    f.render_widget(Clear, popup);
    f.render_widget(Paragraph::new(lines).block(block), popup);
}

pub use crate::text::{group, human_secs};

#[cfg(test)]
mod layout_tests {
    use super::*;

    /// The page the event loop moves by is the rows the list pane really shows (it repeated
    /// the layout's constants and could drift from them).
    #[test]
    fn a_page_is_what_the_list_pane_holds() {
        for (h, rows) in [(24, 13), (29, 18), (30, 15), (48, 33), (16, 5)] {
            assert_eq!(list_rows(h), rows, "height {h}");
            assert_eq!(layout(Rect::new(0, 0, 120, h)).main.height as usize - 3, rows);
        }
    }
}
