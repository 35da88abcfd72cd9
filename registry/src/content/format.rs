//! The storage layout's format version, kept in storage as `_berth/format`.
//!
//! A binary reads only the layouts it knows: one that finds a newer marker refuses to
//! serve (writing with old rules into a new layout would corrupt it), and an older one
//! would be migrated in place before serving. Format 1 is the first layout with a
//! marker; a store without one was written by Berth before markers existed, which is
//! the same layout, so it is read as it is and marked.

use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};

/// The layout this binary writes and the newest it reads.
pub const FORMAT: u32 = 1;

const MARKER_KEY: &str = "_berth/format";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Marker {
    format: u32,
    /// Which binary wrote the marker first, for whoever looks at a store by hand.
    #[serde(default)]
    written_by: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(
        "the storage layout is format {found}, newer than format {FORMAT}, the newest this berth {version} reads: run the berth release that wrote it or a later one (CHANGELOG.md names each release's format)",
        version = env!("CARGO_PKG_VERSION")
    )]
    Newer { found: u32 },
    #[error(
        "the storage format marker {MARKER_KEY} is not Berth's ({0}): restore it from a backup or point the registry at the right storage"
    )]
    Unreadable(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Checks `storage`'s layout against [`FORMAT`], marking a store that has no marker.
pub async fn ensure(storage: &dyn Storage) -> Result<(), FormatError> {
    let found = match storage.get(MARKER_KEY).await? {
        Some(bytes) => parse(&bytes)?,
        None => {
            let marker = Marker {
                format: FORMAT,
                written_by: format!("berth {}", env!("CARGO_PKG_VERSION")),
            };
            let bytes = serde_json::to_vec(&marker).expect("a marker serializes");
            if storage.put_if_absent(MARKER_KEY, bytes.into()).await? {
                return Ok(());
            }
            // Another replica marked it first, perhaps a newer binary: read its marker.
            let bytes = storage.get(MARKER_KEY).await?.ok_or_else(|| {
                StorageError::Unavailable(format!("{MARKER_KEY} vanished while being written"))
            })?;
            parse(&bytes)?
        }
    };
    match found {
        f if f > FORMAT => Err(FormatError::Newer { found: f }),
        // Format 1 is the first; an older layout would be migrated here.
        _ => Ok(()),
    }
}

fn parse(bytes: &[u8]) -> Result<u32, FormatError> {
    serde_json::from_slice::<Marker>(bytes)
        .map(|m| m.format)
        .map_err(|e| FormatError::Unreadable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::fs::FsStorage;

    fn store() -> (tempfile::TempDir, FsStorage) {
        let dir = tempfile::tempdir().unwrap();
        let fs = FsStorage::open(dir.path()).unwrap();
        (dir, fs)
    }

    #[tokio::test]
    async fn a_store_without_a_marker_is_marked_with_this_format() {
        let (_dir, fs) = store();
        ensure(&fs).await.unwrap();
        let marker: Marker =
            serde_json::from_slice(&fs.get(MARKER_KEY).await.unwrap().unwrap()).unwrap();
        assert_eq!(marker.format, FORMAT);
        assert!(marker.written_by.starts_with("berth "));
        ensure(&fs).await.expect("its own marker is read again");
    }

    #[tokio::test]
    async fn a_newer_layout_is_refused_naming_both_formats() {
        let (_dir, fs) = store();
        fs.put(
            MARKER_KEY,
            br#"{"format": 7, "writtenBy": "berth 9.0.0"}"#.to_vec().into(),
        )
        .await
        .unwrap();
        let e = ensure(&fs).await.unwrap_err();
        assert!(matches!(e, FormatError::Newer { found: 7 }), "{e:?}");
        let message = e.to_string();
        assert!(
            message.contains("format 7") && message.contains(&format!("format {FORMAT}")),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_marker_that_is_not_berths_is_refused() {
        let (_dir, fs) = store();
        fs.put(MARKER_KEY, b"format: one".to_vec().into())
            .await
            .unwrap();
        let e = ensure(&fs).await.unwrap_err();
        assert!(matches!(e, FormatError::Unreadable(_)), "{e:?}");
    }
}
