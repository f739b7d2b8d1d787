//! The drill-down: a window's records, one record's JSON, and what `y` copies.

use std::sync::Arc;

use super::{AppState, Command, View};
use crate::app::pivot::Pivot;
use crate::config::action::Action;
use crate::model::ScoredRow;
use crate::parse::Event;

/// A drill-down from an anomaly (or an entity row, or a tail event), or a pivot.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The window drilled into; `None` for a pivot or a single record from the tail.
    pub row: Option<ScoredRow>,
    /// The pivot listed, with what the pane beside the records says about it.
    pub pivot: Option<PivotView>,
    /// The window's (or pivot's) records the tail still holds that match the filter, newest
    /// first.
    pub events: Vec<Arc<Event>>,
    /// The window's (or pivot's) records the tail still holds, filter or not.
    pub held: usize,
    /// The selected record.
    pub sel: usize,
    /// Showing the selected record's JSON.
    pub json: Option<JsonView>,
    /// Where Esc returns to: the drill-down this pivot was taken from.
    pub back: Option<Box<Detail>>,
    /// The search in force (`n`/`N` move between the records it matches).
    pub search: Option<crate::app::filter::Filter>,
    /// Each record's request parameters in a line, filled around the selection as it moves
    /// (parsing every record of a large window at once would stall the key press).
    pub params: Vec<Option<Box<str>>>,
    /// Lines the explanation pane is scrolled past.
    pub explain_scroll: u16,
    /// What happened in the window, in words, from all its held records (see
    /// [`crate::app::evidence`]).
    pub evidence: Vec<String>,
    /// The filter its records were kept by, so a drill-down returned to after the filter
    /// changed is filtered again.
    pub filtered_by: String,
}

/// The longest request-parameters line kept for the list.
const PARAMS_CHARS: usize = 160;

/// A pivot being shown.
#[derive(Debug, Clone, PartialEq)]
pub struct PivotView {
    /// What was asked.
    pub pivot: Pivot,
    /// Lines about what it found (principals, first and last seen, the chain).
    pub summary: Vec<String>,
}

/// A record's JSON, pretty-printed and scrubbed once when opened (a record can be megabytes,
/// and the view is drawn many times a second), and how far it is scrolled.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonView {
    /// The JSON, pretty-printed and scrubbed, a line each.
    pub lines: Vec<String>,
    /// Lines scrolled past.
    pub scroll: u16,
}

impl Detail {
    fn new(row: Option<ScoredRow>, events: Vec<Arc<Event>>) -> Self {
        let held = events.len();
        Detail {
            row,
            pivot: None,
            events,
            held,
            sel: 0,
            json: None,
            back: None,
            search: None,
            params: Vec::new(),
            explain_scroll: 0,
            evidence: Vec::new(),
            filtered_by: String::new(),
        }
    }

    fn show_json(&mut self) {
        let Some(e) = self.events.get(self.sel) else { return };
        let text = e
            .raw
            .as_deref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| "(the raw record is not kept for this event)".into());
        // The pretty printer escapes C0 controls but lets C1 and bidi characters through.
        let lines = text.lines().map(crate::parse::sanitize::clean_owned).collect();
        self.json = Some(JsonView { lines, scroll: 0 });
    }
}

impl Detail {
    /// Summarises the request parameters of the records within a page or two of the selection.
    pub(super) fn fill_params(&mut self, page: usize) {
        self.params.resize(self.events.len(), None);
        let from = self.sel.saturating_sub(page);
        let to = (self.sel + 2 * page.max(1)).min(self.events.len());
        for i in from..to {
            if self.params[i].is_none() {
                let line = self.events[i].raw.as_deref().and_then(|r| crate::parse::params::compact(r, PARAMS_CHARS));
                self.params[i] = Some(line.unwrap_or_default().into());
            }
        }
    }

    /// Moves to the next (or previous) record the search matches, wrapping around; says where
    /// it landed.
    pub(super) fn search_step(&mut self, forward: bool) -> String {
        let Some(q) = &self.search else { return "no search: ctrl-f searches the records".into() };
        let n = self.events.len();
        let hits: Vec<usize> = (0..n).filter(|&i| q.matches_event(&self.events[i])).collect();
        if hits.is_empty() {
            return format!("no record here matches {}", crate::parse::sanitize::clean(&q.text));
        }
        let next = if forward {
            hits.iter().position(|&i| i > self.sel).unwrap_or(0)
        } else {
            hits.iter().rposition(|&i| i < self.sel).unwrap_or(hits.len() - 1)
        };
        self.sel = hits[next];
        self.json = None;
        format!("match {} of {}", next + 1, hits.len())
    }
}

