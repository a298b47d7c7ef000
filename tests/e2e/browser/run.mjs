// Runs one browser scenario in Debian's Chromium and prints what it saw as JSON on stdout.
//
//   node run.mjs '<scenario JSON>'
//
// A scenario: {"viewport": {"width": 390, "height": 844}, "steps": [...]}; each step is one of
//   {"goto": url}                        open a page (waits for the network to be quiet)
//   {"fill": css, "value": text}         type into a field ({"fill": css, "seen": name}: a value kept earlier)
//   {"fillFrom": css, "file": path, "regex": re}  type the last match (group 1) of ``re`` in a file
//                                        written meanwhile (a texted code, from the file sender)
//   {"upload": css, "files": path(s)}    choose files in a file input
//   {"click": css}                       click (waits for any navigation it starts)
//   {"press": key}                       press a key in the focused element
//   {"waitFor": css, "timeout": ms}      wait until an element is visible
//   {"until": expression}                wait until a page expression is true
//   {"eval": name, "js": expression}     keep the value of a page expression under ``name``
//   {"axe": name}                        keep axe-core's violations (WCAG 2.1 A and AA) under ``name``
//   {"screenshot": path}                 a PNG of the page
//   {"cookies": name}                    keep the browser's cookies under ``name``
//   {"download": css, "as": name}        click a link that downloads; keep {name: the file's name,
//                                        base64: its bytes} under ``name``
//   {"resize": {"width": w, "height": h}} a new window size (a phone turned, a tablet)
// What it saw also lists console errors, failed requests and any request to a host other than
// this machine (``outside``).
// The pytest side starts the suite, writes the scenario and asserts on the answer; this file
// only drives the browser (the tests' own process runs eventlet, which Playwright does not).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

const scenario = JSON.parse(process.argv[2]);
const seen = { console: [], failedRequests: [], outside: [] };
const LOCAL = new Set(["127.0.0.1", "localhost", "[::1]"]);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: FLAGS });
try {
  const context = await browser.newContext({ viewport: scenario.viewport || { width: 1280, height: 900 },
    locale: "zh-CN", bypassCSP: true, deviceScaleFactor: 1, isMobile: !!scenario.mobile, hasTouch: !!scenario.mobile });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") seen.console.push(m.text()); });
  // every page must be served whole by the suite: fonts, scripts and styles too (no CDN)
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (/^https?:$/.test(url.protocol) && !LOCAL.has(url.hostname)) seen.outside.push(r.url());
  });
  // a page left for the next one aborts its own loading (net::ERR_ABORTED): that is navigation, not a failure
  page.on("requestfailed", (r) => {
    if (!(r.resourceType() === "document" && (r.failure()?.errorText || "").includes("ERR_ABORTED"))) {
      seen.failedRequests.push(r.url());
    }
  });
  page.setDefaultTimeout(scenario.timeout || 15000);
  for (const step of scenario.steps) {
    if (step.goto) await page.goto(step.goto, { waitUntil: "networkidle" });
    else if (step.fill) await page.fill(step.fill, step.seen ? String(seen[step.seen]) : step.value);
    else if (step.select) await page.selectOption(step.select, step.value);
    else if (step.upload) await page.setInputFiles(step.upload, step.files);
    else if (step.fillFrom) {
      const found = [...readFileSync(step.file, "utf8").matchAll(new RegExp(step.regex, "g"))];
      if (!found.length) throw new Error(`nothing matches ${step.regex} in ${step.file}`);
      await page.fill(step.fillFrom, found[found.length - 1][1]);
    }
    else if (step.click) await Promise.all([page.waitForLoadState("networkidle"), page.click(step.click)]);
    else if (step.press) await page.keyboard.press(step.press);
    else if (step.waitFor) await page.waitForSelector(step.waitFor, { state: "visible", timeout: step.timeout });
    else if (step.until) await page.waitForFunction(step.until);
    else if (step.eval) seen[step.eval] = await page.evaluate(step.js);
    else if (step.axe) {
      await page.addScriptTag({ content: AXE });
      // axe-core throws when the page changes under it (GraphiQL's editors still rendering:
      // "reading 'nthChild'"); what it found is only known from a run on a settled page
      for (let attempt = 1; ; attempt++) {
        try {
          seen[step.axe] = await page.evaluate(async () => {
            const found = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
            return found.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
          });
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
          await page.waitForTimeout(300 * attempt);
        }
      }
    } else if (step.screenshot) await page.screenshot({ path: step.screenshot, fullPage: true });
    else if (step.cookies) seen[step.cookies] = await context.cookies();
    else if (step.download) {
      const [file] = await Promise.all([page.waitForEvent("download"), page.click(step.download)]);
      seen[step.as] = { name: file.suggestedFilename(), base64: readFileSync(await file.path()).toString("base64") };
    }
    else if (step.resize) await page.setViewportSize(step.resize);
    else throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
  seen.url = page.url();
} catch (err) {
  seen.error = String(err && err.stack || err);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(seen));
