//! The pure update step: an action in, state changes and commands out.

use std::sync::Arc;

use super::{AppState, Command, MarkDialog, Mode, SORT_COLUMNS, VIEWS, View};
use crate::app::filter::Filter;
use crate::config::action::Action;
use crate::model::feedback::{Scope, Verdict};
use crate::model::{ScoredRow, Threshold};
use crate::pipeline::{LabelRequest, PipelineCommand};

impl AppState {
    /// Applies one action; returns what the event loop must carry out.
    pub fn update(&mut self, action: Action) -> Vec<Command> {
        self.notice = None;
        let page = self.page.max(1) as isize;
        if let Mode::Help { scroll } = self.mode
            && !matches!(action, Action::ForceQuit)
        {
            // Moving keys scroll the help; any other key closes it.
            let to = match action {
                Action::Down => scroll as isize + 1,
                Action::Up => scroll as isize - 1,
                Action::PageDown => scroll as isize + page,
                Action::PageUp => scroll as isize - page,
                Action::Top => 0,
                Action::Bottom => self.help_overflow as isize,
                _ => {
                    self.mode = Mode::Normal;
                    return vec![];
                }
            };
            self.mode = Mode::Help { scroll: to.clamp(0, self.help_overflow as isize) as usize };
            return vec![];
        }
        match action {
            Action::Quit => {
                if self.detail.is_some() {
                    return self.update(Action::Back);
                }
                self.quit = true;
            }
            Action::ForceQuit => self.quit = true,
            Action::Help => self.mode = Mode::Help { scroll: 0 },
            Action::NextView | Action::PrevView => {
                let step = if action == Action::NextView { 1 } else { VIEWS.len() - 1 };
                self.view = VIEWS[(self.view.index() + step) % VIEWS.len()];
                self.detail = None;
            }
            Action::ViewAnomalies | Action::ViewEntities | Action::ViewTail | Action::ViewModel => {
                self.view = match action {
                    Action::ViewAnomalies => View::Anomalies,
                    Action::ViewEntities => View::Entities,
                    Action::ViewTail => View::Tail,
                    _ => View::Model,
                };
                self.detail = None;
            }
            Action::Down => self.move_by(1),
            Action::Up => self.move_by(-1),
            Action::PageDown => self.move_by(page),
            Action::PageUp => self.move_by(-page),
            Action::Top => self.move_by(isize::MIN / 2),
            Action::Bottom => self.move_by(isize::MAX / 2),
            Action::Open => {
                // On a principal's line in the Entities view, Enter shows its windows.
                if !(self.detail.is_none() && self.view == View::Entities && self.toggle_group()) {
                    self.open();
                }
                self.look();
            }
            Action::Back if self.detail.is_none() && self.view == View::Entities && self.fold_group() => {}
            Action::Back => match &mut self.detail {
                // From a window's JSON back to its records; a record opened from the tail has
                // no list to go back to.
                Some(d) if d.json.is_some() && (d.row.is_some() || d.pivot.is_some()) => d.json = None,
                // From a pivot back to where it was taken.
                Some(d) if d.back.is_some() => {
                    self.detail = d.back.take().map(|b| *b);
                    if self.detail.as_ref().is_some_and(|d| d.filtered_by != self.filter.text) {
                        self.refilter_detail();
                    }
                }
                Some(_) => self.detail = None,
                None if !self.filter.is_empty() => {
                    self.filter = Filter::default();
                    self.rebuild();
                }
                None => {}
            },
            Action::Filter => {
                self.recall = None;
                self.mode = Mode::Filter(self.filter.text.as_str().into())
            }
            Action::Follow => {
                self.follow = !self.follow;
                self.frozen = if self.follow { None } else { Some(Arc::clone(&self.snap)) };
                self.rebuild();
            }
            Action::SortNext | Action::SortPrev => {
                let step = if action == Action::SortNext { 1 } else { SORT_COLUMNS - 1 };
                self.sort_col = (self.sort_col + step) % SORT_COLUMNS;
                while self.hidden.contains(&self.sort_col) {
                    self.sort_col = (self.sort_col + step) % SORT_COLUMNS;
                }
                self.rebuild();
            }
            Action::HideColumn => {
                if self.hidden.len() + 1 < SORT_COLUMNS {
                    self.hidden.insert(self.sort_col);
                    while self.hidden.contains(&self.sort_col) {
                        self.sort_col = (self.sort_col + 1) % SORT_COLUMNS;
                    }
                    self.rebuild();
                }
            }
            Action::ShowColumns => self.hidden.clear(),
            Action::SortReverse => {
                self.sort_desc = !self.sort_desc;
                self.rebuild();
            }
            Action::ThresholdUp | Action::ThresholdDown => {
                let up = action == Action::ThresholdUp;
                self.threshold = match self.threshold {
                    Threshold::Contamination(f) => {
                        Threshold::Contamination(if up { (f / 1.5).max(0.001) } else { (f * 1.5).min(0.5) })
                    }
                    Threshold::Score(t) => Threshold::Score(if up { (t + 0.02).min(1.5) } else { (t - 0.02).max(0.3) }),
                    // A stricter threshold (`+`) is a smaller budget.
                    Threshold::Budget(n) => {
                        Threshold::Budget(if up { (n / 1.5).max(0.1) } else { (n * 1.5).min(10_000.0) })
                    }
                };
                self.notice = Some(match self.threshold {
                    Threshold::Contamination(f) => format!("flagging the top {:.2}%", f * 100.0),
                    Threshold::Score(t) => format!("flagging rank score >= {t:.2}"),
                    Threshold::Budget(n) => format!("alert budget {:.1} model alerts a day", n),
                });
                return vec![Command::Pipeline(PipelineCommand::SetThreshold(self.threshold))];
            }
            Action::Span => {
                self.span_minutes = match self.span_minutes {
                    60 => 360,
                    360 => 1440,
                    _ => 60,
                }
            }
            Action::Copy => return self.copy(),
            Action::GroupBy if self.view == View::Entities => self.toggle_group_by(),
            Action::GroupBy => self.notice = Some("this key groups the Entities view".into()),
            Action::PivotAccessKey | Action::PivotSession | Action::PivotAddress | Action::PivotAround => {
                self.pivot(action)
            }
            Action::Search => match &self.detail {
                Some(d) => {
                    let text = d.search.as_ref().map_or("", |q| q.text.as_str());
                    self.recall = None;
                    self.mode = Mode::Search(text.into())
                }
                None => self.notice = Some("search works in a drill-down; / filters the lists".into()),
            },
            Action::ExplainDown | Action::ExplainUp => {
                if let Some(d) = &mut self.detail {
                    let step: i32 = if action == Action::ExplainDown { 3 } else { -3 };
                    d.explain_scroll = (d.explain_scroll as i32 + step).clamp(0, 500) as u16;
                }
            }
            Action::SearchNext | Action::SearchPrev => {
                if let Some(d) = &mut self.detail {
                    self.notice = Some(d.search_step(action == Action::SearchNext));
                }
            }
            // The dialog's own layer: see `on_key`.
            Action::MarkScopeEntity
            | Action::MarkScopeEvents
            | Action::MarkScopePrincipal
            | Action::MarkExpiry
            | Action::MarkNote
            | Action::MarkConfirm
            | Action::MarkCancel => {}
            Action::MarkFalsePositive => {
                if let Some(row) = self.selected_window() {
                    self.mode = Mode::Mark(Box::new(MarkDialog {
                        row,
                        scope: Scope::Entity,
                        expires_days: None,
                        note: String::new(),
                        editing_note: false,
                    }));
                }
            }
            Action::MarkTruePositive => {
                if let Some(row) = self.selected_window() {
                    self.notice = Some("confirmed as a true positive; it stays flagged".into());
                    self.hold_position = true;
                    return vec![Command::Pipeline(PipelineCommand::Label(Box::new(LabelRequest {
                        row,
                        verdict: Verdict::TruePositive,
                        scope: Scope::Entity,
                        note: None,
                        expires_days: None,
                    })))];
                }
            }
            Action::UndoLabel => {
                if let Some(row) = self.selected_window() {
                    // Labels are withdrawn from the window they were given to.
                    if row.verdict.is_none() {
                        self.notice = Some("this window has no label of its own to withdraw".into());
                        return vec![];
                    }
                    self.notice = Some("label withdrawn; retraining".into());
                    return vec![Command::Pipeline(PipelineCommand::Undo {
                        window_start: row.row.window_start,
                        entity: row.row.entity,
                    })];
                }
            }
        }
        vec![]
    }

    /// The entity-window under the cursor, in a list or a drill-down.
    fn selected_window(&self) -> Option<ScoredRow> {
        match &self.detail {
            Some(d) => d.row.clone(),
            None => self.selected_row().cloned(),
        }
    }
}
