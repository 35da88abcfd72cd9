#![no_main]

// The target and its properties: berth_registry::fuzzing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_registry::fuzzing::target("digest")(data));
