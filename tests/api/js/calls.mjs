// Runs a list of @octokit/rest calls against Berth and prints what each answered.
//
//   BASE_URL=http://127.0.0.1:PORT/api/v3 TOKEN=bpat_… CALLS='[…]' node calls.mjs
//
// CALLS is a JSON array of {"call": "packages.getPackageForOrganization", "params": {…},
// "paginate": false, "token": "…"}: `call` names an `octokit.rest` method (or "request",
// whose params are {"route": "GET /x", …}); `paginate` runs it through `octokit.paginate`;
// `token` (optional) signs that call in with another PAT ("" = anonymous). The output is a
// JSON array of {"call", "status", "data", "requests": [{method, url, status, link,
// operation}]}; an HTTP error is a result (its status and body), not a failure. Every
// response is checked against GitHub's OpenAPI schema of its operation: a violation exits 3
// after printing (lib.mjs).

import { env, die, octokit, exchanges, finish } from "./lib.mjs";

let calls;
try {
  calls = JSON.parse(env("CALLS"));
} catch (e) {
  die(`CALLS is not JSON: ${e.message}`);
}

const results = [];
for (const c of calls) {
  const kit = octokit(c.token ?? process.env.TOKEN ?? "");
  let fn;
  if (c.call === "request") {
    fn = kit.request;
  } else {
    const [ns, name] = c.call.split(".");
    fn = kit.rest[ns] && kit.rest[ns][name];
    if (typeof fn !== "function") die(`octokit.rest has no method ${c.call}`);
  }
  const start = exchanges.length;
  const params = { ...(c.params || {}) };
  let route;
  if (c.call === "request") {
    route = params.route;
    delete params.route;
  }
  const result = { call: c.call, params: c.params || {} };
  try {
    if (c.paginate) {
      result.data = route ? await kit.paginate(route, params) : await kit.paginate(fn, params);
      result.status = 200;
    } else {
      const r = route ? await fn(route, params) : await fn(params);
      result.status = r.status;
      result.data = r.data === "" ? null : r.data;
      result.headers = { link: r.headers.link ?? null, "content-type": r.headers["content-type"] ?? null };
    }
  } catch (error) {
    if (!error.status) die(`${c.call} failed without an HTTP answer: ${error.stack || error}`);
    result.status = error.status;
    result.data = error.response ? error.response.data : null;
  }
  result.requests = exchanges.slice(start);
  results.push(result);
}
finish(results);
