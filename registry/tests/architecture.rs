//! The house's one-way arrows, checked on the source: which top-level module of
//! `registry/src` may import which (`docs/architecture.md`, "What may import what").
//! A `use crate::…` that points back up fails here, naming the files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the source tree") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The top-level module a file belongs to (`content/uploads.rs` → `content`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// The `crate::<module>` paths a file's code names (comments left out).
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

struct Graph {
    /// module → module it imports → the files that do.
    edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// module → whether its code names axum.
    uses_axum: BTreeMap<String, BTreeSet<String>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut uses_axum: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources(&src) {
        let Some(from) = module_of(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("a source file");
        let shown = file.strip_prefix(&src).unwrap().display().to_string();
        if text.contains("axum::") {
            uses_axum
                .entry(from.clone())
                .or_default()
                .insert(shown.clone());
        }
        for to in imports(&text) {
            if to != from {
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(shown.clone());
            }
        }
    }
    Graph { edges, uses_axum }
}

/// A cycle through `start`, if there is one (depth-first search).
fn cycle_from(g: &Graph, start: &str) -> Option<Vec<String>> {
    fn walk(g: &Graph, at: &str, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> bool {
        if let Some(i) = path.iter().position(|p| p == at) {
            path.drain(..i);
            path.push(at.to_owned());
            return true;
        }
        if !done.insert(at.to_owned()) {
            return false;
        }
        path.push(at.to_owned());
        for next in g.edges.get(at).into_iter().flat_map(|e| e.keys()) {
            if walk(g, next, path, done) {
                return true;
            }
        }
        path.pop();
        false
    }
    let mut path = Vec::new();
    walk(g, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn the_modules_of_the_registry_import_each_other_in_one_direction() {
    let g = graph();
    assert!(
        g.edges.len() >= 10,
        "too few modules found: {:?}",
        g.edges.keys()
    );
    for module in g.edges.keys() {
        if let Some(cycle) = cycle_from(&g, module) {
            let shown: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} → {} ({:?})", w[0], w[1], g.edges[&w[0]][&w[1]]))
                .collect();
            panic!("import cycle:\n  {}", shown.join("\n  "));
        }
    }
}

#[test]
fn only_the_wiring_knows_every_part() {
    let g = graph();
    // (module, the only modules that may import it)
    let rules: [(&str, &[&str]); 6] = [
        ("server", &[]),
        // Fuzz targets reach into the parsers; nothing serves through them.
        ("fuzzing", &[]),
        ("start", &["server"]),
        ("web", &["server", "start"]),
        ("cluster", &["server", "start"]),
        ("state", &["server", "start", "web"]),
    ];
    for (module, allowed) in rules {
        for (from, to) in &g.edges {
            if let Some(files) = to.get(module) {
                assert!(
                    allowed.contains(&from.as_str()),
                    "{from} imports {module} ({files:?}); only {allowed:?} may"
                );
            }
        }
    }
}

#[test]
fn nothing_below_the_http_surfaces_speaks_http_frameworks() {
    let g = graph();
    for module in [
        "content",
        "storage",
        "packages",
        "policy",
        "cluster",
        "start",
        "maintenance",
        "fuzzing",
        "webhooks",
    ] {
        assert!(
            !g.uses_axum.contains_key(module),
            "{module} uses axum: {:?}",
            g.uses_axum[module]
        );
    }
    assert!(
        g.uses_axum.contains_key("web"),
        "the check finds axum at all"
    );
}

#[test]
fn the_import_scan_reads_paths_and_skips_comments() {
    let found = imports(
        "use crate::content::Content; // crate::web\nlet x = crate::oci::path::parse_route;",
    );
    assert_eq!(
        found,
        BTreeSet::from(["content".to_owned(), "oci".to_owned()])
    );
}
