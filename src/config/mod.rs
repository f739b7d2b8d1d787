//! Configuration: where files live ([`paths`]), the keymap ([`keymap`]), the colour
//! themes ([`theme`]), each loaded over built-in defaults that always work, and the analyst's
//! saved queries and history ([`queries`]).

pub mod action;
pub mod keymap;
pub mod paths;
pub mod queries;
pub mod theme;
