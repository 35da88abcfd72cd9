//! The `Package` the registry records on a first push: private, with its publisher, and
//! linked to a source repository when the push names one. Pure.

use berth_crds::package::{Package, PackageSpec, PackageStatus, Publisher};
use sha2::{Digest as _, Sha256};

use crate::auth::identity::Identity;
use crate::oci::reference::RepoName;
use crate::policy::PolicySnapshot;

/// The Package for `repo`'s first push by `id`; `source` is the image's
/// `org.opencontainers.image.source`.
pub fn new_package(
    snap: &PolicySnapshot,
    id: &Identity,
    repo: &RepoName,
    source: Option<&str>,
    now: jiff::Timestamp,
) -> Package {
    let (owner, name) = (repo.owner(), repo.package());
    let mut spec = PackageSpec::new(owner, name);
    // A workload links its own repository; anyone else links what the image names.
    let workload_repo = id
        .repository()
        .and_then(|r| snap.repository(r))
        .map(|(_, r)| r.url.clone());
    if let Some(url) = workload_repo.or_else(|| source.map(str::to_owned)) {
        spec.repository = Some(url);
        spec.inherit_access = Some(snap.org(owner).is_none_or(|o| o.inherit_access_by_default));
    }
    // A workload's package belongs to its repository (which is admin), not to the
    // user it acted for.
    let publisher = match id.repository() {
        Some(r) => Publisher {
            user: None,
            repository: Some(r.to_owned()),
        },
        None => Publisher {
            user: id.user_name().map(str::to_owned),
            repository: None,
        },
    };
    let mut package = Package::new(&resource_name(snap, repo), spec);
    package.metadata.annotations = Some(
        [(
            berth_crds::package::CREATED_BY_ANNOTATION.to_owned(),
            berth_crds::package::CREATED_BY_REGISTRY.to_owned(),
        )]
        .into(),
    );
    package.status = Some(PackageStatus {
        publisher: Some(publisher),
        created_at: Some(now.to_string()),
        ..Default::default()
    });
    package
}

/// `OWNER.NAME` with `/` as `.`, made unique with a hash when another package already
/// uses that resource name (names may contain dots, so the mapping can collide).
pub fn resource_name(snap: &PolicySnapshot, repo: &RepoName) -> String {
    let base = format!("{}.{}", repo.owner(), repo.package().replace('/', "."));
    let taken = snap
        .packages()
        .any(|p| p.resource == base && (p.owner != repo.owner() || p.name != repo.package()));
    if !taken {
        return base;
    }
    let hash = hex::encode(&Sha256::digest(repo.as_str().as_bytes())[..3]);
    format!("{base}-{hash}")
}

#[cfg(test)]
mod tests {
    use berth_crds::organization::Organization;

    use super::*;
    use crate::auth::identity::{Scopes, Subject};
    use crate::policy::PolicySettings;

    fn snap() -> PolicySnapshot {
        let org: Organization = serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec:\n  inheritAccessByDefault: false\n  repositories:\n    - {name: app, url: https://git.example.com/acme/app}\n",
        )
        .unwrap();
        let taken = Package::new("acme.app.release", PackageSpec::new("acme", "app.release"));
        PolicySnapshot::build([&org], [&taken], &PolicySettings::default())
    }

    #[test]
    fn a_user_push_is_private_published_by_the_user_and_linked_by_its_label() {
        let id = Identity::user("alice", Scopes::ALL);
        let repo = RepoName::parse("acme/tool").unwrap();
        let p = new_package(
            &snap(),
            &id,
            &repo,
            Some("https://git.example.com/acme/tool"),
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert_eq!(p.spec.visibility, berth_crds::Visibility::Private);
        assert!(
            p.created_by_registry(),
            "deleting it through the API removes it"
        );
        assert_eq!(
            p.spec.repository.as_deref(),
            Some("https://git.example.com/acme/tool")
        );
        assert_eq!(
            p.spec.inherit_access,
            Some(false),
            "the organization turned inheritance off"
        );
        assert_eq!(
            p.status.unwrap().publisher.unwrap().user.as_deref(),
            Some("alice")
        );
        let unlinked = new_package(&snap(), &id, &repo, None, jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(unlinked.spec.repository, None);
    }

    #[test]
    fn a_workload_push_links_its_repository_which_publishes() {
        let id = Identity {
            subject: Subject::Workload {
                repository: "acme/app".into(),
                user: Some("bob".into()),
                teams: vec![],
            },
            scopes: Scopes::ALL,
        };
        let p = new_package(
            &snap(),
            &id,
            &RepoName::parse("acme/app").unwrap(),
            None,
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert_eq!(
            p.spec.repository.as_deref(),
            Some("https://git.example.com/acme/app")
        );
        let publisher = p.status.unwrap().publisher.unwrap();
        assert_eq!(
            (publisher.user, publisher.repository.as_deref()),
            (None, Some("acme/app"))
        );
    }

    #[test]
    fn resource_names_stay_unique() {
        use kube::ResourceExt;
        let id = Identity::user("alice", Scopes::ALL);
        let nested = new_package(
            &snap(),
            &id,
            &RepoName::parse("acme/app/release").unwrap(),
            None,
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert!(
            nested.name_any().starts_with("acme.app.release-"),
            "{}",
            nested.name_any()
        );
        let plain = new_package(
            &snap(),
            &id,
            &RepoName::parse("acme/web").unwrap(),
            None,
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert_eq!(plain.name_any(), "acme.web");
    }
}
