//! The Entities view groups windows under their principal, k9s-style: a line per principal
//! (its windows, addresses, events, flags, and each feature's highest value), expanded with
//! Enter to show its windows beneath, folded again with Esc. `b` groups them by source address
//! instead, so that one address working many principals (a password spray) is one line.

use rustc_hash::FxHashMap;

use super::{AppState, SPARK_WINDOWS, View, sparkline};
use crate::features::N_FEATURES;
use crate::model::ScoredRow;

/// One principal's (or address's) windows in the Entities view.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The principal, or the address when grouped by address.
    pub key: String,
    /// Its windows that pass the filter, in the table's sort order.
    pub windows: Vec<usize>,
    /// Its best-ranked window (what marking, pivots and the model view take from the line).
    pub best: usize,
    /// Events over its windows.
    pub events: u64,
    /// Of its windows, those flagged.
    pub flagged: usize,
    /// Distinct source addresses (grouped by address: distinct principals).
    pub others: usize,
    /// The start of its newest window.
    pub last: i64,
    /// Each feature's highest value over its windows.
    pub features: [f64; N_FEATURES],
    /// Events in its last windows, as a sparkline.
    pub spark: String,
}

/// A line of the Entities view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityLine {
    /// A principal: an index into [`super::Lists::groups`].
    Principal(usize),
    /// One of an expanded principal's windows: an index into the snapshot's rows.
    Window(usize),
}

/// The key a line keeps across snapshots: a principal, or a window (start, entity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKey {
    /// A principal's line.
    Principal(String),
    /// A window's line.
    Window(i64, String),
}

/// The groups of the windows `members` (indices into `rows`, ascending) with `sorted` the same
/// windows in the table's order: a principal comes where its first window in that order does,
/// so the principal with the highest value of the sort column leads.
pub fn groups(rows: &[ScoredRow], members: &[usize], sorted: &[usize], by_address: bool) -> Vec<Group> {
    struct Acc<'r> {
        group: Group,
        best_rank: usize,
        others: rustc_hash::FxHashSet<&'r str>,
        per_start: FxHashMap<i64, u64>,
    }
    // In memory order: each window's group, and what the group sums (the table's order visits
    // the rows at random, and that cost more than the rest of the view).
    let mut at: FxHashMap<&str, usize> = FxHashMap::default();
    let mut gid = vec![usize::MAX; rows.len()];
    let mut acc: Vec<Acc> = Vec::new();
    for &i in members {
        let r = &rows[i];
        let (key, other) = match by_address {
            false => (&r.row.principal, &r.row.source_ip),
            true => (&r.row.source_ip, &r.row.principal),
        };
        let g = *at.entry(key).or_insert_with(|| {
            acc.push(Acc {
                group: Group {
                    key: key.clone(),
                    windows: Vec::new(),
                    best: i,
                    events: 0,
                    flagged: 0,
                    others: 0,
                    last: i64::MIN,
                    features: [f64::MIN; N_FEATURES],
                    spark: String::new(),
                },
                best_rank: r.rank,
                others: Default::default(),
                per_start: Default::default(),
            });
            acc.len() - 1
        });
        gid[i] = g;
        let a = &mut acc[g];
        a.group.events += r.row.events;
        a.group.flagged += usize::from(r.flagged);
        a.group.last = a.group.last.max(r.row.window_start);
        if r.rank < a.best_rank {
            (a.group.best, a.best_rank) = (i, r.rank);
        }
        for (m, v) in a.group.features.iter_mut().zip(&r.row.features) {
            *m = m.max(*v);
        }
        a.others.insert(other);
        *a.per_start.entry(r.row.window_start).or_default() += r.row.events;
    }
    // In the table's order: each group's windows, and the groups' order.
    let mut order = Vec::with_capacity(acc.len());
    for &i in sorted {
        let g = gid[i];
        if acc[g].group.windows.is_empty() {
            order.push(g);
        }
        acc[g].group.windows.push(i);
    }
    let mut groups: Vec<Option<Group>> = acc
        .into_iter()
        .map(|a| {
            let mut g = a.group;
            g.others = a.others.len();
            let mut starts: Vec<(i64, u64)> = a.per_start.into_iter().collect();
            starts.sort_unstable();
            let last: Vec<u64> = starts.iter().rev().take(SPARK_WINDOWS).rev().map(|p| p.1).collect();
            g.spark = sparkline(&last);
            Some(g)
        })
        .collect();
    order.into_iter().filter_map(|g| groups[g].take()).collect()
}

