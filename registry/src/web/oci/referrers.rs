//! `GET /v2/<name>/referrers/<digest>?artifactType=`.

use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::Handled;
use crate::oci::digest::Digest;
use crate::oci::media_types::OCI_INDEX;
use crate::oci::reference::RepoName;
use crate::state::AppState;
use crate::web::oci::http::{OCI_FILTERS_APPLIED, Query};

pub async fn list(app: &AppState, repo: &RepoName, digest: &str, parts: &Parts) -> Handled {
    let subject: Digest = digest.parse()?;
    let query = Query::of(parts);
    let artifact_type = query.get("artifactType").filter(|t| !t.is_empty());
    let manifests = app.content.referrers(repo, &subject, artifact_type).await?;
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    let mut resp = axum::Json(index).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(OCI_INDEX));
    if artifact_type.is_some() {
        h.insert(
            OCI_FILTERS_APPLIED,
            HeaderValue::from_static("artifactType"),
        );
    }
    Ok(resp)
}
