//! What a `/v2/` request is: its endpoint and method, mapped once (the one table of
//! `(route, method)` pairs) into a `Call` that carries its repository and knows the
//! policy action it needs. Authorization and dispatch both read the `Call`, so a new
//! endpoint is one arm here and one handler, and the two can never disagree.

use axum::http::Method;

use crate::oci::path::OciRoute;
use crate::policy::Action;
use crate::web::oci::error::OciError as Error;

/// A `/v2/` request; `N` is the repository name, raw (`&str`) until it is validated.
#[derive(Debug, PartialEq, Eq)]
pub enum Call<'a, N = &'a str> {
    /// `GET /v2/`: the credential check.
    Base,
    /// Anything on a repository.
    Repo { repo: N, op: RepoOp<'a> },
}

/// An operation on a repository, with the path's last segment (decoded, unvalidated).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RepoOp<'a> {
    /// `GET`/`HEAD` on a blob.
    BlobGet {
        digest: &'a str,
    },
    BlobDelete {
        digest: &'a str,
    },
    /// `POST …/blobs/uploads/`: a session, a monolithic upload or a mount.
    UploadStart,
    UploadPatch {
        id: &'a str,
    },
    UploadPut {
        id: &'a str,
    },
    UploadStatus {
        id: &'a str,
    },
    UploadCancel {
        id: &'a str,
    },
    /// `GET`/`HEAD` on a manifest.
    ManifestGet {
        reference: &'a str,
    },
    ManifestPut {
        reference: &'a str,
    },
    ManifestDelete {
        reference: &'a str,
    },
    TagsList,
    Referrers {
        digest: &'a str,
    },
}

impl<'a> Call<'a> {
    /// The call a method on a route makes, or 405 with the methods it has.
    pub fn of(route: OciRoute<'a>, method: &Method) -> Result<Call<'a>, Error> {
        use OciRoute as R;
        use RepoOp as O;
        let (repo, op) = match (route, method.as_str()) {
            (R::Base, "GET" | "HEAD") => return Ok(Call::Base),
            (R::Blob { name, digest }, "GET" | "HEAD") => (name, O::BlobGet { digest }),
            (R::Blob { name, digest }, "DELETE") => (name, O::BlobDelete { digest }),
            (R::UploadStart { name }, "POST") => (name, O::UploadStart),
            (R::Upload { name, id }, "PATCH") => (name, O::UploadPatch { id }),
            (R::Upload { name, id }, "PUT") => (name, O::UploadPut { id }),
            (R::Upload { name, id }, "GET") => (name, O::UploadStatus { id }),
            (R::Upload { name, id }, "DELETE") => (name, O::UploadCancel { id }),
            (R::Manifest { name, reference }, "GET" | "HEAD") => {
                (name, O::ManifestGet { reference })
            }
            (R::Manifest { name, reference }, "PUT") => (name, O::ManifestPut { reference }),
            (R::Manifest { name, reference }, "DELETE") => (name, O::ManifestDelete { reference }),
            (R::Tags { name }, "GET" | "HEAD") => (name, O::TagsList),
            (R::Referrers { name, digest }, "GET" | "HEAD") => (name, O::Referrers { digest }),
            (route, m) => {
                return Err(Error::MethodNotAllowed {
                    method: m.to_owned(),
                    allow: route.allowed_methods(),
                });
            }
        };
        Ok(Call::Repo { repo, op })
    }
}

impl<'a, N> Call<'a, N> {
    /// The repository and what the call does to it (none for `/v2/`).
    pub fn target(&self) -> Option<(&N, Action)> {
        match self {
            Call::Base => None,
            Call::Repo { repo, op } => Some((repo, op.action())),
        }
    }

    /// The same call with its repository name converted (validated).
    pub fn try_map_repo<M, E>(self, f: impl FnOnce(N) -> Result<M, E>) -> Result<Call<'a, M>, E> {
        Ok(match self {
            Call::Base => Call::Base,
            Call::Repo { repo, op } => Call::Repo { repo: f(repo)?, op },
        })
    }
}

impl RepoOp<'_> {
    /// The policy action the operation needs. Every upload step is a push: a session
    /// belongs to whoever may push to its repository.
    pub fn action(&self) -> Action {
        use RepoOp::*;
        match self {
            BlobGet { .. } | ManifestGet { .. } | TagsList | Referrers { .. } => Action::Pull,
            UploadStart
            | UploadPatch { .. }
            | UploadPut { .. }
            | UploadStatus { .. }
            | UploadCancel { .. }
            | ManifestPut { .. } => Action::Push,
            BlobDelete { .. } | ManifestDelete { .. } => Action::Delete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::path::parse_route;

    fn call(path: &str, method: &str) -> Result<Call<'static>, Error> {
        let route = parse_route(path.to_owned().leak()).expect("a route");
        Call::of(route, &method.parse().unwrap())
    }

    #[test]
    fn each_method_on_each_route_is_one_call_with_one_action() {
        let cases = [
            ("a/b/blobs/sha256:0", "GET", Action::Pull),
            ("a/b/blobs/sha256:0", "HEAD", Action::Pull),
            ("a/b/manifests/v1", "HEAD", Action::Pull),
            ("a/b/tags/list", "GET", Action::Pull),
            ("a/b/referrers/sha256:0", "GET", Action::Pull),
            ("a/b/blobs/uploads/", "POST", Action::Push),
            ("a/b/blobs/uploads/x", "GET", Action::Push),
            ("a/b/blobs/uploads/x", "PATCH", Action::Push),
            ("a/b/blobs/uploads/x", "PUT", Action::Push),
            ("a/b/blobs/uploads/x", "DELETE", Action::Push),
            ("a/b/manifests/v1", "PUT", Action::Push),
            ("a/b/manifests/v1", "DELETE", Action::Delete),
            ("a/b/blobs/sha256:0", "DELETE", Action::Delete),
        ];
        for (path, method, action) in cases {
            let c = call(path, method).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            assert_eq!(c.target(), Some((&"a/b", action)), "{method} {path}");
        }
        assert_eq!(call("", "GET").unwrap(), Call::Base);
        assert_eq!(call("", "GET").unwrap().target(), None);
    }

    #[test]
    fn a_method_the_route_lacks_is_refused_with_its_allow_list() {
        for (path, method, allow) in [
            ("", "POST", "GET, HEAD"),
            ("a/b/tags/list", "DELETE", "GET, HEAD"),
            ("a/b/blobs/uploads/", "GET", "POST"),
            ("a/b/blobs/sha256:0", "PUT", "GET, HEAD, DELETE"),
            ("a/b/manifests/v1", "POST", "GET, HEAD, PUT, DELETE"),
        ] {
            match call(path, method) {
                Err(Error::MethodNotAllowed { allow: got, .. }) => assert_eq!(got, allow),
                other => panic!("{method} {path}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_repository_is_validated_once_and_carried() {
        let c = call("a/b/manifests/v1", "GET").unwrap();
        let typed = c
            .try_map_repo(crate::oci::reference::RepoName::parse)
            .unwrap();
        let Call::Repo { repo, op } = typed else {
            panic!("a repository call")
        };
        assert_eq!(repo.as_str(), "a/b");
        assert_eq!(op, RepoOp::ManifestGet { reference: "v1" });
        let bad = call("A/../b/manifests/v1", "GET").unwrap();
        assert!(
            bad.try_map_repo(crate::oci::reference::RepoName::parse)
                .is_err()
        );
    }
}
