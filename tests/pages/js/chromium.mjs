// What visit.mjs and flow.mjs share: playwright-core and axe-core from the tools cache,
// Debian's Chromium launched as the tests run it, and how a script gives up.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const NODE_MODULES =
  process.env.BERTH_PAGES_NODE_MODULES || join(here, "../../../.tools/pages/js/node_modules");

export const die = (message) => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};

if (!existsSync(join(NODE_MODULES, "playwright-core"))) {
  die(`playwright-core is not installed in ${NODE_MODULES}: run \`scripts/tools.sh pages\``);
}
const CHROMIUM = process.env.BERTH_CHROMIUM || "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) die(`${CHROMIUM} is missing: run \`scripts/tools.sh pages\``);

// `require` from the tools cache's node_modules.
export const require = createRequire(join(NODE_MODULES, "noop.js"));

// The JSON in environment variable `name`, or the script gives up.
export const jsonEnv = (name) => {
  try {
    return JSON.parse(process.env[name] ?? "");
  } catch (e) {
    return die(`${name} is not JSON: ${e.message}`);
  }
};

// Headless Chromium, as the tests run it.
export const launch = () =>
  require("playwright-core").chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
