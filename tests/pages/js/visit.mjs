// Visits Berth's pages in Debian's Chromium (playwright-core) and prints what it saw.
//
//   PAGES='[{"name": "package", "url": "http://127.0.0.1:PORT/…", "screenshot": "/tmp/x.png"}]' \
//     node visit.mjs
//
// For each page, three visits, each in a fresh context: as a browser runs it (the CSP
// enforced; every dialog, console error and CSP violation recorded, a screenshot if
// asked), with JavaScript disabled (the text a no-script visitor reads), and with
// axe-core's rules (the CSP bypassed for that visit only, since axe is injected as a
// script). Prints a JSON array of {name, status, text, dialogs, errors, noScriptStatus,
// noScriptText, violations: [{id, impact, help, targets}]}.

import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const NODE_MODULES =
  process.env.BERTH_PAGES_NODE_MODULES || join(here, "../../../.tools/pages/js/node_modules");
const die = (message) => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};
if (!existsSync(join(NODE_MODULES, "playwright-core"))) {
  die(`playwright-core is not installed in ${NODE_MODULES}: run \`scripts/tools.sh pages\``);
}
const CHROMIUM = process.env.BERTH_CHROMIUM || "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) die(`${CHROMIUM} is missing: run \`scripts/tools.sh pages\``);

const require = createRequire(join(NODE_MODULES, "noop.js"));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let pages;
try {
  pages = JSON.parse(process.env.PAGES ?? "");
} catch (e) {
  die(`PAGES is not JSON: ${e.message}`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const results = [];
try {
  for (const p of pages) {
    const out = { name: p.name, dialogs: [], errors: [] };

    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.on("dialog", async (d) => {
      out.dialogs.push(`${d.type()}: ${d.message()}`);
      await d.dismiss();
    });
    page.on("console", (m) => {
      if (m.type() === "error") out.errors.push(m.text());
    });
    page.on("pageerror", (e) => out.errors.push(String(e)));
    const answer = await page.goto(p.url, { waitUntil: "load" });
    out.status = answer.status();
    out.text = await page.innerText("body");
    if (p.screenshot) await page.screenshot({ path: p.screenshot, fullPage: true });
    await ctx.close();

    const noScript = await browser.newContext({ javaScriptEnabled: false });
    const quiet = await noScript.newPage();
    const answered = await quiet.goto(p.url, { waitUntil: "load" });
    out.noScriptStatus = answered.status();
    out.noScriptText = await quiet.innerText("body");
    await noScript.close();

    const audit = await browser.newContext({ bypassCSP: true });
    const audited = await audit.newPage();
    await audited.goto(p.url, { waitUntil: "load" });
    await audited.addScriptTag({ content: axeSource });
    const axe = await audited.evaluate(async () => await window.axe.run());
    out.violations = axe.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")),
    }));
    await audit.close();

    results.push(out);
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
