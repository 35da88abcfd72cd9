//! `PolicySnapshot`: the Organizations and Packages in force, indexed for evaluation.
//! Immutable; a source builds a new one on every change and swaps it in whole.

use std::collections::{BTreeMap, HashMap, HashSet};

use berth_crds::access::{AccessGrant, RepositoryGrant, Visibility};
use berth_crds::organization::{Organization, PackageCreation, Webhook};
use berth_crds::package::{Package, Publisher};
use kube::ResourceExt;

use crate::oci::reference::RepoName;

/// An organization, as evaluation needs it.
#[derive(Clone, Debug, Default)]
pub struct OrgPolicy {
    pub name: String,
    pub owners: HashSet<String>,
    /// Members, including every team member.
    pub members: HashSet<String>,
    pub teams: HashMap<String, HashSet<String>>,
    pub creation: PackageCreation,
    pub inherit_access_by_default: bool,
    pub repositories: Vec<RepoPolicy>,
    /// Its webhooks with a usable URL (others are problems).
    pub webhooks: Vec<Webhook>,
}

/// A repository of an organization.
#[derive(Clone, Debug)]
pub struct RepoPolicy {
    pub name: String,
    /// Normalized (see `normalize_url`).
    pub url: String,
    pub access: Vec<AccessGrant>,
}

/// A package, as evaluation needs it.
#[derive(Clone, Debug)]
pub struct PackagePolicy {
    pub owner: String,
    pub name: String,
    /// The resource that defines it (`metadata.name`).
    pub resource: String,
    pub visibility: Visibility,
    /// The linked repository's normalized URL (`spec.repository`, else `status.repository`).
    pub repository: Option<String>,
    pub inherit_access: bool,
    pub access: Vec<AccessGrant>,
    pub actions_access: Vec<RepositoryGrant>,
    pub publisher: Option<Publisher>,
    /// Deleted through the API or the pages and not restored (`status.deletedAt`): the
    /// package is hidden, as if it did not exist, until a restore or a push.
    pub deleted: bool,
    /// `spec.retention`, as written (checked when it runs).
    pub retention: Option<berth_crds::package::Retention>,
}

/// The policy in force.
#[derive(Clone, Debug, Default)]
pub struct PolicySnapshot {
    orgs: HashMap<String, OrgPolicy>,
    /// Normalized repository URL → (organization, index in its repositories).
    repos_by_url: HashMap<String, (String, usize)>,
    packages: HashMap<(String, String), PackagePolicy>,
    site_admins: HashSet<String>,
    anonymous_pulls: bool,
    problems: Vec<String>,
}

/// Registry-wide settings the policy depends on.
#[derive(Clone, Debug)]
pub struct PolicySettings {
    pub site_admins: Vec<String>,
    pub anonymous_pulls: bool,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            site_admins: Vec::new(),
            anonymous_pulls: true,
        }
    }
}

/// A source repository URL in the form links compare: lowercase, without a trailing
/// `/` or `.git`.
pub fn normalize_url(url: &str) -> String {
    let u = url.trim().to_ascii_lowercase();
    let u = u.trim_end_matches('/');
    u.strip_suffix(".git").unwrap_or(u).to_owned()
}

