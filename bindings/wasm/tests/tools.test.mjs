// The authoring tools (explain, lint, format, diff, runTests) against the CLI's expected
// outputs (crates/meshgate-cli/tests/expected/): the same policies and requests, named as the
// CLI tests name them, must give the same text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { meshgate, repoRoot } from "./load.mjs";

const { PolicySet, explain, lint, format, diff, runTests } = meshgate;

const read = (path) => readFileSync(join(repoRoot, path), "utf8");
const expected = (name) => read(join("crates/meshgate-cli/tests/expected", name));
const MESH = "examples/mesh/policy.mgp";
const mesh = () => PolicySet.fromSource(read(MESH), MESH);

test("explain gives the CLI's explanations of the example requests", () => {
  const set = mesh();
  for (const name of [
    "frontend-get",
    "frontend-admin-post",
    "legacy-admin",
    "admin-jwt",
    "frontend-export",
    "plaintext",
    "sre-office-hours",
    "sre-after-hours",
  ]) {
    const request = JSON.parse(read(`examples/mesh/${name}.json`));
    const e = explain(set, request);
    assert.equal(e.text.trimEnd(), expected(`explain-${name}.txt`).trimEnd(), name);
    assert.equal(typeof e.summary, "string");
    assert.deepEqual(Object.keys(e.decision), ["allowed", "reasons", "audits", "dry_run", "errors"]);
  }
  assert.throws(() => explain(set, { source: { ip: "10.0.0.300" } }), { name: "RequestError" });
});

test("lint finds what the CLI finds, at the same places", () => {
  const path = "crates/meshgate-cli/tests/fixtures/risky.mgp";
  const report = lint(PolicySet.fromSource(read(path), path));
  // The CLI's text has one `⚠ FILE:LINE:COLUMN: MESSAGE` line per warning.
  const cli = expected("lint-risky.txt")
    .split("\n")
    .filter((l) => l.startsWith("  ⚠ "))
    .map((l) => l.slice(4));
  const js = report.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`);
  assert.deepEqual(js, cli);
  assert.equal(report.warnings, cli.length);
  assert.equal(report.ok, true);
  assert.equal(lint(PolicySet.fromSource(read(path), path), true).ok, false);
  assert.deepEqual(lint(mesh()).diagnostics, [], "the example is clean");
});

test("format gives the CLI's canonical text, and refuses what does not parse", () => {
  assert.equal(format(read(MESH), MESH), expected("fmt-policy.mgp"));
  assert.throws(() => format("allow {", "broken.mgp"), (e) => {
    assert.equal(e.name, "PolicyError");
    assert.equal(e.diagnostics[0].file, "broken.mgp");
    return true;
  });
});

test("diff gives the CLI's report of the example's second version", () => {
  const v2 = "crates/meshgate-cli/tests/fixtures/policy-v2.mgp";
  const report = diff(mesh(), PolicySet.fromSource(read(v2), v2));
  assert.equal(report.text.trimEnd(), expected("diff-policy-v2.txt").trimEnd());
  assert.equal(report.changes_decisions, true);
  for (const region of report.decision_changes) {
    assert.notEqual(region.before.allowed, region.after.allowed);
  }
});

test("runTests runs a test document with coverage, as `meshgate test --coverage` does", () => {
  const document = read("examples/mesh/policy.test.json");
  const report = runTests(mesh(), document, true, "examples/mesh/policy.test.json");
  assert.equal(report.passed, 11);
  assert.equal(report.failed, 0);
  const text = expected("test-coverage.txt");
  assert.equal(
    report.coverage.text.trimEnd(),
    text.slice(text.indexOf("coverage of ")).trimEnd(),
  );
  assert.match(report.coverage.lcov, /^TN:/m);
  // An object works as well as text, and without coverage there is none.
  const plain = runTests(mesh(), JSON.parse(document));
  assert.equal(plain.passed, 11);
  assert.equal(plain.coverage, undefined);
  // A failing case names what differs.
  const failing = runTests(mesh(), {
    cases: [{ name: "wrong", request: { request: { path: "/" } }, expect: { allowed: true } }],
  });
  assert.equal(failing.failed, 1);
  assert.ok(failing.cases[0].failures.length > 0);
  assert.throws(() => runTests(mesh(), "{"), (e) => e instanceof Error);
});
