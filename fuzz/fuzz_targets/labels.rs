//! Fuzz target: see `trailtop::fuzzing::labels`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailtop::fuzzing::labels(data));
