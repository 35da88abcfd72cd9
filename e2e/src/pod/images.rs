//! Which local executable stands in for which container image.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// Container images mapped to local executables: Berth's image to the `berth` binary, a
/// test's image to `/bin/sh`. An entry matches an image exactly, or its repository (the
/// image without tag or digest), so `ghcr.io/acme/berth` matches `ghcr.io/acme/berth:1.2`.
#[derive(Clone, Debug, Default)]
pub struct Images {
    entries: Vec<(String, PathBuf)>,
}

impl Images {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `image` (with or without a tag) to `executable`.
    pub fn map(mut self, image: impl Into<String>, executable: impl Into<PathBuf>) -> Self {
        self.entries.push((image.into(), executable.into()));
        self
    }

    /// The executable for `image`.
    pub fn resolve(&self, image: &str) -> Result<&Path> {
        let repository = repository(image);
        match self
            .entries
            .iter()
            .find(|(entry, _)| entry == image || entry == repository)
        {
            Some((_, executable)) => Ok(executable),
            None => bail!(
                "no local executable for image {image:?}: map it with Images::map (mapped: {:?})",
                self.entries
                    .iter()
                    .map(|(image, _)| image)
                    .collect::<Vec<_>>()
            ),
        }
    }
}

/// The image without its `@digest` and `:tag` (a colon before the last `/` is a port).
fn repository(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_drops_tag_and_digest_but_not_port() {
        assert_eq!(repository("ghcr.io/acme/berth:1.2"), "ghcr.io/acme/berth");
        assert_eq!(repository("localhost:5000/berth"), "localhost:5000/berth");
        assert_eq!(
            repository("localhost:5000/berth:v1@sha256:ab"),
            "localhost:5000/berth"
        );
        assert_eq!(repository("busybox"), "busybox");
    }

    #[test]
    fn resolves_by_image_or_repository() {
        let images = Images::new()
            .map("ghcr.io/acme/berth", "/bin/berth")
            .map("busybox:1.36", "/bin/sh");
        assert_eq!(
            images.resolve("ghcr.io/acme/berth:0.1").unwrap(),
            Path::new("/bin/berth")
        );
        assert_eq!(
            images.resolve("busybox:1.36").unwrap(),
            Path::new("/bin/sh")
        );
        assert!(images.resolve("busybox:latest").is_err());
    }
}