impl PolicySnapshot {
    /// Indexes `orgs` and `packages`. Entries that cannot apply are left out and
    /// described in `problems()`; the rest stays in force.
    pub fn build<'a>(
        orgs: impl IntoIterator<Item = &'a Organization>,
        packages: impl IntoIterator<Item = &'a Package>,
        settings: &PolicySettings,
    ) -> PolicySnapshot {
        let mut problems = Vec::new();
        let mut org_index = HashMap::new();
        for org in orgs {
            let policy = org_policy(org, &mut problems);
            if org_index.insert(policy.name.clone(), policy).is_some() {
                problems.push(format!(
                    "Organization {} is defined twice; the last one wins",
                    org.name_any()
                ));
            }
        }
        // Sorted by resource name, so that when two Packages claim one name the same one
        // wins on every replica.
        let mut sorted: BTreeMap<String, &Package> = BTreeMap::new();
        for p in packages {
            sorted.insert(p.name_any(), p);
        }
        let mut pkg_index: HashMap<(String, String), PackagePolicy> = HashMap::new();
        for (resource, p) in sorted {
            let Some(policy) =
                package_policy(&resource, p, org_index.get(&p.spec.owner), &mut problems)
            else {
                continue;
            };
            let key = (policy.owner.clone(), policy.name.clone());
            if let Some(first) = pkg_index.get(&key) {
                problems.push(format!(
                    "Packages {} and {resource} both claim {}/{}; {} is in force",
                    first.resource, key.0, key.1, first.resource
                ));
                continue;
            }
            pkg_index.insert(key, policy);
        }
        let mut repos_by_url = HashMap::new();
        for org in org_index.values() {
            for (i, repo) in org.repositories.iter().enumerate() {
                if let Some((other, _)) =
                    repos_by_url.insert(repo.url.clone(), (org.name.clone(), i))
                {
                    problems.push(format!(
                        "repository URL {} is declared by organizations {other} and {}",
                        repo.url, org.name
                    ));
                }
            }
        }
        PolicySnapshot {
            orgs: org_index,
            repos_by_url,
            packages: pkg_index,
            site_admins: settings.site_admins.iter().cloned().collect(),
            anonymous_pulls: settings.anonymous_pulls,
            problems,
        }
    }

    /// Every organization, in no order.
    pub fn orgs(&self) -> impl Iterator<Item = &OrgPolicy> {
        self.orgs.values()
    }

    pub fn org(&self, name: &str) -> Option<&OrgPolicy> {
        self.orgs.get(name)
    }

    pub fn package(&self, owner: &str, name: &str) -> Option<&PackagePolicy> {
        self.packages.get(&(owner.to_owned(), name.to_owned()))
    }

    pub fn packages(&self) -> impl Iterator<Item = &PackagePolicy> {
        self.packages.values()
    }

    pub fn is_site_admin(&self, user: &str) -> bool {
        self.site_admins.contains(user)
    }

    pub fn anonymous_pulls(&self) -> bool {
        self.anonymous_pulls
    }

    /// What could not be applied, for logs, `/readyz` and conditions.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The organization repository with this (normalized) URL.
    pub fn repository_by_url(&self, url: &str) -> Option<(&OrgPolicy, &RepoPolicy)> {
        let (org, i) = self.repos_by_url.get(url)?;
        let org = self.orgs.get(org)?;
        Some((org, org.repositories.get(*i)?))
    }

    /// The organization repository `OWNER/REPO`.
    pub fn repository(&self, full_name: &str) -> Option<(&OrgPolicy, &RepoPolicy)> {
        let (owner, repo) = full_name.split_once('/')?;
        let org = self.orgs.get(owner)?;
        org.repositories
            .iter()
            .find(|r| r.name == repo)
            .map(|r| (org, r))
    }

    /// A copy without package `owner`/`name` (one this process just removed).
    pub fn without_package(&self, owner: &str, name: &str) -> PolicySnapshot {
        let mut next = self.clone();
        next.packages.remove(&(owner.to_owned(), name.to_owned()));
        next
    }

    /// A copy with `package` added or replaced (for the package this process just
    /// created, before its source reports it back).
    pub fn with_package(&self, package: &Package) -> PolicySnapshot {
        let mut next = self.clone();
        let mut problems = Vec::new();
        if let Some(p) = package_policy(
            &package.name_any(),
            package,
            next.orgs.get(&package.spec.owner),
            &mut problems,
        ) {
            next.packages.insert((p.owner.clone(), p.name.clone()), p);
        }
        next
    }
}

