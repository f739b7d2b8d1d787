//! The console's state and the pure `update` step: actions in, state changes and commands
//! out. No terminal and no I/O here, so every interaction is testable.

use std::sync::Arc;

use super::filter::Filter;
use crate::features::N_FEATURES;
use crate::model::feedback::Scope;
use crate::model::{ScoredRow, Threshold};
use crate::parse::Event;
use crate::pipeline::{PipelineCommand, Snapshot};
use crate::source::SourceStatus;

pub use detail::{Detail, JsonView, MAX_COPY, PivotView};
pub use entities::{EntityLine, Group, LineKey};
pub use view::{Cursor, PerView, VIEWS, View};

/// Effects the event loop carries out.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// For the pipeline, as is: a threshold, a label, an undo (the protocol's own type, so
    /// nothing is translated on the way).
    Pipeline(PipelineCommand),
    /// Put text on the clipboard (OSC 52, so it works over SSH).
    Copy(String),
    /// Keep the query history and saved queries (the config dir's `queries.toml`).
    SaveQueries(crate::config::queries::Queries),
}

/// The false-positive dialog: scope, expiry and an optional note.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkDialog {
    /// The window being labelled.
    pub row: ScoredRow,
    /// How far the label reaches.
    pub scope: Scope,
    /// Days until the label expires; `None` for never.
    pub expires_days: Option<u32>,
    /// The analyst's note, scrubbed as typed.
    pub note: String,
    /// Whether keys are going into the note.
    pub editing_note: bool,
}

/// A one-line editor (the filter bar): Left/Right, Home/End, Ctrl-A/E, Ctrl-U, Ctrl-W, Ctrl-K
/// and Ctrl-Y as in a shell.
#[derive(Debug, Clone, Default)]
pub struct LineInput(tui_input::Input);

impl LineInput {
    /// The text.
    pub fn value(&self) -> &str {
        self.0.value()
    }

    /// Characters before the cursor.
    pub fn cursor(&self) -> usize {
        self.0.cursor()
    }

    /// Takes a key; one that is not an edit does nothing. Characters the scrubber would drop
    /// (controls, bidi overrides) are not typed.
    pub fn key(&mut self, key: crossterm::event::KeyEvent) {
        use tui_input::backend::crossterm::EventHandler;
        if let crossterm::event::KeyCode::Char(c) = key.code
            && !crate::parse::sanitize::displayable(c)
        {
            return;
        }
        self.0.handle_event(&crossterm::event::Event::Key(key));
    }
}

impl From<&str> for LineInput {
    /// The text, with the cursor at its end.
    fn from(s: &str) -> Self {
        LineInput(tui_input::Input::new(s.to_owned()))
    }
}

impl PartialEq for LineInput {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value() && self.cursor() == other.cursor()
    }
}

/// Where keys go. One value, so which of the filter bar, the dialog or the help has the keys
/// is decided in one place ([`AppState::on_key`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// The lists and the drill-down read the normal keymap layer.
    Normal,
    /// The filter bar, with what is typed so far.
    Filter(LineInput),
    /// The drill-down's search bar, with what is typed so far.
    Search(LineInput),
    /// The false-positive dialog (boxed: it holds a whole ranked row).
    Mark(Box<MarkDialog>),
    /// The key list, scrolled this far.
    Help {
        /// Rows scrolled past.
        scroll: usize,
    },
}

/// Indices into the snapshot, filtered and sorted, rebuilt when either changes.
#[derive(Debug, Default, Clone)]
pub struct Lists {
    // (Filled by `AppState::rebuild` on every new snapshot or filter.)
    /// Indices into the snapshot's rows that pass the filter, in rank order.
    pub anomalies: Vec<usize>,
    /// The Entities view's lines: a principal each, with the windows of those expanded.
    pub entities: Vec<EntityLine>,
    /// The principals of the Entities view, each with its windows in the table's sort order.
    pub groups: Vec<Group>,
    /// Indices into the tail, newest first.
    pub tail: Vec<usize>,
    /// Per entity: events in its last windows, as a sparkline.
    pub sparks: rustc_hash::FxHashMap<String, String>,
    /// Per entity: its windows' indices into the rows, newest first (the drill-down's history).
    pub windows_of: rustc_hash::FxHashMap<String, Vec<usize>>,
    /// Rows flagged.
    pub flagged: usize,
    /// Rows per rank-score bin of width 1/[`HISTOGRAM_BINS`], the last bin taking the rest.
    pub histogram: [usize; HISTOGRAM_BINS],
}

/// Bins of the model view's rank-score histogram.
pub const HISTOGRAM_BINS: usize = 20;

/// Windows shown in an entity's activity sparkline.
pub const SPARK_WINDOWS: usize = 12;

/// `▁▂▃▄▅▆▇█` bars for `values`, scaled to their maximum.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values.iter().map(|&v| BARS[((v * 7 + max / 2) / max) as usize]).collect()
}

/// Sort columns of the entity table: events, then every feature.
pub const SORT_COLUMNS: usize = N_FEATURES;

