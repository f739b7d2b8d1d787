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
}
