//! The referrers index: for each subject digest, the descriptors of the manifests that
//! name it as their `subject`.

use super::error::Result;
use super::{Content, corrupt, keys};
use crate::oci::digest::Digest;
use crate::oci::manifest::Descriptor;
use crate::oci::reference::RepoName;

impl Content {
    /// Manifests in `repo` whose subject is `subject`, optionally only those of
    /// `artifact_type`, ordered by digest.
    pub async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        let dir = keys::referrers(repo, subject);
        let mut out = Vec::new();
        for name in self.storage.list(&dir).await? {
            let Some(raw) = self.storage.get(&format!("{dir}/{name}")).await? else {
                continue; // deleted meanwhile
            };
            let d: Descriptor = serde_json::from_slice(&raw).map_err(corrupt)?;
            if artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)) {
                out.push(d);
            }
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }
}
