//! The pages surface on the site host (`HOST`). Until the package pages land, its root
//! says where images are served.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;

use crate::hosts::Hosts;
use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/", get(home))
}

async fn home(State(app): State<Arc<AppState>>) -> Html<String> {
    let images = match &app.hosts {
        Hosts::Split { containers, .. } => containers.clone(),
        Hosts::Single => "this address".to_owned(),
    };
    Html(format!(
        "<!doctype html><title>Berth</title><h1>Berth</h1><p>Container images are served at <code>{images}</code>.</p>"
    ))
}
