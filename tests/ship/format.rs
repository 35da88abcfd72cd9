//! The storage layout's format marker, as `registry serve` reads it at start.

use crate::common::{Berth, serve_refused};

/// The layout this build writes (`registry/src/content/format.rs`).
const FORMAT: u32 = 1;

#[test]
fn a_fresh_data_dir_is_marked_with_the_current_format() {
    let berth = Berth::start().ready();
    let marker = std::fs::read_to_string(berth.data_dir.join("_berth/format")).unwrap();
    let marker: serde_json::Value = serde_json::from_str(&marker).unwrap();
    assert_eq!(marker["format"], FORMAT, "{marker}");
    assert_eq!(
        marker["writtenBy"],
        format!("berth {}", env!("CARGO_PKG_VERSION")),
        "{marker}"
    );
}

#[test]
fn a_newer_layout_stops_registry_serve_naming_both_formats_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let newer = FORMAT + 1;
    std::fs::create_dir_all(dir.path().join("_berth")).unwrap();
    std::fs::write(
        dir.path().join("_berth/format"),
        format!(r#"{{"format": {newer}, "writtenBy": "berth 99.0.0"}}"#),
    )
    .unwrap();
    let out = serve_refused(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it exited {}: {stderr}", out.status);
    assert!(
        stderr.contains(&format!("format {newer}")) && stderr.contains(&format!("format {FORMAT}")),
        "the message names both formats: {stderr}"
    );
    assert!(
        !dir.path().join("auth").exists(),
        "nothing (not even the bootstrap admin's token) was written"
    );
    let marker = std::fs::read_to_string(dir.path().join("_berth/format")).unwrap();
    assert!(
        marker.contains(&format!("\"format\": {newer}")),
        "the marker is untouched: {marker}"
    );
}
