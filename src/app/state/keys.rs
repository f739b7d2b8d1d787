//! Where a key press goes: one routing by [`Mode`]. Text entry (the filter bar, the note)
//! takes characters; the mark dialog reads its own layer of the keymap; everything else reads
//! the normal layer, and the help closes on any key that does not scroll it.

use crossterm::event::{KeyCode, KeyEvent};

use super::{AppState, Command, Mode};
use crate::app::filter::Filter;
use crate::config::action::{Action, Layer};
use crate::model::feedback::{Scope, Verdict};
use crate::pipeline::{LabelRequest, PipelineCommand};

const EXPIRIES: [Option<u32>; 4] = [None, Some(1), Some(7), Some(30)];

impl AppState {
    /// A key press. `lookup` is the keymap: the action a key has in a layer.
    pub fn on_key(&mut self, key: KeyEvent, lookup: impl Fn(Layer, &KeyEvent) -> Option<Action>) -> Vec<Command> {
        let commands = self.route_key(key, lookup);
        if let Some(d) = &mut self.detail {
            d.fill_params(self.page);
        }
        commands
    }

    fn route_key(&mut self, key: KeyEvent, lookup: impl Fn(Layer, &KeyEvent) -> Option<Action>) -> Vec<Command> {
        // Quitting at once works from anywhere, text entry included (ctrl-c typed a `c`).
        if lookup(Layer::Normal, &key) == Some(Action::ForceQuit) {
            self.quit = true;
            return vec![];
        }
        match &self.mode {
            Mode::Filter(_) | Mode::Search(_) => self.on_bar_key(key),
            Mode::Mark(d) if d.editing_note => {
                self.on_note_key(key);
                vec![]
            }
            Mode::Mark(_) => lookup(Layer::Mark, &key).map_or_else(Vec::new, |a| self.on_mark_action(a)),
            // Help says any key closes it: a key bound to nothing does too.
            Mode::Help { .. } => match lookup(Layer::Normal, &key) {
                Some(a) => self.update(a),
                None => {
                    self.mode = Mode::Normal;
                    vec![]
                }
            },
            Mode::Normal => lookup(Layer::Normal, &key).map_or_else(Vec::new, |a| self.update(a)),
        }
    }

    /// Keys typed while the filter bar or the drill-down's search bar is open: both take the
    /// query language (with saved queries, `@name`), Up and Down recall earlier queries, and
    /// an error is said in the bar, which stays open to fix it.
    fn on_bar_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let (Mode::Filter(input) | Mode::Search(input)) = &mut self.mode else { return vec![] };
        // An error shown in the bar lasts until the next key.
        self.notice = None;
        match key.code {
            KeyCode::Up | KeyCode::Down => {
                let n = self.queries.history.len();
                let at = match (key.code, &self.recall) {
                    (KeyCode::Up, None) if n > 0 => Some(0),
                    (KeyCode::Up, Some((i, _))) => Some((i + 1).min(n.saturating_sub(1))),
                    (KeyCode::Down, Some((i, _))) if *i > 0 => Some(i - 1),
                    (KeyCode::Down, Some(_)) => None,
                    _ => return vec![],
                };
                // What was being typed comes back below the newest entry, as in a shell.
                let draft = match self.recall.take() {
                    Some((_, draft)) => draft,
                    None => input.value().to_owned(),
                };
                match at {
                    Some(i) => {
                        *input = self.queries.history[i].as_str().into();
                        self.recall = Some((i, draft));
                    }
                    None => *input = draft.as_str().into(),
                }
                vec![]
            }
            KeyCode::Enter => {
                let typed = input.value().to_owned();
                let parsed = self.queries.resolve(&typed).and_then(|r| Ok((Filter::parse(&r.text)?, r.define)));
                let (mut q, define) = match parsed {
                    Ok(p) => p,
                    // The query in force stays.
                    Err(e) => {
                        self.notice = Some(e);
                        return vec![];
                    }
                };
                q.text = typed.trim().to_owned();
                self.recall = None;
                let searching = matches!(self.mode, Mode::Search(_));
                self.mode = Mode::Normal;
                if searching {
                    let Some(d) = &mut self.detail else { return vec![] };
                    d.search = Some(q).filter(|q| !q.is_empty());
                    // From the record before the selected one, so a match there is found.
                    d.sel = d.sel.wrapping_sub(1);
                    let said = d.search_step(true);
                    d.sel = d.sel.min(d.events.len().saturating_sub(1));
                    self.notice = Some(said);
                } else {
                    self.filter = q;
                    self.cursors = Default::default();
                    self.rebuild();
                    self.refilter_detail();
                }
                self.queries.remember(&typed);
                if let Some((name, body)) = define {
                    self.notice = Some(format!("saved as @{name}"));
                    self.queries.saved.insert(name, body);
                }
                vec![Command::SaveQueries(self.queries.clone())]
            }
            KeyCode::Esc => {
                self.recall = None;
                self.mode = Mode::Normal;
                vec![]
            }
            _ => {
                input.key(key);
                vec![]
            }
        }
    }

    /// Keys typed into the mark dialog's note.
    fn on_note_key(&mut self, key: KeyEvent) {
        let Mode::Mark(d) = &mut self.mode else { return };
        match key.code {
            KeyCode::Enter | KeyCode::Esc => d.editing_note = false,
            KeyCode::Backspace => {
                d.note.pop();
            }
            // Only what the scrubber would keep: no controls, bidi overrides or invisibles.
            KeyCode::Char(c) if crate::parse::sanitize::displayable(c) && d.note.chars().count() < 200 => {
                d.note.push(c)
            }
            _ => {}
        }
    }

    /// An action of the mark dialog's layer.
    fn on_mark_action(&mut self, action: Action) -> Vec<Command> {
        let Mode::Mark(d) = &mut self.mode else { return vec![] };
        match action {
            Action::MarkScopeEntity => d.scope = Scope::Entity,
            Action::MarkScopeEvents => d.scope = Scope::EntityEvents,
            Action::MarkScopePrincipal => d.scope = Scope::Principal,
            Action::MarkExpiry => {
                let i = EXPIRIES.iter().position(|e| *e == d.expires_days).unwrap_or(0);
                d.expires_days = EXPIRIES[(i + 1) % EXPIRIES.len()];
            }
            Action::MarkNote => d.editing_note = true,
            Action::MarkCancel => self.mode = Mode::Normal,
            Action::MarkConfirm => {
                let Mode::Mark(d) = std::mem::replace(&mut self.mode, Mode::Normal) else { return vec![] };
                self.notice = Some(format!("false positive ({}) recorded; retraining", d.scope.describe()));
                self.hold_position = true;
                return vec![Command::Pipeline(PipelineCommand::Label(Box::new(LabelRequest {
                    row: d.row,
                    verdict: Verdict::FalsePositive,
                    scope: d.scope,
                    note: Some(d.note).filter(|n| !n.trim().is_empty()),
                    expires_days: d.expires_days,
                })))];
            }
            _ => {}
        }
        vec![]
    }
}
