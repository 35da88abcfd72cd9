//! The operations of the API, and the documentation GitHub's errors point at for each
//! (each operation's `externalDocs.url` in GitHub's OpenAPI document).

use super::access::Scope;

/// A packages operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    ListPackages,
    GetPackage,
    DeletePackage,
    RestorePackage,
    ListVersions,
    GetVersion,
    DeleteVersion,
    RestoreVersion,
}

macro_rules! docs {
    ($($anchor:literal),* $(,)?) => { [$(concat!("https://docs.github.com/rest/packages/packages#", $anchor)),*] };
}

/// By operation, then scope (`/user`, `/users`, `/orgs`); GitHub's anchors are not
/// regular enough to compose.
const DOCS: [[&str; 3]; 8] = [
    docs!(
        "list-packages-for-the-authenticated-users-namespace",
        "list-packages-for-a-user",
        "list-packages-for-an-organization"
    ),
    docs!(
        "get-a-package-for-the-authenticated-user",
        "get-a-package-for-a-user",
        "get-a-package-for-an-organization"
    ),
    docs!(
        "delete-a-package-for-the-authenticated-user",
        "delete-a-package-for-a-user",
        "delete-a-package-for-an-organization"
    ),
    docs!(
        "restore-a-package-for-the-authenticated-user",
        "restore-a-package-for-a-user",
        "restore-a-package-for-an-organization"
    ),
    docs!(
        "list-package-versions-for-a-package-owned-by-the-authenticated-user",
        "list-package-versions-for-a-package-owned-by-a-user",
        "list-package-versions-for-a-package-owned-by-an-organization"
    ),
    docs!(
        "get-a-package-version-for-the-authenticated-user",
        "get-a-package-version-for-a-user",
        "get-a-package-version-for-an-organization"
    ),
    docs!(
        "delete-a-package-version-for-the-authenticated-user",
        "delete-package-version-for-a-user",
        "delete-package-version-for-an-organization"
    ),
    docs!(
        "restore-a-package-version-for-the-authenticated-user",
        "restore-package-version-for-a-user",
        "restore-package-version-for-an-organization"
    ),
];

/// Where GitHub documents `op` under `scope`.
pub fn docs_url(op: Op, scope: Scope) -> &'static str {
    let column = match scope {
        Scope::User => 0,
        Scope::Users => 1,
        Scope::Orgs => 2,
    };
    DOCS[op as usize][column]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_points_at_its_own_documentation() {
        assert_eq!(
            docs_url(Op::GetPackage, Scope::Orgs),
            "https://docs.github.com/rest/packages/packages#get-a-package-for-an-organization"
        );
        assert_eq!(
            docs_url(Op::DeleteVersion, Scope::User),
            "https://docs.github.com/rest/packages/packages#delete-a-package-version-for-the-authenticated-user"
        );
        let mut all: Vec<_> = DOCS.iter().flatten().collect();
        all.sort();
        all.dedup();
        assert_eq!(
            all.len(),
            24,
            "24 operations (8 under each scope), 24 pages"
        );
        assert!(
            all.iter()
                .all(|u| u.starts_with("https://docs.github.com/rest/packages/packages#"))
        );
    }
}
