//! What is wrong with a Package, given the other Packages and the Organizations beside
//! it. Pure; each problem becomes the reason of its `Ready` condition.

use berth_crds::organization::Organization;
use berth_crds::package::Package;
use berth_registry::oci::reference::RepoName;
use kube::ResourceExt;

/// One thing wrong, as a condition reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub reason: &'static str,
    pub message: String,
}

fn problem(reason: &'static str, message: String) -> Problem {
    Problem { reason, message }
}

/// The problems of `pkg`. `packages` and `orgs` are the namespace's.
pub fn problems<'a>(
    pkg: &Package,
    packages: impl IntoIterator<Item = &'a Package>,
    orgs: impl IntoIterator<Item = &'a Organization>,
) -> Vec<Problem> {
    let spec = &pkg.spec;
    let mut out = Vec::new();
    let full = format!("{}/{}", spec.owner, spec.name);
    if let Err(e) = RepoName::parse(&full) {
        out.push(problem(
            "InvalidName",
            format!("{full} is not a package name: {e}"),
        ));
    }
    // The first claimant by resource name keeps the name; the registry agrees.
    let mine = pkg.name_any();
    if let Some(first) = packages
        .into_iter()
        .filter(|p| p.spec.owner == spec.owner && p.spec.name == spec.name && p.name_any() < mine)
        .map(|p| p.name_any())
        .min()
    {
        out.push(problem(
            "DuplicatePackage",
            format!("Package {first} already claims {full}; this one is ignored"),
        ));
    }
    let org = orgs.into_iter().find(|o| o.name_any() == spec.owner);
    for grant in &spec.access {
        match (&grant.user, &grant.team, org) {
            (Some(_), None, _) => {}
            (None, Some(team), None) => out.push(problem(
                "TeamOnUserPackage",
                format!("team {team} cannot be granted access: {} is a user, and user-owned packages take users only", spec.owner),
            )),
            (None, Some(team), Some(o)) if !o.spec.teams.iter().any(|t| &t.name == team) => {
                out.push(problem("UnknownTeam", format!("organization {} has no team {team}", spec.owner)))
            }
            (None, Some(_), Some(_)) => {}
            _ => out.push(problem("InvalidGrant", "each access grant names exactly one of user or team".into())),
        }
    }
    if let Some(retention) = &spec.retention
        && let Err(why) = berth_registry::packages::retention::Rules::compile(retention)
    {
        out.push(problem("InvalidRetention", why));
    }
    match org {
        Some(o) if !o.spec.package_creation.allows(spec.visibility) => out.push(problem(
            "VisibilityNotAllowed",
            format!(
                "organization {} does not allow {} packages (spec.packageCreation); it acts as private",
                spec.owner,
                spec.visibility.as_str()
            ),
        )),
        None if spec.visibility == berth_crds::Visibility::Internal => out.push(problem(
            "VisibilityNotAllowed",
            format!("{} is a user: internal visibility needs an organization; it acts as private", spec.owner),
        )),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(yaml: &str) -> Package {
        serde_saphyr::from_str(&format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Package\n{yaml}"
        ))
        .unwrap()
    }

    fn org() -> Organization {
        serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec:\n  teams: [{name: devs}]\n  packageCreation: {public: false}\n",
        )
        .unwrap()
    }

    fn reasons(p: &Package, others: &[Package]) -> Vec<&'static str> {
        let org = org();
        problems(p, others, [&org])
            .into_iter()
            .map(|p| p.reason)
            .collect()
    }

    #[test]
    fn a_valid_package_has_no_problems() {
        let p = pkg(
            "metadata: {name: acme.app}\nspec: {owner: acme, name: app, access: [{team: devs, role: write}]}",
        );
        assert!(reasons(&p, std::slice::from_ref(&p)).is_empty());
    }

    #[test]
    fn each_problem_has_its_reason() {
        let cases = [
            (
                "metadata: {name: a}\nspec: {owner: Acme, name: app}",
                "InvalidName",
            ),
            (
                "metadata: {name: b}\nspec: {owner: acme, name: app, access: [{team: ops, role: read}]}",
                "UnknownTeam",
            ),
            (
                "metadata: {name: c}\nspec: {owner: alice, name: app, access: [{team: devs, role: read}]}",
                "TeamOnUserPackage",
            ),
            (
                "metadata: {name: d}\nspec: {owner: acme, name: app, access: [{role: read}]}",
                "InvalidGrant",
            ),
            (
                "metadata: {name: e}\nspec: {owner: acme, name: app, visibility: public}",
                "VisibilityNotAllowed",
            ),
            (
                "metadata: {name: f}\nspec: {owner: alice, name: app, visibility: internal}",
                "VisibilityNotAllowed",
            ),
            (
                "metadata: {name: g}\nspec: {owner: acme, name: app, retention: {tags: {keep: ['v(']}}}",
                "InvalidRetention",
            ),
        ];
        for (yaml, reason) in cases {
            assert_eq!(reasons(&pkg(yaml), &[]), [reason], "{yaml}");
        }
    }

    #[test]
    fn of_two_claimants_the_second_is_the_duplicate() {
        let first = pkg("metadata: {name: acme.app}\nspec: {owner: acme, name: app}");
        let second = pkg("metadata: {name: zz.app}\nspec: {owner: acme, name: app}");
        let all = [first.clone(), second.clone()];
        assert!(reasons(&first, &all).is_empty());
        assert_eq!(reasons(&second, &all), ["DuplicatePackage"]);
    }
}
