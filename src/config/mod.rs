//! Configuration: where files live ([`paths`]), the keymap ([`keymap`]) and the colour
//! themes ([`theme`]), each loaded over built-in defaults that always work.

pub mod action;
pub mod keymap;
pub mod paths;
pub mod theme;
