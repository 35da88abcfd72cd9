//! GitHub's paging: `page` (from 1) and `per_page` (default 30, at most 100), and the
//! `Link` header with absolute URLs in the order prev, next, last, first.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use super::error::ApiError;
use crate::packages::versions::Page;

/// GitHub's default and largest page sizes, and its cap on how deep a listing goes.
pub const DEFAULT_PER_PAGE: usize = 30;
pub const MAX_PER_PAGE: usize = 100;
pub const MAX_DEPTH: usize = 10_000;

/// The page a query asks for. A value that is not a number counts as absent, as on
/// GitHub; `per_page` above 100 is 100.
pub fn page_of(query: &BTreeMap<String, String>) -> Result<Page, ApiError> {
    let number = query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let per_page = query
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PER_PAGE)
        .clamp(1, MAX_PER_PAGE);
    if number.saturating_mul(per_page) > MAX_DEPTH {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "The value of `per_page` multiplied by `page` cannot be greater than 10000.",
        ));
    }
    Ok(Page { number, per_page })
}

/// The `Link` header for `page` of `total` items at `url` (absolute, without query) with
/// `query`; `None` when everything fits on one page.
pub fn link(
    url: &str,
    query: &BTreeMap<String, String>,
    page: Page,
    total: usize,
) -> Option<String> {
    let last = total.div_ceil(page.per_page).max(1);
    let at = |n: usize| {
        let mut q = query.clone();
        q.insert("page".into(), n.to_string());
        let encoded: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q.iter())
            .finish();
        format!("<{url}?{encoded}>")
    };
    let mut rels = Vec::new();
    if page.number > 1 {
        rels.push(format!("{}; rel=\"prev\"", at((page.number - 1).min(last))));
    }
    if page.number < last {
        rels.push(format!("{}; rel=\"next\"", at(page.number + 1)));
        rels.push(format!("{}; rel=\"last\"", at(last)));
    }
    if page.number > 1 {
        rels.push(format!("{}; rel=\"first\"", at(1)));
    }
    (!rels.is_empty()).then(|| rels.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pages_default_cap_and_refuse_past_ten_thousand() {
        assert_eq!(
            page_of(&query(&[])).unwrap(),
            Page {
                number: 1,
                per_page: 30
            }
        );
        let p = page_of(&query(&[("page", "3"), ("per_page", "500")])).unwrap();
        assert_eq!(
            p,
            Page {
                number: 3,
                per_page: 100
            }
        );
        assert_eq!(page_of(&query(&[("page", "x")])).unwrap().number, 1);
        let e = page_of(&query(&[("page", "101"), ("per_page", "100")])).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("cannot be greater than 10000"));
        assert!(page_of(&query(&[("page", "100"), ("per_page", "100")])).is_ok());
    }

    #[test]
    fn links_are_absolute_keep_the_query_and_come_in_githubs_order() {
        let q = query(&[("per_page", "100"), ("state", "active")]);
        let url = "http://h/api/v3/orgs/o/packages/container/a/versions";
        let middle = link(
            url,
            &q,
            Page {
                number: 2,
                per_page: 100,
            },
            250,
        )
        .unwrap();
        assert_eq!(
            middle,
            "<http://h/api/v3/orgs/o/packages/container/a/versions?page=1&per_page=100&state=active>; rel=\"prev\", \
             <http://h/api/v3/orgs/o/packages/container/a/versions?page=3&per_page=100&state=active>; rel=\"next\", \
             <http://h/api/v3/orgs/o/packages/container/a/versions?page=3&per_page=100&state=active>; rel=\"last\", \
             <http://h/api/v3/orgs/o/packages/container/a/versions?page=1&per_page=100&state=active>; rel=\"first\""
        );
        let first = link(
            url,
            &q,
            Page {
                number: 1,
                per_page: 100,
            },
            250,
        )
        .unwrap();
        assert!(!first.contains("prev") && !first.contains("first") && first.contains("next"));
        let last = link(
            url,
            &q,
            Page {
                number: 3,
                per_page: 100,
            },
            250,
        )
        .unwrap();
        assert!(!last.contains("next") && !last.contains("\"last\"") && last.contains("prev"));
        assert_eq!(
            link(
                url,
                &q,
                Page {
                    number: 1,
                    per_page: 100
                },
                100
            ),
            None
        );
    }
}