fn org_policy(org: &Organization, problems: &mut Vec<String>) -> OrgPolicy {
    let name = org.name_any();
    let spec = &org.spec;
    let mut members: HashSet<String> = spec.members.iter().cloned().collect();
    let mut teams = HashMap::new();
    for team in &spec.teams {
        members.extend(team.members.iter().cloned());
        teams.insert(team.name.clone(), team.members.iter().cloned().collect());
    }
    let mut repositories = Vec::new();
    for repo in &spec.repositories {
        let access = valid_grants(
            &repo.access,
            true,
            &teams,
            &format!("repository {name}/{}", repo.name),
            problems,
        );
        repositories.push(RepoPolicy {
            name: repo.name.clone(),
            url: normalize_url(&repo.url),
            access,
        });
    }
    let mut webhooks = Vec::new();
    for hook in &spec.webhooks {
        match http::Uri::try_from(hook.url.as_str()) {
            Ok(u) if matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some() => {
                webhooks.push(hook.clone())
            }
            _ => problems.push(format!(
                "Organization {name}: webhook URL {:?} is not an http(s) URL; it receives nothing",
                hook.url
            )),
        }
    }
    OrgPolicy {
        webhooks,
        owners: spec.owners.iter().cloned().collect(),
        members,
        teams,
        creation: spec.package_creation.clone(),
        inherit_access_by_default: spec.inherit_access_by_default,
        repositories,
        name,
    }
}

fn package_policy(
    resource: &str,
    p: &Package,
    org: Option<&OrgPolicy>,
    problems: &mut Vec<String>,
) -> Option<PackagePolicy> {
    let spec = &p.spec;
    if RepoName::parse(&format!("{}/{}", spec.owner, spec.name)).is_err() {
        problems.push(format!(
            "Package {resource}: {}/{} is not a valid package name (lowercase, OWNER/NAME)",
            spec.owner, spec.name
        ));
        return None;
    }
    let no_teams = HashMap::new();
    let teams = org.map_or(&no_teams, |o| &o.teams);
    let access = valid_grants(
        &spec.access,
        org.is_some(),
        teams,
        &format!("Package {resource}"),
        problems,
    );
    let mut visibility = spec.visibility;
    if visibility == Visibility::Internal && org.is_none() {
        problems.push(format!(
            "Package {resource}: internal visibility needs an organization owner; it acts as private"
        ));
        visibility = Visibility::Private;
    }
    // The organization's package-creation policy bounds visibility too; a package it
    // does not allow fails closed.
    if let Some(org) = org
        && !org.creation.allows(visibility)
    {
        problems.push(format!(
            "Package {resource}: organization {} does not allow {} packages; it acts as private",
            org.name,
            visibility.as_str()
        ));
        visibility = Visibility::Private;
    }
    let status = p.status.as_ref();
    Some(PackagePolicy {
        owner: spec.owner.clone(),
        name: spec.name.clone(),
        resource: resource.to_owned(),
        visibility,
        repository: spec
            .repository
            .as_deref()
            .or_else(|| status.and_then(|s| s.repository.as_deref()))
            .map(normalize_url),
        inherit_access: spec.inherit_access.unwrap_or(false),
        access,
        actions_access: spec.actions_access.clone(),
        publisher: status.and_then(|s| s.publisher.clone()),
        deleted: status.is_some_and(|s| s.deleted_at.is_some()),
        retention: spec.retention.clone(),
    })
}

/// The grants that can take effect: exactly one of user or team, and teams only where an
/// organization defines them.
fn valid_grants(
    grants: &[AccessGrant],
    teams_allowed: bool,
    teams: &HashMap<String, HashSet<String>>,
    what: &str,
    problems: &mut Vec<String>,
) -> Vec<AccessGrant> {
    let mut out = Vec::new();
    for g in grants {
        match (&g.user, &g.team) {
            (Some(_), None) => out.push(g.clone()),
            (None, Some(t)) if !teams_allowed => problems.push(format!(
                "{what}: team {t} cannot be granted access: a user-owned package takes users only"
            )),
            (None, Some(t)) => {
                if !teams.contains_key(t) {
                    problems.push(format!(
                        "{what}: team {t} does not exist in the organization"
                    ));
                }
                out.push(g.clone());
            }
            _ => problems.push(format!("{what}: a grant names exactly one of user or team")),
        }
    }
    out
}
