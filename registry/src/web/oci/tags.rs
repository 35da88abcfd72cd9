//! `GET /v2/<name>/tags/list?n=&last=`.

use axum::Json;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde_json::json;

use super::Handled;
use crate::content::Error;
use crate::oci::reference::RepoName;
use crate::state::AppState;
use crate::web::oci::http::{Query, value};

pub async fn list(app: &AppState, repo: &RepoName, parts: &Parts) -> Handled {
    let name = repo.as_str();
    let query = Query::of(parts);
    let n = query
        .get("n")
        .map(|n| {
            n.parse::<usize>()
                .map_err(|_| Error::PaginationInvalid(format!("n={n:?} is not a count")))
        })
        .transpose()?;
    let last = query.get("last");
    let tags = app.content.tags_list(repo, last, n).await?;
    // A full page may have a successor; the client follows `Link` until a short page.
    let next = match (n, tags.last()) {
        (Some(n), Some(last)) if n > 0 && tags.len() == n => Some(format!(
            "</v2/{name}/tags/list?n={n}&last={}>; rel=\"next\"",
            form_urlencoded::byte_serialize(last.as_bytes()).collect::<String>()
        )),
        _ => None,
    };
    let mut resp = Json(json!({"name": name, "tags": tags})).into_response();
    if let Some(link) = next {
        resp.headers_mut().insert(header::LINK, value(link));
    }
    Ok(resp)
}