/// The console's state: the latest snapshot and everything the analyst has chosen.
pub struct AppState {
    /// The latest snapshot from the pipeline.
    pub snap: Arc<Snapshot>,
    /// What the views list, derived from the snapshot and the filter.
    pub lists: Lists,
    /// The view shown.
    pub view: View,
    /// Each view's cursor.
    pub cursors: PerView<Cursor>,
    /// The filter in force.
    pub filter: Filter,
    /// What keys go to: the lists, the filter bar, the mark dialog or the help.
    pub mode: Mode,
    /// The drill-down, when one is open.
    pub detail: Option<Detail>,
    /// How far the help can scroll (it is taller than 80×24), as last drawn.
    pub help_overflow: usize,
    /// Whether the tail follows new records (`false` while paused).
    pub follow: bool,
    /// The tail as it was when frozen.
    pub frozen: Option<Arc<Snapshot>>,
    /// The entity table's sort column (an index into the features).
    pub sort_col: usize,
    /// Whether the entity table sorts descending.
    pub sort_desc: bool,
    /// Feature columns hidden from the entity table.
    pub hidden: std::collections::BTreeSet<usize>,
    /// Minutes the rate chart spans.
    pub span_minutes: i64,
    /// The threshold the list is cut at.
    pub threshold: Threshold,
    /// A line for the footer until the next key.
    pub notice: Option<String>,
    /// The alert sinks, as the console loop last read them.
    pub sinks: Vec<crate::alert::SinkView>,
    /// Set when the console should end.
    pub quit: bool,
    /// Rows a page holds, as last drawn.
    pub page: usize,
    /// Wall-clock seconds, set by the event loop, so rendering never reads the clock.
    pub now: i64,
    /// After a label the cursor stays where it was (on the next window to triage) instead of
    /// following the labelled window down the list.
    pub hold_position: bool,
    /// Windows flagged since the analyst last looked.
    pub fresh: fresh::Fresh,
    /// The principals (or addresses) whose windows the Entities view shows.
    pub expanded: rustc_hash::FxHashSet<String>,
    /// Whether the Entities view groups by source address instead of principal.
    pub group_by_address: bool,
    /// The query history and the saved queries.
    pub queries: crate::config::queries::Queries,
    /// Which history entry Up/Down put in the bar while it is open, and what had been typed
    /// before (Down past the newest entry brings it back).
    pub recall: Option<(usize, String)>,
}

impl AppState {
    /// An empty console cut at `threshold`, waiting for its first snapshot.
    pub fn new(threshold: Threshold) -> Self {
        Self {
            snap: Arc::new(Snapshot::default()),
            lists: Lists::default(),
            view: View::Anomalies,
            cursors: PerView::default(),
            filter: Filter::default(),
            mode: Mode::Normal,
            detail: None,
            help_overflow: 0,
            follow: true,
            frozen: None,
            sort_col: 0,
            sort_desc: true,
            hidden: Default::default(),
            span_minutes: 60,
            threshold,
            notice: None,
            sinks: Vec::new(),
            quit: false,
            page: 10,
            now: 0,
            hold_position: false,
            fresh: Default::default(),
            expanded: Default::default(),
            group_by_address: false,
            queries: Default::default(),
            recall: None,
        }
    }

    /// The snapshot the tail shows: the live one, or the one frozen with `f`.
    pub fn tail_snap(&self) -> &Arc<Snapshot> {
        self.frozen.as_ref().unwrap_or(&self.snap)
    }

    fn list_len(&self, v: View) -> usize {
        match v {
            View::Anomalies | View::Model => self.lists.anomalies.len(),
            View::Entities => self.lists.entities.len(),
            View::Tail => self.lists.tail.len(),
        }
    }

    /// The key of the selected line, so the selection survives re-ranking.
    fn selected_key(&self, v: View) -> Option<LineKey> {
        match v {
            View::Anomalies | View::Model => {
                let r = &self.snap.rows.get(*self.lists.anomalies.get(self.cursors[v].row)?)?.row;
                Some(LineKey::Window(r.window_start, r.entity.clone()))
            }
            View::Entities => self.line_key(*self.lists.entities.get(self.cursors[v].row)?),
            View::Tail => None,
        }
    }

    /// The ranked window under the cursor in the anomalies, entities or model view.
    pub fn selected_row(&self) -> Option<&ScoredRow> {
        let idx = match self.view {
            View::Anomalies | View::Model => *self.lists.anomalies.get(self.cursors[self.view].row)?,
            View::Entities => self.line_row(*self.lists.entities.get(self.cursors[View::Entities].row)?)?,
            View::Tail => None?,
        };
        self.snap.rows.get(idx)
    }

    /// The record under the cursor in the tail.
    pub fn selected_event(&self) -> Option<&Arc<Event>> {
        self.lists.tail.get(self.cursors[View::Tail].row).and_then(|i| self.tail_snap().tail.get(*i))
    }

