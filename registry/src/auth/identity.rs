//! Who a request is from, and what its token lets it use. Tokens carry identity and
//! scopes only; permissions come from the live policy on every request.

use std::fmt;

/// The package scopes of a token (GHCR's `read:packages`, `write:packages`,
/// `delete:packages`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Scopes {
    pub read: bool,
    pub write: bool,
    pub delete: bool,
}

/// Why a scope list is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("unknown scope {0:?}: use read:packages, write:packages, delete:packages")]
    Unknown(String),
    #[error("no scopes given: use read:packages, write:packages and/or delete:packages")]
    Empty,
    #[error("delete:packages needs read:packages (or write:packages) too")]
    DeleteWithoutRead,
}

impl Scopes {
    pub const ALL: Scopes = Scopes {
        read: true,
        write: true,
        delete: true,
    };
    pub const NONE: Scopes = Scopes {
        read: false,
        write: false,
        delete: false,
    };

    /// Parses a comma- or space-separated scope list. `write:packages` implies read.
    pub fn parse(list: &str) -> Result<Scopes, ScopeError> {
        let mut s = Scopes::NONE;
        for scope in list
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match scope {
                "read:packages" => s.read = true,
                "write:packages" => {
                    s.write = true;
                    s.read = true;
                }
                "delete:packages" => s.delete = true,
                other => return Err(ScopeError::Unknown(other.to_owned())),
            }
        }
        if s == Scopes::NONE {
            return Err(ScopeError::Empty);
        }
        if s.delete && !s.read {
            return Err(ScopeError::DeleteWithoutRead);
        }
        Ok(s)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.read && !self.write, "read:packages"),
            (self.write, "write:packages"),
            (self.delete, "delete:packages"),
        ];
        let list: Vec<_> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&list.join(","))
    }
}

/// The principal behind a request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Subject {
    Anonymous,
    /// A user, signed in with a PAT or an OIDC token naming a user.
    User {
        name: String,
        /// Team memberships an OIDC issuer asserts, as `ORG/TEAM`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        teams: Vec<String>,
    },
    /// A workload of a repository (the `GITHUB_TOKEN` analogue).
    Workload {
        /// `OWNER/REPO`.
        repository: String,
        /// The user the workload acts for, if its issuer names one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        teams: Vec<String>,
    },
}

/// An authenticated (or anonymous) caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub subject: Subject,
    pub scopes: Scopes,
}

impl Identity {
    pub fn anonymous() -> Identity {
        Identity {
            subject: Subject::Anonymous,
            scopes: Scopes {
                read: true,
                write: false,
                delete: false,
            },
        }
    }

    pub fn user(name: &str, scopes: Scopes) -> Identity {
        Identity {
            subject: Subject::User {
                name: name.to_owned(),
                teams: Vec::new(),
            },
            scopes,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.subject == Subject::Anonymous
    }

    /// The user whose rights apply. A workload acts as its repository, like
    /// `GITHUB_TOKEN`: the user it ran for (its actor) is recorded, never granted.
    pub fn user_name(&self) -> Option<&str> {
        match &self.subject {
            Subject::User { name, .. } => Some(name),
            Subject::Anonymous | Subject::Workload { .. } => None,
        }
    }

    /// Teams a user's token asserts, as `ORG/TEAM` (a workload's are not granted).
    pub fn claimed_teams(&self) -> &[String] {
        match &self.subject {
            Subject::User { teams, .. } => teams,
            Subject::Anonymous | Subject::Workload { .. } => &[],
        }
    }

    /// The workload's repository, `OWNER/REPO`.
    pub fn repository(&self) -> Option<&str> {
        match &self.subject {
            Subject::Workload { repository, .. } => Some(repository),
            _ => None,
        }
    }
}

impl Identity {
    /// How the audit trail names the caller: a login, `workload:OWNER/REPO`, or
    /// `anonymous`.
    pub fn audit_name(&self) -> String {
        match &self.subject {
            Subject::Anonymous => "anonymous".into(),
            Subject::User { name, .. } => name.clone(),
            Subject::Workload { repository, .. } => format!("workload:{repository}"),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subject {
            Subject::Anonymous => f.write_str("anonymous"),
            Subject::User { name, .. } => write!(f, "user {name}"),
            Subject::Workload { repository, .. } => write!(f, "workload of {repository}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_with_implications_and_refusals() {
        let w = Scopes::parse("write:packages").unwrap();
        assert!(w.read && w.write && !w.delete);
        assert_eq!(
            Scopes::parse("read:packages, delete:packages")
                .unwrap()
                .to_string(),
            "read:packages,delete:packages"
        );
        assert_eq!(
            Scopes::parse("delete:packages"),
            Err(ScopeError::DeleteWithoutRead)
        );
        assert_eq!(Scopes::parse(""), Err(ScopeError::Empty));
        assert!(matches!(Scopes::parse("repo"), Err(ScopeError::Unknown(_))));
        assert_eq!(Scopes::ALL.to_string(), "write:packages,delete:packages");
    }
}
