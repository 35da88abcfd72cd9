"""The webhooks benchmark's receiver: checks each delivery's X-Hub-Signature-256 (400 if
wrong), answers 200, and appends "RECEIPT_TIME DIGEST" to a file. GET /ready is 200."""
import hashlib, hmac, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, secret, out = int(sys.argv[1]), sys.argv[2].encode(), open(sys.argv[3], "a", buffering=1)
lock = threading.Lock()

class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.reply(200)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.time()
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, self.headers.get("X-Hub-Signature-256", "")):
            return self.reply(400)
        digest = json.loads(body)["package"]["package_version"]["version"]
        with lock:
            out.write(f"{now:.6f} {digest}\n")
        self.reply(200)

    def reply(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
