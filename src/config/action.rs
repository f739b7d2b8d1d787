//! What the user can ask for. Keys map to these through the keymap.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    ForceQuit,
    Help,
    NextView,
    PrevView,
    ViewAnomalies,
    ViewEntities,
    ViewTail,
    ViewModel,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Open,
    Back,
    Filter,
    Follow,
    SortNext,
    SortPrev,
    SortReverse,
    HideColumn,
    ShowColumns,
    ThresholdUp,
    ThresholdDown,
    Span,
    Copy,
    MarkFalsePositive,
    MarkTruePositive,
    UndoLabel,
    /// In the false-positive dialog: the scope, the expiry, the note, and the verdict.
    MarkScopeEntity,
    MarkScopeEvents,
    MarkScopePrincipal,
    MarkExpiry,
    MarkNote,
    MarkConfirm,
    MarkCancel,
}

/// Which bindings apply: each mode of the console reads its own layer of the keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The lists and the drill-down: `global` and `list` bindings.
    Normal,
    /// The false-positive dialog: `mark` bindings only.
    Mark,
}

impl Layer {
    /// The keymap contexts this layer reads.
    pub fn contexts(self) -> &'static [&'static str] {
        match self {
            Layer::Normal => &["global", "list"],
            Layer::Mark => &["mark"],
        }
    }
}
