//! What is new: windows that entered the flagged set since the analyst last looked at them.
//! A window is looked at when the analyst moves the cursor onto it or opens it; the first snapshot's
//! flagged windows are the starting point, not news. With `--bell`, the console rings when
//! the count of new windows grows.

use rustc_hash::FxHashSet;

use super::{AppState, View};

/// The windows the analyst has seen flagged, and what is new.
#[derive(Debug, Default)]
pub struct Fresh {
    seen: FxHashSet<(i64, String)>,
    started: bool,
    /// Flagged windows not seen yet.
    pub count: usize,
    /// Set when the count grew with the last snapshot (the console rings and clears it).
    pub ring: bool,
}

impl Fresh {
    /// Whether the window is flagged and not seen yet.
    pub fn is_new(&self, r: &crate::model::ScoredRow) -> bool {
        r.flagged && !self.seen.contains(&(r.row.window_start, r.row.entity.clone()))
    }
}

impl AppState {
    /// After a new snapshot: counts what is new (the first snapshot's flags are all seen).
    pub(super) fn count_fresh(&mut self) {
        let flagged = self.snap.rows.iter().filter(|r| r.flagged);
        if !self.fresh.started {
            if self.snap.rows.is_empty() {
                return;
            }
            self.fresh.started = true;
            self.fresh.seen = flagged.map(|r| (r.row.window_start, r.row.entity.clone())).collect();
            return;
        }
        let before = self.fresh.count;
        let count = self.snap.rows.iter().filter(|r| self.fresh.is_new(r)).count();
        self.fresh.ring |= count > before;
        self.fresh.count = count;
    }

    /// The window under the cursor (in a list or a drill-down) is seen: called on the
    /// analyst's keys only, so that a console left alone keeps its news.
    pub(super) fn look(&mut self) {
        if self.view == View::Tail && self.detail.is_none() {
            return;
        }
        let key = self.selected_window_key();
        if let Some(key) = key
            && self.fresh.seen.insert(key)
        {
            self.fresh.count = self.snap.rows.iter().filter(|r| self.fresh.is_new(r)).count();
        }
    }

    fn selected_window_key(&self) -> Option<(i64, String)> {
        match &self.detail {
            Some(d) => d.row.as_ref().map(|r| (r.row.window_start, r.row.entity.clone())),
            None => self.selected_row().map(|r| (r.row.window_start, r.row.entity.clone())),
        }
    }
}
