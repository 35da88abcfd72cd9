//! Acts on a package by someone, as both surfaces that do them (the REST API, the
//! pages) record them: the audit line (and in a cluster an Event on the `Package`), then
//! the webhook event, recorded before the request is answered.

use std::net::IpAddr;

use crate::audit::{Action, Entry};
use crate::content::Result;
use crate::oci::reference::RepoName;
use crate::packages::PackageRecord;
use crate::packages::events::PushOrigin;
use crate::state::AppState;

/// Who acted, from where, and the hosts the request named (for the URLs events carry).
pub struct Actor {
    /// As the audit trail names them (`Identity::audit_name`).
    pub who: String,
    pub from: Option<IpAddr>,
    pub origin: PushOrigin,
}

impl Actor {
    /// Records `action` on `repo` (and `version`: a version's id, or what a setting became).
    pub fn audit(&self, app: &AppState, action: Action, repo: &RepoName, version: Option<&str>) {
        let entry = Entry {
            who: &self.who,
            package: Some(repo.as_str()),
            version,
            from: self.from,
            ..Default::default()
        };
        app.audit(action, &entry);
    }

    /// A version's delete or restore, after it is done: the audit line, then Berth's
    /// `berth_package_version` event.
    pub async fn version_changed(
        &self,
        app: &AppState,
        action: Action,
        repo: &RepoName,
        pkg: u64,
        id: u64,
    ) -> Result<()> {
        self.audit(app, action, repo, Some(&id.to_string()));
        (app.packages())
            .announce_version(repo, pkg, id, &self.who, past_tense(action), &self.origin)
            .await
    }

    /// A whole package's delete or restore, as [`Actor::version_changed`] (the event is
    /// `berth_package`).
    pub async fn package_changed(
        &self,
        app: &AppState,
        action: Action,
        repo: &RepoName,
        package: &PackageRecord,
    ) -> Result<()> {
        self.audit(app, action, repo, None);
        (app.packages())
            .announce_package(repo, package, &self.who, past_tense(action), &self.origin)
            .await
    }
}

/// An event's `action` for a delete or a restore.
fn past_tense(action: Action) -> &'static str {
    match action {
        Action::DeleteVersion | Action::DeletePackage => "deleted",
        _ => "restored",
    }
}