/// What a pivot key asks for, from the record in focus.
fn pivot_for(action: Action, event: Option<&Event>, row: Option<&ScoredRow>) -> Result<Pivot, &'static str> {
    use crate::app::pivot::AROUND_SECS;
    match action {
        Action::PivotAccessKey => event
            .and_then(|e| e.access_key.as_deref())
            .map(|k| Pivot::AccessKey(k.to_owned()))
            .ok_or("no access key on this record"),
        Action::PivotAddress => event
            .map(|e| e.ip.to_string())
            .or_else(|| row.map(|r| r.row.source_ip.clone()))
            .filter(|ip| !ip.is_empty())
            .map(Pivot::Address)
            .ok_or("no source address here"),
        Action::PivotSession => event
            .map(|e| e.principal.to_string())
            .or_else(|| row.map(|r| r.row.principal.clone()))
            .map(Pivot::Session)
            .ok_or("no principal here"),
        _ => match (event, row) {
            // A window is its span and the minutes either side.
            (_, Some(r)) if event.is_none() => {
                let half = (r.row.window_end - r.row.window_start) / 2;
                Ok(Pivot::Around { at: r.row.window_start + half, span: half + AROUND_SECS })
            }
            (Some(e), _) => Ok(Pivot::Around { at: e.time, span: AROUND_SECS }),
            _ => Err("no time here"),
        },
    }
}

impl AppState {
    /// A pivot from the record in focus (the selected record in a drill-down or the tail, the
    /// newest held record of a window in a list); Esc comes back.
    pub(super) fn pivot(&mut self, action: Action) {
        let (event, row) = match &self.detail {
            Some(d) => (d.events.get(d.sel).cloned(), d.row.clone()),
            None if self.view == View::Tail => (self.selected_event().cloned(), None),
            // From a list, "around" is the window's own span; the other pivots take its newest
            // held record.
            None if action == Action::PivotAround => (None, self.selected_row().cloned()),
            None => {
                let row = self.selected_row().cloned();
                (row.as_ref().and_then(|r| self.snap.window_events(r).into_iter().next()), row)
            }
        };
        let pivot = match pivot_for(action, event.as_deref(), row.as_ref()) {
            Ok(p) => p,
            Err(why) => {
                self.notice = Some(why.into());
                return;
            }
        };
        let g = pivot.gather(&self.snap);
        let back = self.detail.take().map(Box::new);
        let mut d = Detail::new(None, g.events);
        (d.pivot, d.back) = (Some(PivotView { pivot, summary: g.summary }), back);
        d.events.retain(|e| self.filter.matches_event(e));
        d.filtered_by = self.filter.text.clone();
        d.fill_params(self.page);
        self.detail = Some(d);
    }
}

/// The most `y` puts on the clipboard (OSC 52 through a terminal; many cap far lower).
pub const MAX_COPY: usize = 1 << 20;

impl AppState {
    pub(super) fn open(&mut self) {
        match &mut self.detail {
            Some(d) if d.json.is_none() && !d.events.is_empty() => d.show_json(),
            Some(_) => {}
            None => {
                if self.view == View::Tail {
                    if let Some(ev) = self.selected_event() {
                        let mut d = Detail::new(None, vec![Arc::clone(ev)]);
                        d.show_json();
                        self.detail = Some(d);
                    }
                } else if let Some(row) = self.selected_row().cloned() {
                    self.detail = Some(Detail::new(Some(row), Vec::new()));
                    self.refilter_detail();
                }
            }
        }
    }

    /// The drill-down's records again, through the filter in force.
    pub(super) fn refilter_detail(&mut self) {
        let Some(d) = &mut self.detail else { return };
        let mut events = match (&d.row, &d.pivot) {
            (Some(row), _) => {
                let events = self.snap.window_events(row);
                d.evidence = crate::app::evidence::evidence(row, &events);
                events
            }
            (None, Some(p)) => p.pivot.gather(&self.snap).events,
            (None, None) => return,
        };
        d.held = events.len();
        events.retain(|e| self.filter.matches_event(e));
        d.events = events;
        d.filtered_by = self.filter.text.clone();
        d.sel = d.sel.min(d.events.len().saturating_sub(1));
        d.json = None;
        d.params.clear();
        d.fill_params(self.page);
    }

    pub(super) fn copy(&mut self) -> Vec<Command> {
        let text = match &self.detail {
            Some(d) => {
                d.events.get(d.sel).and_then(|e| e.raw.as_deref().map(str::to_owned).or(Some(e.principal.to_string())))
            }
            None if self.view == View::Tail => self.selected_event().map(|e| e.principal.to_string()),
            None => self.selected_row().map(|r| r.row.principal.clone()),
        };
        let Some(text) = text else { return vec![] };
        // The clipboard is pasted into shells and tickets: log content goes there scrubbed
        // as it goes to the screen, and a multi-megabyte record does not go whole.
        let clean = crate::parse::sanitize::clean(&text);
        let total = clean.len();
        let mut cut = total.min(MAX_COPY);
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        let copied = clean.get(..cut).unwrap_or("").to_owned();
        self.notice = Some(if cut < total {
            format!("copied the first {} KiB of {} KiB (the clipboard takes at most 1 MiB)", cut >> 10, total >> 10)
        } else {
            format!("copied {} characters", copied.chars().count())
        });
        vec![Command::Copy(copied)]
    }
}
