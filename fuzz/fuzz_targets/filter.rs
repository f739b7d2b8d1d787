//! Fuzz target: see `trailtop::fuzzing::filter`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailtop::fuzzing::filter(data));
