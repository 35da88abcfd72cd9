//! The fuzz smoke: every fuzz target (`berth_registry::fuzzing`) over its whole corpus
//! in `fuzz/corpus/NAME/` (seeds, what long runs kept, and every input that once crashed),
//! then a fixed number of inputs mutated from it with a fixed seed. Long, coverage-guided
//! runs are `make fuzz`; this keeps what they found fixed.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use berth_registry::fuzzing::{TARGETS, Target};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mutated inputs per target, on top of its corpus.
const MUTATIONS: usize = 2_000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; every target needs a corpus", dir.display()))
        .map(|e| e.expect("a corpus entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).expect("a corpus file");
            (p.file_name().unwrap().to_string_lossy().into_owned(), data)
        })
        .collect()
}

/// Runs `target` on `input`, naming the input if a property breaks.
fn run(name: &str, target: Target, what: &str, input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
        panic!(
            "fuzz target {name} failed on {what}: {:?}\n(save the bytes as fuzz/corpus/{name}/crash-… once fixed)",
            String::from_utf8_lossy(input)
        );
    }
}

/// Bytes that matter to these grammars.
const TOKENS: &[&[u8]] = &[
    b"/",
    b":",
    b"-",
    b".",
    b",",
    b" ",
    b"\n",
    b"=",
    b"sha256:",
    b"bytes=",
    b"manifests/",
    b"blobs/",
    b"uploads/",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b"0",
    b"18446744073709551615",
    b"\xff",
    b"%2F",
    b"---\n",
];

fn mutate(rng: &mut StdRng, base: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=v.len());
        match rng.random_range(0..6) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            2 => {
                let end = rng.random_range(at..=v.len());
                v.drain(at..end);
            }
            3 => {
                let end = rng.random_range(at..=v.len().min(at + 64));
                let span = v[at..end].to_vec();
                v.splice(at..at, span);
            }
            4 => {
                let from = rng.random_range(0..=other.len());
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            _ => v.insert(at, rng.random()),
        }
    }
    v
}

#[test]
fn every_target_survives_its_corpus_and_mutations_of_it() {
    for &(name, target) in TARGETS {
        let inputs = corpus(name);
        assert!(!inputs.is_empty(), "fuzz/corpus/{name}/ is empty");
        for (file, data) in &inputs {
            run(name, target, &format!("fuzz/corpus/{name}/{file}"), data);
        }
        let mut rng = StdRng::seed_from_u64(0xbe27);
        for i in 0..MUTATIONS {
            let base = &inputs[rng.random_range(0..inputs.len())].1;
            let other = &inputs[rng.random_range(0..inputs.len())].1;
            let input = mutate(&mut rng, base, other);
            run(name, target, &format!("mutation {i}"), &input);
        }
    }
}

#[test]
fn the_fuzz_project_builds_every_target_and_nothing_else() {
    let names: BTreeSet<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    let files: BTreeSet<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    assert_eq!(files, names, "fuzz/fuzz_targets/ against fuzzing::TARGETS");
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for name in &names {
        let file =
            std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs"))).unwrap();
        assert!(
            file.contains(&format!("target(\"{name}\")")),
            "{name}.rs runs {name}"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has a [[bin]] for {name}"
        );
    }
}

#[test]
fn a_broken_property_is_reported() {
    // The smoke must be able to fail: a target that panics is caught and named.
    fn broken(_: &[u8]) {
        panic!("property");
    }
    let outcome = catch_unwind(|| run("broken", broken, "an input", b"x"));
    let message = outcome.expect_err("a failing target fails the smoke");
    let text = message.downcast_ref::<String>().expect("a message");
    assert!(
        text.contains("fuzz target broken failed on an input"),
        "{text}"
    );
}
