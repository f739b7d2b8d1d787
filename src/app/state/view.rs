//! The four views, and a value per view.

/// The four views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Ranked entity-windows with their reasons.
    Anomalies,
    /// Every entity-window with every feature as a column.
    Entities,
    /// The newest records.
    Tail,
    /// The rank-score histogram and the selected window against the population.
    Model,
}

/// The views in tab order.
pub const VIEWS: [View; 4] = [View::Anomalies, View::Entities, View::Tail, View::Model];

/// Where a view's list stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The selected row.
    pub row: usize,
    /// Whether the analyst has moved it. Until then it stays on the top row while the ranking
    /// fills in (at start-up the first rows scored are rarely the top ones); after, it follows
    /// the row it is on.
    pub moved: bool,
}

/// One value per view, indexed by the view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerView<T>([T; 4]);

impl<T> std::ops::Index<View> for PerView<T> {
    type Output = T;

    fn index(&self, v: View) -> &T {
        &self.0[v.index()]
    }
}

impl<T> std::ops::IndexMut<View> for PerView<T> {
    fn index_mut(&mut self, v: View) -> &mut T {
        &mut self.0[v.index()]
    }
}

impl View {
    /// The view's position in [`VIEWS`].
    pub fn index(self) -> usize {
        VIEWS.iter().position(|v| *v == self).unwrap_or(0)
    }
    /// The tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Anomalies => "Anomalies",
            View::Entities => "Entities",
            View::Tail => "Tail",
            View::Model => "Model",
        }
    }
}
