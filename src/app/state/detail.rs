//! The drill-down: a window's records, one record's JSON, and what `y` copies.

use std::sync::Arc;

use super::{AppState, Command, View};
use crate::model::ScoredRow;
use crate::parse::Event;

/// A drill-down from an anomaly (or an entity row, or a tail event).
#[derive(Debug, Clone)]
pub struct Detail {
    /// The window drilled into; `None` for a single record from the tail.
    pub row: Option<ScoredRow>,
    /// The window's records the tail still holds that match the filter, newest first.
    pub events: Vec<Arc<Event>>,
    /// The window's records the tail still holds, filter or not.
    pub held: usize,
    /// The selected record.
    pub sel: usize,
    /// Showing the selected record's JSON.
    pub json: Option<JsonView>,
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
                        let mut d = Detail { row: None, events: vec![Arc::clone(ev)], held: 1, sel: 0, json: None };
                        d.show_json();
                        self.detail = Some(d);
                    }
                } else if let Some(row) = self.selected_row().cloned() {
                    self.detail = Some(Detail { row: Some(row), events: Vec::new(), held: 0, sel: 0, json: None });
                    self.refilter_detail();
                }
            }
        }
    }

    /// The drill-down's records again, through the filter in force.
    pub(super) fn refilter_detail(&mut self) {
        let Some(d) = &mut self.detail else { return };
        let Some(row) = &d.row else { return };
        let mut events = self.snap.window_events(row);
        d.held = events.len();
        events.retain(|e| self.filter.matches_event(e));
        d.events = events;
        d.sel = d.sel.min(d.events.len().saturating_sub(1));
        d.json = None;
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
