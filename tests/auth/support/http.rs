//! Raw HTTP: exactly the bytes sent and received, with no client normalising paths.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::common::Berth;

/// An `Authorization: Basic` value.
pub fn basic(user: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{secret}")))
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// One HTTP/1.1 request over its own connection.
pub struct Http {
    addr: SocketAddr,
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Http {
    pub fn new(berth: &Berth, method: &str, target: &str) -> Http {
        Http {
            addr: berth.addr,
            method: method.to_owned(),
            target: target.to_owned(),
            headers: vec![("host".into(), berth.host().into_bytes())],
            body: Vec::new(),
        }
    }

    pub fn get(berth: &Berth, target: &str) -> Http {
        Http::new(berth, "GET", target)
    }

    /// Sets a header (replacing `host`), as raw bytes.
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Http {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_vec()));
        self
    }

    pub fn header(self, name: &str, value: &str) -> Http {
        self.header_bytes(name, value.as_bytes())
    }

    /// `Authorization: VALUE` (empty: none).
    pub fn auth(self, value: &str) -> Http {
        if value.is_empty() {
            self
        } else {
            self.header("authorization", value)
        }
    }

    pub fn body(mut self, body: &[u8]) -> Http {
        self.body = body.to_vec();
        self
    }

    pub fn send(self) -> Response {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.target).into_bytes();
        for (name, value) in &self.headers {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        let mut stream = TcpStream::connect(self.addr).expect("connecting to berth");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        // The server may answer and close before reading an oversize request whole.
        let _ = stream
            .write_all(&head)
            .and_then(|()| stream.write_all(&self.body));
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        Response::parse(&raw, self.method == "HEAD")
            .unwrap_or_else(|| panic!("{} {}: no HTTP response: {raw:?}", self.method, self.target))
    }
}

/// A response as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Lowercase names, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8], head_only: bool) -> Option<Response> {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..end]);
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let rest = &raw[end + 4..];
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        let body = match (head_only, chunked) {
            (true, _) => Vec::new(),
            (false, true) => dechunk(rest)?,
            (false, false) => rest.to_vec(),
        };
        Some(Response {
            status,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The OCI error code of an error response.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Everything but the `Date` header, which changes by the second.
    pub fn without_date(&self) -> Response {
        let mut r = self.clone();
        r.headers.retain(|(n, _)| n != "date");
        r
    }

    /// Fails unless this is `status` with the OCI error `code`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code().as_str()),
            (status, code),
            "{self:?}\n{}",
            self.text()
        );
    }
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// A registry token from `GET /token`, signing in with `authorization` (empty: anonymous).
pub fn registry_token(berth: &Berth, authorization: &str, repo: &str) -> String {
    let r = Http::get(
        berth,
        &format!(
            "/token?service={}&scope=repository:{repo}:pull",
            berth.host()
        ),
    )
    .auth(authorization)
    .send();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["token"].as_str().expect("a token").to_owned()
}
