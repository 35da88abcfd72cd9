// Visits Berth's pages in Debian's Chromium (playwright-core) and prints what it saw.
//
//   PAGES='[{"name": "package", "url": "http://127.0.0.1:PORT/…", "screenshot": "/tmp/x.png"}]' \
//     node visit.mjs
//
// For each page, three visits, each in a fresh context: as a browser runs it (the CSP
// enforced; every dialog, console error and CSP violation recorded, a screenshot if
// asked), with JavaScript disabled (the text a no-script visitor reads), and with
// axe-core's rules (the CSP bypassed for that visit only, since axe is injected as a
// script). A page may carry a "cookie" ("name=value", a session) that each visit
// sends. Prints a JSON array of {name, status, text, dialogs, errors, noScriptStatus,
// noScriptText, violations: [{id, impact, help, targets}]}.

import { readFileSync } from "node:fs";

import { jsonEnv, launch, require } from "./chromium.mjs";

const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const pages = jsonEnv("PAGES");
const browser = await launch();
const results = [];
try {
  // A fresh context for `p`, with its cookie if it has one.
  const context = async (p, options) => {
    const ctx = await browser.newContext(options);
    if (p.cookie) {
      const [name, ...rest] = p.cookie.split("=");
      await ctx.addCookies([{ name, value: rest.join("="), url: p.url }]);
    }
    return ctx;
  };
  for (const p of pages) {
    const out = { name: p.name, dialogs: [], errors: [] };

    const ctx = await context(p, {});
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

    const noScript = await context(p, { javaScriptEnabled: false });
    const quiet = await noScript.newPage();
    const answered = await quiet.goto(p.url, { waitUntil: "load" });
    out.noScriptStatus = answered.status();
    out.noScriptText = await quiet.innerText("body");
    await noScript.close();

    const audit = await context(p, { bypassCSP: true });
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