    /// A new snapshot from the pipeline; selections stay on the same entity-window.
    pub fn on_snapshot(&mut self, snap: Arc<Snapshot>) {
        if let Some(n) = &snap.notice {
            self.notice = Some(n.clone());
        }
        // The header has room for a few words of a source's error: a new one is shown whole
        // in the footer until the next key.
        for (i, src) in snap.sources.iter().enumerate() {
            if let SourceStatus::Degraded(e) = &src.status
                && self.snap.sources.get(i).is_none_or(|old| old.status != src.status)
            {
                self.notice = Some(format!("{}: {e}", src.name));
            }
        }
        let keys = if std::mem::take(&mut self.hold_position) {
            [None, None]
        } else {
            [View::Anomalies, View::Entities].map(|v| self.cursors[v].moved.then(|| self.selected_key(v)).flatten())
        };
        let tail_newest_selected = self.cursors[View::Tail].row == 0;
        let old_tail_len = self.lists.tail.len();
        self.snap = snap;
        self.rebuild();
        let [anomaly, entity] = keys;
        if let Some(LineKey::Window(start, entity)) = anomaly
            && let Some(pos) = self.lists.anomalies.iter().position(|&i| {
                let r = &self.snap.rows[i].row;
                r.window_start == start && r.entity == entity
            })
        {
            self.cursors[View::Anomalies].row = pos;
        }
        if let Some(pos) = entity.and_then(|k| self.find_line(&k)) {
            self.cursors[View::Entities].row = pos;
        }
        // In the live tail, a selection below the top keeps pointing at the same event.
        if self.frozen.is_none() && !tail_newest_selected {
            let grown = self.lists.tail.len().saturating_sub(old_tail_len);
            self.cursors[View::Tail].row += grown;
        }
        self.clamp();
        self.count_fresh();
    }

    /// Rebuilds the lists from the snapshot and the filter (once per snapshot or filter).
    pub fn rebuild(&mut self) {
        let snap = Arc::clone(&self.snap);
        let rows = &snap.rows;
        let vocab = &snap.vocab;
        self.lists.anomalies = (0..rows.len()).filter(|&i| self.filter.matches_row(&rows[i], vocab)).collect();
        let mut ent = self.lists.anomalies.clone();
        let col = self.sort_col;
        ent.sort_by(|&a, &b| {
            let (x, y) = (rows[a].row.features[col], rows[b].row.features[col]);
            let o = x.total_cmp(&y).then(rows[a].rank.cmp(&rows[b].rank).reverse());
            if self.sort_desc { o.reverse() } else { o }
        });
        self.lists.groups = entities::groups(rows, &self.lists.anomalies, &ent, self.group_by_address);
        self.flatten_entities();
        // What the views draw from the rows, computed once a snapshot rather than once a frame.
        let mut by_entity: rustc_hash::FxHashMap<&str, Vec<usize>> = Default::default();
        let mut histogram = [0; HISTOGRAM_BINS];
        for (i, r) in rows.iter().enumerate() {
            by_entity.entry(&r.row.entity).or_default().push(i);
            histogram[((r.rank_score * HISTOGRAM_BINS as f64) as usize).min(HISTOGRAM_BINS - 1)] += 1;
        }
        (self.lists.histogram, self.lists.flagged) = (histogram, rows.iter().filter(|r| r.flagged).count());
        self.lists.sparks.clear();
        self.lists.windows_of.clear();
        for (e, mut w) in by_entity {
            w.sort_unstable_by_key(|&i| std::cmp::Reverse(rows[i].row.window_start));
            let last: Vec<u64> = w.iter().take(SPARK_WINDOWS).rev().map(|&i| rows[i].row.events).collect();
            self.lists.sparks.insert(e.to_owned(), sparkline(&last));
            self.lists.windows_of.insert(e.to_owned(), w);
        }
        let tail = &self.tail_snap().tail;
        self.lists.tail = (0..tail.len()).rev().filter(|&i| self.filter.matches_event(&tail[i])).collect();
        self.clamp();
    }

    fn clamp(&mut self) {
        for v in VIEWS {
            let n = self.list_len(v);
            let s = &mut self.cursors[v].row;
            *s = (*s).min(n.saturating_sub(1));
        }
        if let Some(d) = &mut self.detail {
            d.sel = d.sel.min(d.events.len().saturating_sub(1));
        }
    }

    fn move_by(&mut self, delta: isize) {
        let page = self.page;
        if let Some(d) = &mut self.detail {
            match &mut d.json {
                Some(j) => {
                    // The last line stops at the bottom of the pane, as a pager's does.
                    let last = j.lines.len().saturating_sub(page).min(u16::MAX as usize) as isize;
                    j.scroll = (j.scroll as isize + delta).clamp(0, last) as u16
                }
                None => d.sel = (d.sel as isize + delta).clamp(0, d.events.len().saturating_sub(1) as isize) as usize,
            }
            return;
        }
        let n = self.list_len(self.view) as isize;
        self.cursors[self.view].moved = true;
        let s = &mut self.cursors[self.view].row;
        *s = (*s as isize + delta).clamp(0, (n - 1).max(0)) as usize;
        self.look();
    }
}

mod detail;
mod entities;
pub mod fresh;
mod keys;
#[cfg(test)]
mod tests;
mod update;
mod view;
