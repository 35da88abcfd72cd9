//! The audit trail: one log line per push, delete, restore and sign-in, under the
//! `berth::audit` target with the same fields every time (`action`, `who`, `package`,
//! `version`, `from`, `outcome`), so `--log-format json` makes each one JSON line a log
//! pipeline can index. Plain values only: every layer that sees such an act can record it
//! without importing another's types.

use std::net::IpAddr;

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Push,
    DeleteVersion,
    RestoreVersion,
    DeletePackage,
    RestorePackage,
    /// A package's visibility changed (on its settings page).
    ChangeVisibility,
    /// Who has access to a package changed: people, teams, Actions' repositories,
    /// inheritance.
    ChangeAccess,
    SignIn,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Push => "push",
            Action::DeleteVersion => "delete_version",
            Action::RestoreVersion => "restore_version",
            Action::DeletePackage => "delete_package",
            Action::RestorePackage => "restore_package",
            Action::ChangeVisibility => "change_visibility",
            Action::ChangeAccess => "change_access",
            Action::SignIn => "sign_in",
        }
    }
}

/// One act: who did what to which package and version, from where.
#[derive(Clone, Debug, Default)]
pub struct Entry<'a> {
    /// A user's login, `workload:OWNER/REPO`, or `anonymous`; at a failed sign-in, the
    /// account it claimed.
    pub who: &'a str,
    pub package: Option<&'a str>,
    /// A version's digest or id, and for a push its tags.
    pub version: Option<&'a str>,
    pub tags: &'a [String],
    pub from: Option<IpAddr>,
}

impl Action {
    /// The act in a sentence's past tense, for a Kubernetes Event's note.
    fn past(self) -> &'static str {
        match self {
            Action::Push => "pushed",
            Action::DeleteVersion => "deleted version",
            Action::RestoreVersion => "restored version",
            Action::DeletePackage => "deleted the package",
            Action::RestorePackage => "restored the package",
            Action::ChangeVisibility => "changed the visibility to",
            Action::ChangeAccess => "changed the access:",
            Action::SignIn => "signed in",
        }
    }

    /// A Kubernetes Event's reason (CamelCase, as Events name theirs).
    pub fn reason(self) -> &'static str {
        match self {
            Action::Push => "Pushed",
            Action::DeleteVersion => "VersionDeleted",
            Action::RestoreVersion => "VersionRestored",
            Action::DeletePackage => "PackageDeleted",
            Action::RestorePackage => "PackageRestored",
            Action::ChangeVisibility => "VisibilityChanged",
            Action::ChangeAccess => "AccessChanged",
            Action::SignIn => "SignedIn",
        }
    }
}

/// An audited act on a package, owned, for a sink that records it elsewhere too (in a
/// cluster, a Kubernetes Event on the Package).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageAct {
    pub action: Action,
    pub who: String,
    pub version: Option<String>,
    pub tags: Vec<String>,
    pub from: Option<IpAddr>,
}

impl PackageAct {
    pub fn of(action: Action, entry: &Entry<'_>) -> PackageAct {
        PackageAct {
            action,
            who: entry.who.to_owned(),
            version: entry.version.map(str::to_owned),
            tags: entry.tags.to_vec(),
            from: entry.from,
        }
    }

    /// One sentence: `alice pushed sha256:… (tags v1, latest) from 10.0.0.7`.
    pub fn note(&self) -> String {
        let mut out = format!("{} {}", self.who, self.action.past());
        if let Some(v) = &self.version {
            out.push(' ');
            out.push_str(v);
        }
        if !self.tags.is_empty() {
            out.push_str(&format!(" (tags {})", self.tags.join(", ")));
        }
        if let Some(from) = self.from {
            out.push_str(&format!(" from {from}"));
        }
        out
    }
}

/// Records `action` by `entry`; `outcome` is `ok`, or why it was refused.
pub fn record(action: Action, entry: &Entry<'_>, outcome: &str) {
    let from = entry.from.map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(
        target: "berth::audit",
        action = action.as_str(),
        who = entry.who,
        package = entry.package.unwrap_or_default(),
        version = entry.version.unwrap_or_default(),
        tags = entry.tags.join(","),
        from = from.as_str(),
        outcome,
        "audit"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_reads_as_one_sentence() {
        let tags = ["v1".to_owned(), "latest".to_owned()];
        let entry = Entry {
            who: "alice",
            package: Some("acme/app"),
            version: Some("sha256:ab"),
            tags: &tags,
            from: Some("10.0.0.7".parse().unwrap()),
        };
        let act = PackageAct::of(Action::Push, &entry);
        assert_eq!(
            act.note(),
            "alice pushed sha256:ab (tags v1, latest) from 10.0.0.7"
        );
        let delete = PackageAct::of(
            Action::DeletePackage,
            &Entry {
                who: "bob",
                ..Entry::default()
            },
        );
        assert_eq!(delete.note(), "bob deleted the package");
        assert_eq!(Action::RestoreVersion.reason(), "VersionRestored");
    }
}
