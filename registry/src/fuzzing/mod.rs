//! Fuzz targets: the parsers a stranger's bytes reach, each with the properties its
//! output must keep. `fuzz/` runs them under libFuzzer (`make fuzz`); the test suite
//! replays every corpus through them (`registry/tests/fuzz_smoke.rs`), so an input that
//! crashed once stays fixed. A target panics on a broken property; returning is a pass.

mod auth;
mod oci;
mod policy;

/// A fuzz target: bytes in, a panic when a property breaks.
pub type Target = fn(&[u8]);

/// Every target by name; `fuzz/fuzz_targets/NAME.rs` runs `TARGETS[NAME]`, and its
/// corpus is `fuzz/corpus/NAME/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("reference", oci::reference),
    ("digest", oci::digest),
    ("range", oci::range),
    ("route", oci::route),
    ("manifest", oci::manifest),
    ("jwt", auth::jwt),
    ("authorization", auth::authorization),
    ("scope", auth::scope),
    ("upload_state", auth::upload_state),
    ("policy", policy::policy),
];

/// The target called `name`.
pub fn target(name: &str) -> Target {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("no fuzz target {name:?}"))
}

/// Fuzzers hand over bytes; the parsers read text, as headers and paths do once HTTP
/// has decoded them. Invalid UTF-8 is replaced rather than skipped, so every input
/// reaches the parser.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}
