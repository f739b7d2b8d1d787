//! trailtop: `top` for AWS CloudTrail.
//!
//! The data path is one-way: source → parse → features → model → pipeline → app state → ui,
//! with the console loop (`console`) wiring them and `config` under them.

// Display code formats and splits strings, it never byte-slices them (a slice through a
// character panics, and log content chooses the characters); library code outside tests
// does not unwrap.
#![cfg_attr(not(test), warn(clippy::string_slice))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
// Every public item says what it is for.
#![warn(missing_docs)]

pub mod alert;
pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod features;
pub mod fuzzing;
pub mod generate;
pub mod geo;
pub mod headless;
pub mod launch;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod sigma;
pub mod source;
pub mod sys;
pub mod text;
pub mod ui;
pub mod watch;
