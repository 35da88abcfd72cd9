// A webhook receiver built on GitHub's own libraries: @octokit/webhooks verifies each
// delivery's X-Hub-Signature-256 with the secret, and every payload of GitHub's events is
// validated with ajv against its event's schema in @octokit/openapi-webhooks (api.github.com's
// webhook document); Berth's own `berth_*` events have none. It prints one JSON line per delivery on stdout and answers 200, or 400 when
// the signature is wrong (which the test then sees as a retry).
//
// Environment: PORT (on 127.0.0.1; 0 picks one, printed first as {"listening": PORT}),
// SECRET, BERTH_API_NODE_MODULES (the pinned packages, `scripts/tools.sh api`).

import { createServer } from "node:http";
import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const NODE_MODULES = process.env.BERTH_API_NODE_MODULES;
if (!NODE_MODULES || !existsSync(join(NODE_MODULES, "@octokit/webhooks"))) {
  process.stderr.write(`@octokit/webhooks is not installed in ${NODE_MODULES}: run \`scripts/tools.sh api\`\n`);
  process.exit(2);
}
const require = createRequire(join(NODE_MODULES, "noop.js"));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);

const { Webhooks } = await load("@octokit/webhooks");
const { default: Ajv } = await load("ajv");
const { default: addFormats } = await load("ajv-formats");

const DOC_ID = "https://api.github.com/webhooks.json";
const doc = JSON.parse(
  readFileSync(join(NODE_MODULES, "@octokit/openapi-webhooks/generated/api.github.com.json"), "utf8"),
);
function absolute(node) {
  if (Array.isArray(node)) return node.map(absolute);
  if (!node || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "example" || k === "examples" || k.startsWith("x-")) continue;
    out[k] = k === "$ref" && typeof v === "string" && v.startsWith("#/") ? DOC_ID + v : absolute(v);
  }
  return out;
}
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
ajv.addSchema({ $id: DOC_ID, components: absolute(doc.components) });
const validate = (event, action) => {
  const name = `webhook-${event.replaceAll("_", "-")}-${action}`;
  if (!doc.components.schemas[name]) return [`no schema ${name} in @octokit/openapi-webhooks`];
  const check = ajv.getSchema(`${DOC_ID}#/components/schemas/${name}`);
  return check(payloadOf.current) ? [] : check.errors.map((e) => `${e.instancePath} ${e.message}`);
};
const payloadOf = { current: null };

const webhooks = new Webhooks({ secret: process.env.SECRET });

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const h = req.headers;
    const verified = await webhooks.verify(body, h["x-hub-signature-256"] ?? "").catch(() => false);
    let payload = null;
    let errors = [];
    // Berth's own events have no schema of GitHub's to meet.
    const ours = (h["x-github-event"] ?? "").startsWith("berth_");
    try {
      payload = JSON.parse(body);
      payloadOf.current = payload;
      errors = ours ? [] : validate(h["x-github-event"], payload.action);
    } catch (e) {
      errors = [`not JSON: ${e.message}`];
    }
    const pkg = payload?.package ?? payload?.registry_package;
    const line = {
      event: h["x-github-event"],
      delivery: h["x-github-delivery"],
      hook_id: h["x-github-hook-id"],
      user_agent: h["user-agent"],
      verified,
      errors,
      action: payload?.action,
      package: pkg ? `${pkg.namespace}/${pkg.name}` : null,
      tag: pkg?.package_version?.container_metadata?.tag?.name ?? null,
      digest: pkg?.package_version?.version ?? null,
      sender: payload?.sender?.login ?? null,
      schema: !ours,
      version_name: payload?.package_version?.name ?? null,
    };
    process.stdout.write(JSON.stringify(line) + "\n");
    res.writeHead(verified ? 200 : 400, { "content-type": "text/plain" });
    res.end(verified ? "ok" : "bad signature");
  });
});
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ listening: server.address().port }) + "\n");
});
