//! `js/receiver.mjs` as the tests' child: each delivery it received, as a JSON line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::common::{repo_root, tool, wait_until};

pub struct Receiver {
    child: Child,
    deliveries: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    /// A receiver on `addr` checking signatures with `secret`, once it listens.
    pub fn start(addr: SocketAddr, secret: &str) -> Receiver {
        let modules = repo_root().join(".tools/api/js/node_modules");
        assert!(
            modules.join("@octokit/webhooks/package.json").is_file(),
            "@octokit/webhooks is not installed in {}: run `scripts/tools.sh api` (the README's test command does)",
            modules.display()
        );
        let mut child = Command::new(tool("node"))
            .arg(repo_root().join("tests/webhooks/js/receiver.mjs"))
            .env("PORT", addr.port().to_string())
            .env("SECRET", secret)
            .env("BERTH_API_NODE_MODULES", modules)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the webhook receiver (node)");
        let stdout = child.stdout.take().expect("piped stdout");
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let listening = Arc::new(Mutex::new(false));
        let (d, l) = (deliveries.clone(), listening.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[receiver] {line}");
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if v.get("listening").is_some() {
                    *l.lock().unwrap() = true;
                } else {
                    d.lock().unwrap().push(v);
                }
            }
        });
        wait_until("the receiver to listen", Duration::from_secs(30), || {
            *listening.lock().unwrap()
        });
        Receiver { child, deliveries }
    }

    /// The first `n` deliveries, waiting up to `within` for them.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        wait_until(&format!("{n} webhook deliveries"), within, || {
            self.deliveries.lock().unwrap().len() >= n
        });
        self.deliveries.lock().unwrap().clone()
    }

    pub fn received(&self) -> Vec<Value> {
        self.deliveries.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
