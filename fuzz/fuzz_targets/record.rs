//! Fuzz target: see `trailtop::fuzzing::record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailtop::fuzzing::record(data));
