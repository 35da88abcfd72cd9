// What the octokit scripts share: loading the pinned npm packages from .tools/api/js
// (installed by `scripts/tools.sh api`), an Octokit pointed at Berth, and validation of
// every JSON response against GitHub's OpenAPI document (@octokit/openapi) for its
// operation. A violation is recorded and fails the script (exit 3) once it has printed
// its results.
//
// Environment: BASE_URL (http://127.0.0.1:PORT/api/v3), TOKEN (a PAT; empty: anonymous),
// BERTH_API_NODE_MODULES (default: ../../../.tools/api/js/node_modules from this file).

import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const NODE_MODULES =
  process.env.BERTH_API_NODE_MODULES || join(here, "../../../.tools/api/js/node_modules");

/** Fails the script with a message on stderr. */
export function die(message, code = 2) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

if (!existsSync(join(NODE_MODULES, "@octokit/rest"))) {
  die(`@octokit/rest is not installed in ${NODE_MODULES}: run \`scripts/tools.sh api\``);
}
const require = createRequire(join(NODE_MODULES, "noop.js"));

/** Imports an installed package (ESM or CommonJS) by name. */
export async function load(name) {
  return import(pathToFileURL(require.resolve(name)).href);
}

export function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === "") {
    if (fallback !== undefined) return fallback;
    die(`${name} is not set`);
  }
  return v;
}

// ---------------------------------------------------------------------------------------
// GitHub's OpenAPI document as JSON Schema

const DOC_ID = "https://api.github.com/openapi.json";
const doc = JSON.parse(
  readFileSync(join(NODE_MODULES, "@octokit/openapi/generated/api.github.com.json"), "utf8"),
);
export const OPENAPI_VERSION = JSON.parse(
  readFileSync(join(NODE_MODULES, "@octokit/openapi/package.json"), "utf8"),
).version;

/** OpenAPI 3.0 schema → JSON Schema: `nullable`, and `$ref`s made absolute. */
function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (!node || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "nullable" || k === "example" || k === "examples" || k.startsWith("x-")) continue;
    if (k === "$ref" && typeof v === "string" && v.startsWith("#/")) out[k] = DOC_ID + v;
    else if (k === "properties" || k === "patternProperties") {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, convert(s)]));
    } else out[k] = convert(v);
  }
  if (node.nullable === true) {
    if (typeof out.type === "string") {
      out.type = [out.type, "null"];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    } else if (out.type === undefined) {
      return { anyOf: [out, { type: "null" }] };
    }
  }
  return out;
}

const { default: Ajv } = await load("ajv");
const { default: addFormats } = await load("ajv-formats");
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
for (const f of ["int32", "int64", "uri-template", "binary", "byte", "password"]) {
  ajv.addFormat(f, true);
}
ajv.addSchema({ $id: DOC_ID, components: { schemas: convert(doc.components.schemas) } });

/** The operations of the document as [method, regex of the path, path, operation]. */
const operations = [];
for (const [path, item] of Object.entries(doc.paths)) {
  const re = new RegExp(
    "^" + path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+") + "$",
  );
  for (const [method, op] of Object.entries(item)) {
    if (op && op.operationId) operations.push([method.toUpperCase(), re, path, op]);
  }
}

/** The operation of a request to `pathname` (below the base URL). */
export function operationFor(method, pathname) {
  const found = operations.filter(([m, re]) => m === method && re.test(pathname));
  // A literal segment beats a parameter: `/user/packages` over `/users/{username}`.
  found.sort((a, b) => b[2].replace(/\{[^}]+\}/g, "").length - a[2].replace(/\{[^}]+\}/g, "").length);
  return found[0] ? { path: found[0][2], op: found[0][3] } : undefined;
}

const compiled = new Map();
function validatorFor(key, schema) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile(convert(schema)));
  return compiled.get(key);
}

