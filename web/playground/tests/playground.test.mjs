// The built playground in headless Chromium (the system's, driven by playwright-core; no
// browser is downloaded), served from a local static server. PLAYGROUND_DIR is the built
// directory (default: target/playground); CHROMIUM the browser (default: /usr/bin/chromium).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, statSync } from "node:fs";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..", "..");
const dir = resolve(process.env.PLAYGROUND_DIR ?? join(root, "target", "playground"));
const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

let server;
let base;
let browser;

before(async () => {
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(dir, path === "/" ? "index.html" : path);
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A page of the playground at `url`, ready, with its console errors collected. */
async function open(url = base) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("#status[data-ready='1']", { state: "attached", timeout: 30_000 });
  return { page, errors };
}

/** Replaces the policy editor's text by typing it (the editor's own input handling). */
async function typePolicy(page, text) {
  await page.click("#policy-editor .cm-content");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
}

const policyText = (page) => page.evaluate(() => window.playground.text(window.playground.policy));
/**
 * Waits until the page has refreshed after the last edit: a moment for the editor to take the
 * input in, then until no refresh is pending (however long that takes on a busy machine).
 */
async function settled(page) {
  await page.waitForTimeout(100);
  await page.waitForFunction(() => window.playground && !window.playground.pending(), null, {
    timeout: 30_000,
  });
}

test("it loads without console errors and decides the example request", { timeout: 90_000 }, async () => {
  const { page, errors } = await open();
  assert.match(await page.textContent("#decision"), /^allowed by frontend-reads-payments/);
  assert.match(await page.textContent("#explanation"), /allowed by allow "frontend-reads-payments"/);
  assert.equal(await page.textContent("#problems-count"), "no problems");
  // The grammar's scopes reach the page: `allow` is an effect keyword, a rule id a string.
  const allow = page.locator("#policy-editor [data-scope='keyword.other.effect.mgp']").first();
  assert.equal(await allow.textContent(), "allow");
  assert.ok((await page.locator("#policy-editor .tm-string").count()) > 5);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a misspelt attribute is underlined where it is, with its did-you-mean, until fixed", { timeout: 90_000 }, async () => {
  const { page, errors } = await open();
  await typePolicy(page, 'allow "a" {\n  when source.namspace == "shop"\n}\n');
  await settled(page);
  const problem = page.locator("#problems li.error").first();
  assert.equal(await problem.getAttribute("data-line"), "2");
  assert.equal(await problem.getAttribute("data-column"), "8");
  const text = await problem.textContent();
  assert.match(text, /policy\.mgp:2:8/);
  assert.match(text, /did you mean `source\.namespace`\?/);
  assert.ok((await page.locator("#policy-editor .cm-lintRange-error").count()) > 0, "underlined");
  assert.equal(await page.textContent("#decision"), "the policy has errors");

  await typePolicy(page, 'allow "a" {\n  when source.namespace == "shop"\n}\n');
  await settled(page);
  assert.equal(await page.locator("#problems li.error").count(), 0);
  assert.equal(await page.locator("#policy-editor .cm-lintRange-error").count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the tests tab runs the test document with coverage marks in the policy", { timeout: 90_000 }, async () => {
  const { page, errors } = await open();
  await page.click("nav.tabs button[data-tab='tests']");
  await settled(page);
  assert.match(await page.textContent("#test-results"), /^11 passed, 0 failed; coverage 90\.5%/);
  assert.equal(await page.locator("#test-results li.pass").count(), 11);
  const marks = page.locator("#policy-editor .cm-coverage-missed");
  assert.ok((await marks.count()) > 0, "parts the tests never took both ways are marked");
  assert.match(await marks.first().getAttribute("title"), /never (held|failed|matched)/);
  // A failing case is shown as failing.
  await page.evaluate(() =>
    window.playground.replace(
      window.playground.tests,
      JSON.stringify({ cases: [{ name: "wrong", request: { request: { path: "/" } }, expect: { allowed: true } }] }),
    ),
  );
  await settled(page);
  assert.match(await page.textContent("#test-results"), /^0 passed, 1 failed/);
  assert.equal(await page.locator("#test-results li.fail").count(), 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test("fmt formats, diff compares, and a shared URL restores the same state", { timeout: 90_000 }, async () => {
  const { page, errors } = await open();
  await typePolicy(page, 'allow   "open"{to path "/**"}\n');
  await page.click("#format");
  await settled(page);
  assert.equal(await policyText(page), 'allow "open" { to path "/**" }\n');

  await page.click("nav.tabs button[data-tab='diff']");
  await page.evaluate(() =>
    window.playground.replace(window.playground.other, 'allow "open" { to path "/public/**" }\n'),
  );
  await settled(page);
  assert.match(await page.textContent("#diff-output"), /request\.path/);

  const url = page.url();
  assert.match(url, /#s=/);
  const again = await open(url);
  assert.equal(await policyText(again.page), await policyText(page));
  assert.equal(
    await again.page.evaluate(() => window.playground.text(window.playground.other)),
    'allow "open" { to path "/public/**" }\n',
  );
  assert.equal(
    await again.page.getAttribute("nav.tabs button[data-tab='diff']", "aria-selected"),
    "true",
  );
  assert.deepEqual([...errors, ...again.errors], []);
  await again.page.close();
  await page.close();
});

test("once loaded, it works offline", { timeout: 90_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base);
  await page.waitForSelector("#status[data-ready='1']", { state: "attached", timeout: 30_000 });
  const ready = await page.evaluate(() =>
    Promise.race([
      navigator.serviceWorker.ready.then(() => true),
      new Promise((done) => setTimeout(() => done(false), 10_000)),
    ]),
  );
  assert.ok(ready, "a service worker is active");
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector("#status[data-ready='1']", { state: "attached", timeout: 30_000 });
  assert.match(await page.textContent("#decision"), /^allowed/);
  await context.close();
});

test("a screenshot of the example is written", { timeout: 90_000 }, async () => {
  const { page } = await open();
  const path = join(dir, "..", "playground-screenshot.png");
  await page.screenshot({ path });
  assert.ok(statSync(path).size > 20_000, "the screenshot has content");
  await page.close();
});
