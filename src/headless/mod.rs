//! `scan` (and later `eval`): the same stages as the console, without a terminal.

pub mod collect;
pub mod eval;
pub mod labels;
pub mod scan;
