//! The console's state and its pure update step ([`state`]) and the filter language
//! ([`filter`]). No terminal and no I/O: the console
//! loop feeds it and the `ui` stage draws it.

pub mod filter;
pub mod state;
