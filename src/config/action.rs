//! What the user can ask for. Keys map to these through the keymap.

use serde::Deserialize;

/// What a key does; the keymap maps key names to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Quit, or back out of a drill-down first.
    Quit,
    /// Quit at once.
    ForceQuit,
    /// Show the keys.
    Help,
    /// The next view.
    NextView,
    /// The previous view.
    PrevView,
    /// The anomalies view.
    ViewAnomalies,
    /// The entities view.
    ViewEntities,
    /// The tail.
    ViewTail,
    /// The model view.
    ViewModel,
    /// Move down a row (scroll down in the JSON and the help).
    Down,
    /// Move up a row.
    Up,
    /// Move down a page.
    PageDown,
    /// Move up a page.
    PageUp,
    /// The first row.
    Top,
    /// The last row.
    Bottom,
    /// Drill down: a window's records, then a record's JSON.
    Open,
    /// Back out of the JSON or the drill-down; clear the filter in a list.
    Back,
    /// Open the filter bar.
    Filter,
    /// Pause or follow the tail.
    Follow,
    /// Sort the entity table by the next column.
    SortNext,
    /// Sort the entity table by the previous column.
    SortPrev,
    /// Reverse the entity table's sort.
    SortReverse,
    /// Hide the entity table's sort column.
    HideColumn,
    /// Show every column again.
    ShowColumns,
    /// Flag fewer windows.
    ThresholdUp,
    /// Flag more windows.
    ThresholdDown,
    /// Change the rate chart's span.
    Span,
    /// Copy the selected ARN or record (OSC 52).
    Copy,
    /// Open the false-positive dialog.
    MarkFalsePositive,
    /// Confirm the window as a true positive.
    MarkTruePositive,
    /// Withdraw the label on the window.
    UndoLabel,
    /// Group the Entities view by source address instead of principal, or back.
    GroupBy,
    /// Everything the access key of the record in focus did.
    PivotAccessKey,
    /// The session of the record in focus, traced back to the identity behind it.
    PivotSession,
    /// Everything from the address of the record in focus, and who was behind it.
    PivotAddress,
    /// Every principal's records around the time of the record in focus.
    PivotAround,
    /// Scroll the drill-down's explanation down.
    ExplainDown,
    /// Scroll the drill-down's explanation up.
    ExplainUp,
    /// Search the drill-down's records (they stay listed; matches are marked).
    Search,
    /// The next record the search matches.
    SearchNext,
    /// The previous record the search matches.
    SearchPrev,
    /// In the false-positive dialog: the scope, the expiry, the note, and the verdict.
    MarkScopeEntity,
    /// Scope: this entity's windows with these event names only.
    MarkScopeEvents,
    /// Scope: this principal, from any address.
    MarkScopePrincipal,
    /// Cycle the expiry.
    MarkExpiry,
    /// Type a note.
    MarkNote,
    /// Record the false positive.
    MarkConfirm,
    /// Close the dialog without a label.
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
    /// The layer a binding's `context` belongs to.
    pub fn of(context: &str) -> Layer {
        if Layer::Mark.contexts().contains(&context) { Layer::Mark } else { Layer::Normal }
    }

    /// The keymap contexts this layer reads.
    pub fn contexts(self) -> &'static [&'static str] {
        match self {
            Layer::Normal => &["global", "list"],
            Layer::Mark => &["mark"],
        }
    }
}
