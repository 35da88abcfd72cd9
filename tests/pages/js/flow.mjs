// Walks Berth's pages in Debian's Chromium (playwright-core) the way a person does:
// following links, filling and sending forms, with JavaScript disabled (every form works
// without it). The cookies of a walk are kept in STATE, so a test walks in steps with
// podman in between, signed in throughout.
//
//   STEPS='[{"goto": "http://127.0.0.1:PORT/login"}, {"fill": "#login", "value": "admin"},
//           {"click": "button[type=submit]"}, {"screenshot": "/tmp/x.png"}]' \
//   STATE=/tmp/state.json node flow.mjs
//
// Steps: goto URL; fill SELECTOR with value; check / uncheck SELECTOR; select SELECTOR's
// option value; click SELECTOR (and wait for the page it loads); screenshot to a path.
// Prints a JSON array, one entry per step: {url, status, text} where status is the
// answer of the last page loaded and text the body's text after the step. A selector that
// matches nothing fails the walk (exit 1) naming the step and the page's text.

import { existsSync } from "node:fs";

import { die, jsonEnv, launch } from "./chromium.mjs";

const steps = jsonEnv("STEPS");
const STATE = process.env.STATE;
if (!STATE) die("STATE names the file that keeps the walk's cookies");

const browser = await launch();
const results = [];
let failure = null;
try {
  const ctx = await browser.newContext({
    javaScriptEnabled: false,
    storageState: existsSync(STATE) ? STATE : undefined,
  });
  const page = await ctx.newPage();
  let status = null;
  page.on("response", (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) status = r.status();
  });
  for (const [i, step] of steps.entries()) {
    try {
      if (step.goto) {
        await page.goto(step.goto, { waitUntil: "load" });
      } else if (step.fill) {
        await page.fill(step.fill, step.value, { timeout: 5000 });
      } else if (step.check) {
        await page.check(step.check, { timeout: 5000 });
      } else if (step.uncheck) {
        await page.uncheck(step.uncheck, { timeout: 5000 });
      } else if (step.select) {
        await page.selectOption(step.select, step.value, { timeout: 5000 });
      } else if (step.click) {
        await Promise.all([
          page.waitForNavigation({ waitUntil: "load", timeout: 30000 }),
          page.click(step.click, { timeout: 5000 }),
        ]);
      } else if (step.screenshot) {
        await page.screenshot({ path: step.screenshot, fullPage: true });
      } else {
        throw new Error(`unknown step ${JSON.stringify(step)}`);
      }
    } catch (e) {
      const text = await page.innerText("body").catch(() => "");
      failure = `step ${i} ${JSON.stringify(step)} on ${page.url()} failed: ${e.message}\n--- page\n${text}`;
      break;
    }
    results.push({ url: page.url(), status, text: await page.innerText("body") });
  }
  await ctx.storageState({ path: STATE });
  await ctx.close();
} finally {
  await browser.close();
}
if (failure) {
  process.stderr.write(`${failure}\n`);
  process.stdout.write(JSON.stringify(results));
  process.exit(1);
}
process.stdout.write(JSON.stringify(results));
