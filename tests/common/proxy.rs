//! A round-robin HTTP proxy in front of several registries: each request (not each
//! connection) goes to the next one, as a load balancer in front of replicas would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;
use futures_util::TryStreamExt;

/// Headers that belong to one hop and are not forwarded.
const HOP_BY_HOP: [HeaderName; 4] = [
    header::CONNECTION,
    header::HOST,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

struct Upstreams {
    addrs: Vec<SocketAddr>,
    next: AtomicUsize,
    /// Requests sent to each upstream.
    served: Vec<AtomicUsize>,
    client: reqwest::Client,
}

/// The proxy, serving on 127.0.0.1 until dropped.
pub struct RoundRobin {
    pub addr: SocketAddr,
    upstreams: Arc<Upstreams>,
    _runtime: tokio::runtime::Runtime,
}

impl RoundRobin {
    pub fn start(addrs: &[SocketAddr]) -> RoundRobin {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let upstreams = Arc::new(Upstreams {
            addrs: addrs.to_vec(),
            next: AtomicUsize::new(0),
            served: addrs.iter().map(|_| AtomicUsize::new(0)).collect(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binding the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(upstreams.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        RoundRobin {
            addr,
            upstreams,
            _runtime: runtime,
        }
    }

    /// `127.0.0.1:PORT`, as image references spell the registry.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// How many requests each upstream was sent.
    pub fn served(&self) -> Vec<usize> {
        self.upstreams
            .served
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }
}

async fn forward(State(up): State<Arc<Upstreams>>, request: Request) -> Response {
    let i = up.next.fetch_add(1, Ordering::Relaxed) % up.addrs.len();
    up.served[i].fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = up
        .client
        .request(parts.method, format!("http://{}{path}", up.addrs[i]));
    if parts.headers.contains_key(header::CONTENT_LENGTH)
        || parts.headers.contains_key(header::TRANSFER_ENCODING)
    {
        out = out.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    }
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(name) {
            out = out.header(name, value);
        }
    }
    let answer = match out.send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(format!("upstream {}: {e}", up.addrs[i])))
                .expect("a response");
        }
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(name) {
            response = response.header(name, value);
        }
    }
    let stream = answer.bytes_stream().map_err(std::io::Error::other);
    response
        .body(Body::from_stream(stream))
        .expect("a response")
}
