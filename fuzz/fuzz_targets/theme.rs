//! Fuzz target: see `trailtop::fuzzing::theme`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailtop::fuzzing::theme(data));
