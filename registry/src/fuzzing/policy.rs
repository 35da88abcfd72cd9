//! The policy directory's YAML, which a repository's committers (GitOps) write.

use std::path::Path;

use crate::policy::PolicySettings;
use crate::policy::PolicySnapshot;
use crate::policy::dir::parse_documents;

use super::text;

/// A policy file either is refused with a reason or builds a snapshot, whatever its
/// packages say; a package it defines is found in that snapshot under its owner and
/// name.
pub fn policy(data: &[u8]) {
    let Ok((orgs, packages)) = parse_documents(Path::new("fuzz.yaml"), &text(data)) else {
        return;
    };
    let snapshot = PolicySnapshot::build(orgs.iter(), &packages, &PolicySettings::default());
    for p in &packages {
        let found = snapshot.package(&p.spec.owner, &p.spec.name).is_some();
        let refused = !snapshot.problems().is_empty();
        assert!(
            found || refused,
            "{}/{} vanished without a problem",
            p.spec.owner,
            p.spec.name
        );
    }
}
