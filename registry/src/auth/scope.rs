//! The `scope` parameter of a token request (`repository:OWNER/IMAGE:pull,push`) and the
//! `WWW-Authenticate` challenge that asks for one.

/// A requested `repository` scope.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct RepositoryScope {
    pub name: String,
    pub actions: Vec<String>,
}

/// Why a scope is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("scope {0:?} is not TYPE:NAME:ACTIONS (e.g. repository:acme/app:pull,push)")]
pub struct ScopeSyntaxError(pub String);

/// Parses one `scope` value; a value may hold several scopes separated by spaces.
/// Scopes of other types (`registry:catalog:*`) are valid and grant nothing here.
pub fn parse_scopes(value: &str) -> Result<Vec<RepositoryScope>, ScopeSyntaxError> {
    let mut out = Vec::new();
    for scope in value.split(' ').filter(|s| !s.is_empty()) {
        let bad = || ScopeSyntaxError(scope.to_owned());
        let (kind, rest) = scope.split_once(':').ok_or_else(bad)?;
        let (name, actions) = rest.rsplit_once(':').ok_or_else(bad)?;
        if kind.is_empty() || name.is_empty() || actions.is_empty() {
            return Err(bad());
        }
        // `repository(plugin)` is an old resource-class form: treat it as a repository.
        if kind == "repository" || kind.starts_with("repository(") {
            out.push(RepositoryScope {
                name: name.to_owned(),
                actions: actions.split(',').map(str::to_owned).collect(),
            });
        }
    }
    Ok(out)
}

/// A `WWW-Authenticate` Bearer challenge.
pub fn challenge(realm: &str, service: &str, scope: Option<&str>) -> String {
    match scope {
        Some(s) => format!(r#"Bearer realm="{realm}",service="{service}",scope="{s}""#),
        None => format!(r#"Bearer realm="{realm}",service="{service}""#),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_malformed_ones_are_refused() {
        assert_eq!(
            parse_scopes("repository:acme/app:pull,push").unwrap(),
            vec![RepositoryScope {
                name: "acme/app".into(),
                actions: vec!["pull".into(), "push".into()]
            }]
        );
        assert_eq!(
            parse_scopes("repository:a/b:pull repository:c/d:*")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse_scopes("registry:catalog:*").unwrap(), vec![]);
        for bad in [
            "repository",
            "repository:acme/app",
            ":a:b",
            "repository::pull",
            "repository:a/b:",
        ] {
            assert!(parse_scopes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn challenges_name_realm_service_and_scope() {
        assert_eq!(
            challenge(
                "https://c.example/token",
                "c.example",
                Some("repository:a/b:pull")
            ),
            r#"Bearer realm="https://c.example/token",service="c.example",scope="repository:a/b:pull""#
        );
    }
}
