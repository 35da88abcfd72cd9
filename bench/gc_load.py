"""Pushes for bench/gc.sh and bench/pages.sh, 8 connections at a time over keep-alive.

  gc_load.py fill URL AUTH MANIFESTS STRAYS OUT     a store to collect: MANIFESTS tagged
      images (a config and 3 layers of 1 KiB each, all distinct), then STRAYS blobs of
      1 KiB that no manifest names; writes the strays' total bytes to OUT.
  gc_load.py pushes URL AUTH N SEED OUT             N pushes as a client makes them
      (HEAD the layer, upload it, PUT the manifest); writes each push's seconds to OUT.
  gc_load.py versions URL AUTH N REPO              N versions of one package REPO, every
      tenth tagged (v0, v10, ...), the rest untagged (pushed by a tag that then moves).

AUTH is "user:secret" for Basic, or "-" for none (the peers run without auth).
"""
import base64, hashlib, http.client, json, sys, threading, time, urllib.parse

mode, url, auth = sys.argv[1], sys.argv[2], sys.argv[3]
host = urllib.parse.urlparse(url).netloc
headers = {} if auth == "-" else {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}
REPOS = 10  # manifests spread over bench/app0..9


def blob(seed):
    return hashlib.sha512(seed.encode()).digest() * 16  # 1 KiB, distinct per seed


def request(conn, method, path, body=None, extra=None):
    conn.request(method, path, body=body, headers={**headers, **(extra or {})})
    r = conn.getresponse()
    r.read()
    return r


def upload(conn, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = request(conn, "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data,
                {"Content-Type": "application/octet-stream"})
    if r.status == 202:  # a registry that does not take a monolithic POST
        loc = r.getheader("Location")
        loc = urllib.parse.urlparse(loc)
        path = loc.path + "?" + (loc.query + "&" if loc.query else "") + f"digest={digest}"
        r = request(conn, "PUT", path, data, {"Content-Type": "application/octet-stream"})
    if r.status != 201:
        sys.exit(f"bench: upload answered {r.status}")
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": len(data)}


def image(conn, repo, tag, seed, head_first=False):
    layers = []
    for k in range(3):
        data = blob(f"{seed}-layer-{k}")
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if head_first and request(conn, "HEAD", f"/v2/{repo}/blobs/{digest}").status == 200:
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": len(data)})
            continue
        layers.append(upload(conn, repo, data))
    config = upload(conn, repo, json.dumps({"seed": seed}).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config, "layers": layers}).encode()
    r = request(conn, "PUT", f"/v2/{repo}/manifests/{tag}", manifest,
                {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    if r.status != 201:
        sys.exit(f"bench: manifest answered {r.status}")


def run(n, work):
    todo, lock = iter(range(n)), threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(host)
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            work(conn, i)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if mode == "fill":
    manifests, strays, out = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    run(manifests, lambda c, i: image(c, f"bench/app{i % REPOS}", f"t{i}", f"image-{i}"))
    run(strays, lambda c, i: upload(c, f"bench/app{i % REPOS}", blob(f"stray-{i}")))
    open(out, "w").write(str(strays * 1024))
elif mode == "pushes":
    n, seed, out = int(sys.argv[4]), sys.argv[5], sys.argv[6]
    times, lock = [], threading.Lock()

    def push(conn, i):
        t0 = time.monotonic()
        image(conn, f"bench/app{i % REPOS}", f"p{i}", f"{seed}-{i}", head_first=True)
        with lock:
            times.append(time.monotonic() - t0)

    started = time.monotonic()
    run(n, push)
    wall = time.monotonic() - started
    open(out, "w").write(f"{wall}\n" + "\n".join(str(t) for t in times) + "\n")
elif mode == "versions":
    n, repo = int(sys.argv[4]), sys.argv[5]
    # Untagged versions are pushed by a tag each moves away from: `u` ends on the last.
    run(n, lambda c, i: image(c, repo, f"v{i}" if i % 10 == 0 else "u", f"version-{i}"))
else:
    sys.exit(f"gc_load.py: unknown mode {mode}")
