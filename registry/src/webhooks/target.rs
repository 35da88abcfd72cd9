//! Where a webhook may be delivered. A URL is the configuring user's, but the request
//! leaves from inside the registry's network: without a check, a webhook to
//! 169.254.169.254 reads the cloud's metadata (credentials) and one to 10.0.0.1 probes
//! the cluster. Addresses are checked after resolution, in the resolver the HTTP client
//! uses, so a name that resolves to a private address is refused too (no packet is
//! sent), and an address literal is checked before the request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why `ip` may not receive webhooks, if it may not.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refusal_v4(v4),
            None => refusal_v6(v6),
        },
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata lives at 169.254.169.254)")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("a private address")
    } else if ip.is_unspecified() || a == 0 || ip.is_broadcast() || ip.is_multicast() {
        Some("not a unicast address")
    } else {
        None
    }
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("not a unicast address")
    } else {
        None
    }
}

/// The system's resolver, keeping only addresses webhooks may reach.
pub struct CheckedResolver;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| refusal(a.ip()).is_none())
                .collect();
            if allowed.is_empty() {
                let why = found
                    .first()
                    .and_then(|a| refusal(a.ip()))
                    .unwrap_or("not found");
                return Err(format!("{host} resolves to {why}; webhooks may not reach it (spec.webhooks.allowPrivateTargets allows it)").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// An HTTP client for deliveries: timeouts, no redirects (a receiver could redirect to
/// a private address), and unless `allow_private`, the checked resolver.
pub fn client(allow_private: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("GitHub-Hookshot/berth-", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(CheckedResolver));
    }
    builder.build().expect("a TLS backend")
}

/// Why `url` may not receive webhooks, checked before sending: an address literal in
/// the URL never reaches the resolver.
pub fn check_url(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{url} is not an http(s) URL"));
    }
    let Some(host) = url.host_str() else {
        return Err(format!("{url} names no host"));
    };
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(()); // a name: the resolver checks what it resolves to
    };
    match refusal(ip) {
        Some(why) if !allow_private => Err(format!(
            "{ip} is {why}; webhooks may not reach it (spec.webhooks.allowPrivateTargets allows it)"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses_are_refused_and_public_ones_pass() {
        for inside in [
            "127.0.0.1",
            "169.254.169.254",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(refusal(inside.parse().unwrap()).is_some(), "{inside}");
        }
        for outside in ["8.8.8.8", "140.82.112.3", "2606:4700::1111", "172.32.0.1"] {
            assert_eq!(refusal(outside.parse().unwrap()), None, "{outside}");
        }
    }

    #[test]
    fn address_literals_are_checked_before_any_request() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_url(&url("http://169.254.169.254/latest"), false).is_err());
        assert!(check_url(&url("http://[::1]:8080/"), false).is_err());
        assert!(check_url(&url("http://127.0.0.1:9/"), true).is_ok());
        assert!(check_url(&url("https://hooks.example/x"), false).is_ok());
    }
}
