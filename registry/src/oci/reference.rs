//! Repository names, tags and references, with the distribution-spec grammars.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::digest::{Digest, DigestError};

/// The longest repository name accepted (distribution's and GHCR's limit).
pub const MAX_NAME_LEN: usize = 255;

static NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    // distribution-spec: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
    Regex::new(
        r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$",
    )
    .expect("name grammar")
});
static TAG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$").expect("tag grammar"));

/// Why a name or reference is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error(
        "repository name {0:?} is invalid: use lowercase letters, digits and separators (. _ __ -), components joined by /"
    )]
    Grammar(String),
    #[error("repository name is {0} characters long; the limit is {MAX_NAME_LEN}")]
    TooLong(usize),
    #[error("repository name {0:?} needs an owner namespace: OWNER/IMAGE")]
    NoOwner(String),
    #[error("tag {0:?} is invalid: up to 128 of [A-Za-z0-9_.-], not starting with . or -")]
    Tag(String),
    #[error(transparent)]
    Digest(#[from] DigestError),
}

/// A validated repository name, `OWNER/IMAGE[/…]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(s.len()));
        }
        if !NAME_RE.is_match(s) {
            return Err(NameError::Grammar(s.to_owned()));
        }
        if !s.contains('/') {
            return Err(NameError::NoOwner(s.to_owned()));
        }
        Ok(RepoName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owner namespace: the first path component.
    pub fn owner(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// The package name within the owner: everything after the first component.
    pub fn package(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, p)| p)
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A validated tag.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Tag(String);

impl Tag {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if TAG_RE.is_match(s) {
            Ok(Tag(s.to_owned()))
        } else {
            Err(NameError::Tag(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a manifest request names: a tag or a digest.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.contains(':') {
            Ok(Reference::Digest(s.parse()?))
        } else {
            Ok(Reference::Tag(Tag::parse(s)?))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec_grammar() {
        for ok in [
            "a/b",
            "acme/app/release",
            "a-b/c__d",
            "a.b/c--d",
            "o/x0_y.z",
        ] {
            assert!(RepoName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "A/b", "a//b", "a/b/", "/a", "a/-b", "a/b_", "a/b___c", "a/b:c",
        ] {
            assert!(
                matches!(RepoName::parse(bad), Err(NameError::Grammar(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            RepoName::parse("alone"),
            Err(NameError::NoOwner(_))
        ));
        let long = format!("a/{}", "b".repeat(254));
        assert_eq!(RepoName::parse(&long), Err(NameError::TooLong(256)));
    }

    #[test]
    fn owner_and_package_split_at_the_first_component() {
        let n = RepoName::parse("acme/app/release").unwrap();
        assert_eq!(n.owner(), "acme");
        assert_eq!(n.package(), "app/release");
    }

    #[test]
    fn tags_and_references() {
        assert!(Tag::parse("v1.0_rc-1").is_ok());
        assert!(Tag::parse(&"a".repeat(128)).is_ok());
        for bad in ["", ".x", "-x", "a/b", &"a".repeat(129)] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(Reference::parse("latest"), Ok(Reference::Tag(_))));
        let d = Digest::sha256_of(b"x").to_string();
        assert!(matches!(Reference::parse(&d), Ok(Reference::Digest(_))));
        assert!(matches!(
            Reference::parse("sha256:zz"),
            Err(NameError::Digest(_))
        ));
    }
}
