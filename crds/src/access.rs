//! Roles, visibility and grants: the vocabulary of GHCR's permission model, shared by
//! `Package` and `Organization`.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A role on a package; each includes the ones before it.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Pull, and read metadata.
    Read,
    /// Also push, and write metadata.
    Write,
    /// Also delete, restore, and change visibility and access.
    Admin,
}

impl Role {
    /// Its name, as specs and forms spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    /// The role named `name` ([`Role::as_str`]'s spelling).
    pub fn parse(name: &str) -> Option<Role> {
        [Role::Read, Role::Write, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// Who may see a package.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Only those granted access (the default on first publish).
    #[default]
    Private,
    /// Every member of the owning organization may read.
    Internal,
    /// Anyone may pull, anonymously too.
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }
}

/// A role granted to a user or to a team of the owning organization (exactly one).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.user) != has(self.team)").message("a grant names exactly one of user or team"))]
#[serde(rename_all = "camelCase")]
pub struct AccessGrant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub role: Role,
}

/// A role granted to the workloads of a repository (`OWNER/REPO`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryGrant {
    pub repository: String,
    pub role: Role,
}
