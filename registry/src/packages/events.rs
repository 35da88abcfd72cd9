//! What happens to packages, for whoever listens (the webhooks). A sink records an event
//! durably before the request that caused it is answered, so an event a client saw
//! succeed is never lost.

use async_trait::async_trait;

use super::versions::{Version, VersionRecord};
use super::{PackageRecord, Packages};
use crate::content::Result;
use crate::oci::reference::RepoName;

/// Where the push was addressed, for the URLs an event names.
#[derive(Clone, Debug)]
pub struct PushOrigin {
    /// The site, `http(s)://HOST`: pages and the API.
    pub site: String,
    /// The containers host as clients name it (`containers.HOST[:PORT]`), for the
    /// `docker pull` line.
    pub registry: String,
}

/// A version pushed: new, or pushed again (a tag moved onto it).
pub struct Published<'a> {
    pub repo: &'a RepoName,
    /// Who pushed: a user's login, or a workload's repository.
    pub actor: &'a str,
    pub package: &'a PackageRecord,
    pub version: &'a VersionRecord,
    /// The tags the push set.
    pub tags: &'a [String],
    pub media_type: &'a str,
    /// The image config's labels (empty for an index).
    pub labels: &'a serde_json::Map<String, serde_json::Value>,
    pub origin: &'a PushOrigin,
}

/// A whole package deleted or restored, or one of its versions (Berth's own events:
/// GitHub sends none).
pub struct PackageChanged<'a> {
    pub repo: &'a RepoName,
    pub actor: &'a str,
    /// `deleted` or `restored`.
    pub action: &'a str,
    pub package: &'a PackageRecord,
    pub origin: &'a PushOrigin,
}

/// A version deleted or restored.
pub struct VersionChanged<'a> {
    pub of: PackageChanged<'a>,
    pub version: &'a Version,
}

#[async_trait]
pub trait EventSink: Send + Sync {
    /// Records `event` for delivery; an error fails the request that caused it.
    async fn published(&self, event: Published<'_>) -> Result<()>;

    /// Records a version's delete or restore, as [`EventSink::published`] does.
    async fn version_changed(&self, event: VersionChanged<'_>) -> Result<()>;

    /// Records a package's delete or restore, as [`EventSink::published`] does.
    async fn package_changed(&self, event: PackageChanged<'_>) -> Result<()>;
}

impl Packages<'_> {
    /// Tells the event sink (if any) that `repo`'s `package` was `action` (`deleted`,
    /// `restored`) by `actor`.
    pub async fn announce_package(
        &self,
        repo: &RepoName,
        package: &PackageRecord,
        actor: &str,
        action: &str,
        origin: &PushOrigin,
    ) -> Result<()> {
        let Some(sink) = self.events else {
            return Ok(());
        };
        sink.package_changed(PackageChanged {
            repo,
            actor,
            action,
            package,
            origin,
        })
        .await
    }

    /// Tells the event sink (if any) that version `id` of `repo`'s package `pkg` was
    /// `action` (`deleted`, `restored`) by `actor`.
    pub async fn announce_version(
        &self,
        repo: &RepoName,
        pkg: u64,
        id: u64,
        actor: &str,
        action: &str,
        origin: &PushOrigin,
    ) -> Result<()> {
        let Some(sink) = self.events else {
            return Ok(());
        };
        let package = self.record_of(repo).await?;
        let Some(version) = self.version(repo, pkg, id).await? else {
            return Ok(());
        };
        let of = PackageChanged {
            repo,
            actor,
            action,
            package: &package,
            origin,
        };
        sink.version_changed(VersionChanged {
            of,
            version: &version,
        })
        .await
    }
}
