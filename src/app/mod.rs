//! The console's state and its pure update step ([`state`]) and the filter language
//! ([`filter`]). No terminal and no I/O: the console
//! loop feeds it and the `ui` stage draws it.

mod chain;
pub mod evidence;
pub mod filter;
mod gather;
pub mod pivot;
pub mod state;
