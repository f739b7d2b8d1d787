//! Fuzz target: see `trailtop::fuzzing::keymap`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailtop::fuzzing::keymap(data));
