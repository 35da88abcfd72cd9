//! The HTTP side: one table of surfaces, each a sub-router with the host it is served on
//! and the route label it reports. Host isolation and metrics read the surface instead
//! of classifying paths again; health probes sit outside tracing and request metrics.

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use self::oci::http::{API_VERSION, DOCKER_API_VERSION};
use crate::hosts::HostRole;
use crate::state::AppState;

mod acts;
pub mod api;
pub mod health;
mod layers;
pub mod oci;
pub mod pages;

/// What a request reaches. Adding a surface (the REST API, the pages) is one row here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// `/v2/…` and `/token`: the OCI Distribution API and its token service.
    Oci,
    /// `HOST/api/v3`: GitHub's packages REST API.
    Api,
    /// `HOST`'s pages.
    Pages,
}

impl Surface {
    /// The host that serves the surface.
    pub fn host(self) -> HostRole {
        match self {
            Surface::Oci => HostRole::Containers,
            Surface::Api | Surface::Pages => HostRole::Site,
        }
    }

    /// The router of the surface (its routes only; the layers are added by `app`).
    fn router(self, state: &Arc<AppState>) -> Router<Arc<AppState>> {
        match self {
            Surface::Oci => oci::router()
                .merge(layers::labelled(oci::token::router(), "token", state))
                .layer(SetResponseHeaderLayer::overriding(
                    DOCKER_API_VERSION,
                    API_VERSION,
                )),
            Surface::Api => layers::labelled(api::router(), "api", state),
            Surface::Pages => layers::labelled(pages::router(), "pages", state),
        }
    }

    const ALL: [Surface; 3] = [Surface::Oci, Surface::Api, Surface::Pages];
}

/// The whole HTTP surface over `state`.
/// A `Retry-After` value, for every surface's 429: whole seconds, rounded up, so a
/// client that waits as long is let in.
pub(crate) fn retry_after(wait: std::time::Duration) -> axum::http::HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    axum::http::HeaderValue::from(secs.max(1))
}

/// The hosts a request named, for the URLs of the events it causes: the site (pages and
/// API) and the containers host as the client wrote it.
pub fn push_origin(
    app: &AppState,
    parts: &http::request::Parts,
) -> crate::packages::events::PushOrigin {
    crate::packages::events::PushOrigin {
        site: crate::hosts::site_base(&app.hosts, parts),
        registry: crate::hosts::realm_and_service(&app.hosts, parts).1,
    }
}

pub fn app(state: Arc<AppState>) -> Router {
    let mut served = Router::new();
    for surface in Surface::ALL {
        served = served.merge(layers::on_its_host(surface, surface.router(&state), &state));
    }
    let served = served
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::track,
        ))
        .layer(TraceLayer::new_for_http());
    // Probes answer on every host (kubelet reaches pods by IP), untraced and uncounted:
    // they come every few seconds and would drown the requests that matter.
    Router::new()
        .merge(health::router())
        .merge(served)
        .with_state(state)
}

/// A path no surface has.
async fn not_found() -> Response {
    oci::error::OciError::NotFound.into_response()
}
