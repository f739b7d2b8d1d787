//! The console's state and its pure update step ([`state`]), the actions keys map to
//! ([`action`]) and the filter language ([`filter`]). No terminal and no I/O: the console
//! loop feeds it and the `ui` stage draws it.

pub mod action;
pub mod filter;
pub mod state;
