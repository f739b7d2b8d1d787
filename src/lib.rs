//! trailtop: `top` for AWS CloudTrail.
//!
//! The data path is one-way: source → parse → features → model → app state → view.

pub mod parse;
pub mod source;
