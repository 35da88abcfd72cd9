//! What happens to packages, for whoever listens (the webhooks). A sink records an event
//! durably before the request that caused it is answered, so an event a client saw
//! succeed is never lost.

use async_trait::async_trait;

use super::PackageRecord;
use super::versions::VersionRecord;
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

#[async_trait]
pub trait EventSink: Send + Sync {
    /// Records `event` for delivery; an error fails the request that caused it.
    async fn published(&self, event: Published<'_>) -> Result<()>;
}
