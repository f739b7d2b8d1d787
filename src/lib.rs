//! trailtop: `top` for AWS CloudTrail.
//!
//! The data path is one-way: source → parse → features → model → app state → view.

pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod features;
pub mod fuzzing;
pub mod generate;
pub mod headless;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod source;
pub mod sys;
pub mod text;
pub mod ui;