impl AppState {
    /// The lines of the Entities view: each group, and the windows of those expanded.
    pub(super) fn flatten_entities(&mut self) {
        let mut lines = Vec::with_capacity(self.lists.groups.len());
        for (gi, g) in self.lists.groups.iter().enumerate() {
            lines.push(EntityLine::Principal(gi));
            if self.expanded.contains(&g.key) {
                lines.extend(g.windows.iter().map(|&i| EntityLine::Window(i)));
            }
        }
        self.lists.entities = lines;
    }

    /// The row a line stands for: a window's own, a principal's best-ranked.
    pub(super) fn line_row(&self, line: EntityLine) -> Option<usize> {
        match line {
            EntityLine::Window(i) => Some(i),
            EntityLine::Principal(g) => self.lists.groups.get(g).map(|g| g.best),
        }
    }

    /// The key of an Entities line, to find it again in the next snapshot.
    pub(super) fn line_key(&self, line: EntityLine) -> Option<LineKey> {
        Some(match line {
            EntityLine::Principal(g) => LineKey::Principal(self.lists.groups.get(g)?.key.clone()),
            EntityLine::Window(i) => {
                let r = &self.snap.rows.get(i)?.row;
                LineKey::Window(r.window_start, r.entity.clone())
            }
        })
    }

    /// Where the line with `key` now is.
    pub(super) fn find_line(&self, key: &LineKey) -> Option<usize> {
        self.lists.entities.iter().position(|&l| match (l, key) {
            (EntityLine::Principal(g), LineKey::Principal(p)) => self.lists.groups[g].key == *p,
            (EntityLine::Window(i), LineKey::Window(start, entity)) => {
                let r = &self.snap.rows[i].row;
                r.window_start == *start && r.entity == *entity
            }
            _ => false,
        })
    }

    /// Enter on a principal's line: shows or hides its windows. False on a window's line.
    pub(super) fn toggle_group(&mut self) -> bool {
        let cur = self.cursors[View::Entities].row;
        let Some(EntityLine::Principal(g)) = self.lists.entities.get(cur).copied() else { return false };
        let p = self.lists.groups[g].key.clone();
        if !self.expanded.remove(&p) {
            self.expanded.insert(p);
        }
        self.flatten_entities();
        true
    }

    /// `b`: groups by address instead of principal, or back.
    pub(super) fn toggle_group_by(&mut self) {
        self.group_by_address = !self.group_by_address;
        self.expanded.clear();
        self.cursors[View::Entities] = Default::default();
        self.rebuild();
    }

    /// Esc in the Entities view: folds the group the cursor is in and puts the cursor on its
    /// line. False when it is in no open group.
    pub(super) fn fold_group(&mut self) -> bool {
        let cur = self.cursors[View::Entities].row;
        let Some(line) = self.lists.entities.get(cur).copied() else { return false };
        let principal = match line {
            EntityLine::Window(i) if self.group_by_address => self.snap.rows[i].row.source_ip.clone(),
            EntityLine::Window(i) => self.snap.rows[i].row.principal.clone(),
            EntityLine::Principal(g) => self.lists.groups[g].key.clone(),
        };
        if !self.expanded.remove(&principal) {
            return false;
        }
        self.flatten_entities();
        self.cursors[View::Entities].row = self.find_line(&LineKey::Principal(principal)).unwrap_or(0);
        true
    }
}
