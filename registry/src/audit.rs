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
