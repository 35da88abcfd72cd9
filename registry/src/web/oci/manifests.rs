//! `GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;

use super::Handled;
use super::access::Access;
use crate::content;
use crate::oci::reference::{Reference, RepoName, Tag};
use crate::packages::versions::Rules;
use crate::state::AppState;
use crate::web::oci::http::{
    DOCKER_CONTENT_DIGEST, OCI_SUBJECT, OCI_TAG, Query, content_length, etag, header_str,
    if_none_match, value,
};

pub async fn get(app: &AppState, repo: &RepoName, reference: &str, parts: &Parts) -> Handled {
    let reference = Reference::parse(reference)?;
    let m = app.content.manifest_get(repo, &reference).await?;
    let tag = etag(&m.digest);
    let not_modified =
        header_str(parts, &header::IF_NONE_MATCH).is_some_and(|h| if_none_match(h, &tag));
    let (status, body) = if not_modified {
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else if parts.method == Method::HEAD {
        (StatusCode::OK, Body::empty())
    } else {
        // A download: counted in memory, flushed in batches (packages/downloads.rs).
        app.downloads.count(repo, &m.digest);
        (StatusCode::OK, Body::from(m.bytes.clone()))
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, value(&m.media_type));
    if !not_modified {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(m.bytes.len()));
    }
    h.insert(DOCKER_CONTENT_DIGEST, value(m.digest.to_string()));
    h.insert(header::ETAG, tag);
    Ok(resp)
}

pub async fn put(
    app: &AppState,
    access: &Access,
    repo: &RepoName,
    reference: &str,
    parts: &Parts,
    body: Body,
) -> Handled {
    let reference = Reference::parse(reference)?;
    let extra_tags = Query::of(parts)
        .all("tag")
        .map(Tag::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let max = app.content.limits().max_manifest_bytes;
    let too_large = || {
        content::Error::TooLarge(format!(
            "manifest exceeds this registry's limit of {max} bytes"
        ))
    };
    if content_length(parts)?.is_some_and(|n| n > max) {
        return Err(too_large().into());
    }
    let body = axum::body::to_bytes(body, usize::try_from(max).unwrap_or(usize::MAX))
        .await
        .map_err(|_| too_large())?;
    let content_type = header_str(parts, &header::CONTENT_TYPE);
    let put = app
        .content
        .manifest_put(repo, &reference, content_type, body, &extra_tags)
        .await?;
    let tags: Vec<String> = match &reference {
        Reference::Tag(t) => Some(t.as_str().to_owned()),
        Reference::Digest(_) => None,
    }
    .into_iter()
    .chain(extra_tags.iter().map(|t| t.as_str().to_owned()))
    .collect();
    let origin = crate::web::push_origin(app, parts);
    crate::packages::after_manifest_push(
        &app.packages(),
        &access.identity,
        access.creates,
        repo,
        &put.digest,
        &put.manifest,
        &tags,
        &origin,
    )
    .await?;
    let who = access.identity.audit_name();
    let version = put.digest.to_string();
    let entry = crate::audit::Entry {
        who: &who,
        package: Some(repo.as_str()),
        version: Some(&version),
        tags: &tags,
        from: app.client_address(parts),
    };
    app.audit(crate::audit::Action::Push, &entry);
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        value(format!("/v2/{repo}/manifests/{}", put.digest)),
    );
    h.insert(DOCKER_CONTENT_DIGEST, value(put.digest.to_string()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    if let Some(subject) = put.subject {
        h.insert(OCI_SUBJECT, value(subject.to_string()));
    }
    for tag in &extra_tags {
        h.append(OCI_TAG, value(tag.as_str()));
    }
    Ok(resp)
}

pub async fn delete(
    app: &AppState,
    access: &Access,
    repo: &RepoName,
    reference: &str,
    parts: &Parts,
) -> Handled {
    let reference = Reference::parse(reference)?;
    match &reference {
        // By tag: only the tag goes.
        Reference::Tag(_) => app.content.manifest_delete(repo, &reference).await?,
        // By digest: the version's delete, as through the REST API (restorable), but
        // without GitHub's package rules, which the distribution spec does not have.
        Reference::Digest(digest) => {
            let packages = app.packages();
            if app.content.manifest_get(repo, &reference).await.is_err() {
                return Err(content::Error::ManifestUnknown.into());
            }
            let pkg = packages.record_of(repo).await?.id;
            let version = packages.record_version(repo, pkg, digest).await?;
            packages
                .delete_version(repo, pkg, version.id, Rules::Oci)
                .await?;
            let (who, digest) = (access.identity.audit_name(), digest.to_string());
            let entry = crate::audit::Entry {
                who: &who,
                package: Some(repo.as_str()),
                version: Some(&digest),
                from: app.client_address(parts),
                ..Default::default()
            };
            app.audit(crate::audit::Action::DeleteVersion, &entry);
            let origin = crate::web::push_origin(app, parts);
            packages
                .announce_version(repo, pkg, version.id, &who, "deleted", &origin)
                .await?;
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
