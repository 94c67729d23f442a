// The request corpus (spec/conformance/requests, format in the corpus README) through the
// package: every input as JSON text (`decideJson`) and, when the case gives it as a JSON value,
// as an object (`decide`). A refused request must throw a `RequestError` with the recorded field
// and message; an accepted one must be decided (the package has no reader of requests alone,
// so the request itself is compared by the Rust and Python runners).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { meshgate, repoRoot } from "./load.mjs";

const { PolicySet, Engine } = meshgate;

const corpus = process.env.MESHGATE_CONFORMANCE_DIR ?? join(repoRoot, "spec", "conformance");
const cases = JSON.parse(readFileSync(join(corpus, "requests", "requests.json"), "utf8"));
const engine = new Engine(PolicySet.fromSource('allow "all" { to path "/**" }', "all.mgp"));
const PREFIX = "invalid request: ";

/** The outcome of `read()`, in the corpus's shape; an accepted request is `{request: true}`. */
function outcome(read) {
  try {
    read();
  } catch (e) {
    assert.equal(e.name, "RequestError", `${e}`);
    const message = e.message.startsWith(PREFIX) ? e.message.slice(PREFIX.length) : e.message;
    return { error: { field: e.field, message } };
  }
  return { request: true };
}

function expected(expect) {
  return "request" in expect ? { request: true } : expect;
}

test("the corpus is there", () => {
  assert.ok(cases.length > 50);
});

for (const c of cases) {
  test(`requests/${c.name}`, () => {
    const text = "json" in c ? c.json : JSON.stringify(c.request);
    assert.deepEqual(outcome(() => engine.decideJson(text)), expected(c.expect), "as JSON text");
    if ("request" in c) {
      assert.deepEqual(outcome(() => engine.decide(c.request)), expected(c.expect), "as an object");
    }
  });
}