/** The JSON schema GitHub declares for `status` of `op` (errors without one: basic-error). */
function responseSchema(op, status) {
  let r = op.responses[String(status)];
  if (r && r.$ref) r = doc.components.responses[r.$ref.split("/").pop()];
  const schema = r && r.content && r.content["application/json"] && r.content["application/json"].schema;
  if (schema) return { schema, what: `${op.operationId} ${status}` };
  if (status >= 400) {
    return {
      schema: { $ref: "#/components/schemas/basic-error" },
      what: `${op.operationId} ${status} (${r ? "declared without a body" : "undeclared"}: basic-error)`,
    };
  }
  return undefined;
}

export const violations = [];
export const exchanges = [];

/** Records one exchange and checks its body against the operation's schema. */
export function check({ method, url, status, headers, data, basePath }) {
  const u = new URL(url);
  let pathname = u.pathname;
  if (!pathname.startsWith(basePath)) {
    violations.push(`${method} ${url}: outside the base URL ${basePath}`);
  }
  pathname = pathname.slice(basePath.length) || "/";
  const found = operationFor(method, pathname);
  const exchange = { method, url, status, link: headers.link ?? null, operation: found?.op.operationId ?? null };
  exchanges.push(exchange);
  if (!found) {
    violations.push(`${method} ${pathname}: no operation of GitHub's API has this path`);
    return;
  }
  const type = headers["content-type"] ?? "";
  if (status === 204 || status === 304) {
    if (data !== undefined && data !== null && data !== "") {
      violations.push(`${found.op.operationId} ${status}: a body where GitHub sends none: ${JSON.stringify(data)}`);
    }
    return;
  }
  const declared = responseSchema(found.op, status);
  if (!declared) {
    violations.push(`${found.op.operationId}: status ${status} is not one GitHub declares`);
    return;
  }
  if (!/^application\/json\b/.test(type)) {
    violations.push(`${declared.what}: content-type ${JSON.stringify(type)}, not application/json`);
  }
  const validate = validatorFor(declared.what, declared.schema);
  if (!validate(data)) {
    const errs = validate.errors
      .slice(0, 20)
      .map((e) => `  ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`)
      .join("\n");
    violations.push(
      `${method} ${pathname} → ${declared.what} does not match GitHub's schema ` +
        `(@octokit/openapi ${OPENAPI_VERSION}):\n${errs}\n  body: ${JSON.stringify(data).slice(0, 2000)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// Octokit

const { Octokit } = await load("@octokit/rest");
const octokits = new Map();

/** An Octokit at BASE_URL signed in with `token` (empty: anonymous) whose every response
 * is checked. */
export function octokit(token = process.env.TOKEN ?? "") {
  if (octokits.has(token)) return octokits.get(token);
  const baseUrl = env("BASE_URL");
  const basePath = new URL(baseUrl).pathname.replace(/\/$/, "");
  const kit = new Octokit({
    baseUrl,
    ...(token ? { auth: token } : {}),
    userAgent: "berth-api-tests",
    log: { debug() {}, info() {}, warn: (m) => process.stderr.write(`[octokit] ${m}\n`), error: (m) => process.stderr.write(`[octokit] ${m}\n`) },
  });
  kit.hook.wrap("request", async (request, options) => {
    const method = options.method.toUpperCase();
    try {
      const response = await request(options);
      check({ method, url: response.url, status: response.status, headers: response.headers, data: response.data, basePath });
      return response;
    } catch (error) {
      if (error.response) {
        const r = error.response;
        check({ method, url: r.url, status: r.status, headers: r.headers, data: r.data, basePath });
      }
      throw error;
    }
  });
  octokits.set(token, kit);
  return kit;
}

/** Prints `results` as JSON; exits 3 naming every schema violation seen. */
export function finish(results) {
  process.stdout.write(JSON.stringify(results, null, 1) + "\n");
  if (violations.length) {
    die(`${violations.length} response(s) violate GitHub's OpenAPI schema:\n${violations.join("\n")}`, 3);
  }
}
