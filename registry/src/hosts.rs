//! Subdomain isolation: image traffic on `containers.HOST`, pages and the REST API on
//! `HOST`, so pushed content can never run script in the pages' origin. A laptop may
//! serve everything on one address, but only when asked to (`--single-host`).

use axum::http::header;
use axum::http::request::Parts;

/// Which hosts serve what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hosts {
    /// Everything on any address (laptop mode, explicitly asked for).
    Single,
    /// Images on `containers`, pages and API on `site`.
    Split { containers: String, site: String },
}

impl Hosts {
    /// `site` for pages, `containers` (default `containers.SITE`) for images.
    pub fn split(site: &str, containers: Option<&str>) -> Hosts {
        let site = site.to_ascii_lowercase();
        let containers =
            containers.map_or_else(|| format!("containers.{site}"), str::to_ascii_lowercase);
        Hosts::Split { containers, site }
    }
}

/// The request's host, lowercase, without the port.
pub fn request_host(
    parts_headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
) -> Option<String> {
    let raw = parts_headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))?;
    let host = match raw.rsplit_once(':') {
        // Keep IPv6 literals whole: [::1]:5000
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => raw,
    };
    Some(host.to_ascii_lowercase())
}

impl Hosts {
    /// Whether a request to `host` (lowercase, no port) may reach `role`'s surfaces.
    pub fn admits(&self, role: HostRole, host: Option<&str>) -> bool {
        match self {
            Hosts::Single => true,
            Hosts::Split { containers, site } => match role {
                HostRole::Containers => host == Some(containers.as_str()),
                HostRole::Site => host == Some(site.as_str()),
                HostRole::Any => true,
            },
        }
    }
}

/// Which host a surface is served on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostRole {
    /// `containers.HOST`: images, which may hold anything a pusher chose.
    Containers,
    /// `HOST`: pages and the REST API.
    Site,
    /// Every host (probes reach pods by IP).
    Any,
}

/// The token realm and service to name in challenges: the host the client used (with
/// its port), which in split mode is the containers host, since isolation let the
/// request through. TLS is recognised from the ingress's `X-Forwarded-Proto`.
pub fn realm_and_service(hosts: &Hosts, parts: &Parts) -> (String, String) {
    let service = authority(hosts, parts, HostRole::Containers);
    (format!("{}://{service}/token", scheme(parts)), service)
}

/// The scheme and authority pages and API URLs are written with: the site host (with
/// the port the client used when it is the one asked for), `http` unless the ingress
/// says it terminated TLS.
pub fn site_base(hosts: &Hosts, parts: &Parts) -> String {
    format!(
        "{}://{}",
        scheme(parts),
        authority(hosts, parts, HostRole::Site)
    )
}

/// The authority URLs for `role`'s host are written with: as the client sent it (with
/// its port) when it asked that host, else the configured name; in single-host mode,
/// whatever it sent.
fn authority(hosts: &Hosts, parts: &Parts, role: HostRole) -> String {
    let sent = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let Hosts::Split { containers, site } = hosts else {
        return sent.unwrap_or("localhost").to_owned();
    };
    let named = match role {
        HostRole::Site => site,
        HostRole::Containers | HostRole::Any => containers,
    };
    match sent {
        Some(sent)
            if request_host(&parts.headers, &parts.uri).as_deref() == Some(named.as_str()) =>
        {
            sent.to_ascii_lowercase()
        }
        _ => named.clone(),
    }
}

fn scheme(parts: &Parts) -> &'static str {
    match parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_paths() {
        assert_eq!(
            Hosts::split("Example.test", None),
            Hosts::Split {
                containers: "containers.example.test".into(),
                site: "example.test".into()
            }
        );
        let split = Hosts::split("example.test", None);
        let (c, s) = (Some("containers.example.test"), Some("example.test"));
        assert!(split.admits(HostRole::Containers, c) && !split.admits(HostRole::Containers, s));
        assert!(split.admits(HostRole::Site, s) && !split.admits(HostRole::Site, c));
        assert!(!split.admits(HostRole::Site, None) && split.admits(HostRole::Any, None));
        assert!(Hosts::Single.admits(HostRole::Site, c));
        let uri: axum::http::Uri = "/".parse().unwrap();
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::HOST, "Containers.Example.Test:443".parse().unwrap());
        assert_eq!(
            request_host(&h, &uri).as_deref(),
            Some("containers.example.test")
        );
        h.insert(header::HOST, "[::1]:5000".parse().unwrap());
        assert_eq!(request_host(&h, &uri).as_deref(), Some("[::1]"));
    }
}
