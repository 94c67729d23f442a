// The shared conformance corpus (spec/conformance, format in its README) through the package:
// every case directory's decisions, and every invalid policy's diagnostics.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";

import { meshgate, repoRoot } from "./load.mjs";

const { PolicySet, Engine, check } = meshgate;

const corpus = process.env.MESHGATE_CONFORMANCE_DIR ?? join(repoRoot, "spec", "conformance");
const casesDir = join(corpus, "cases");
const invalidDir = join(corpus, "invalid");

const EXPECT_KEYS = new Set(["allowed", "reasons", "audits", "dry_run", "errors"]);

/** The full decision an `expect` stands for: missing lists are empty. */
function expected(expect) {
  for (const key of Object.keys(expect)) {
    assert.ok(EXPECT_KEYS.has(key), `unknown key \`${key}\` in expect`);
  }
  assert.equal(typeof expect.allowed, "boolean", "expect.allowed must be a boolean");
  return {
    allowed: expect.allowed,
    reasons: expect.reasons ?? [],
    audits: expect.audits ?? [],
    dry_run: expect.dry_run ?? [],
    errors: expect.errors ?? [],
  };
}

function sortedEntries(dir, keep) {
  // Code-unit order, which is byte order for the ASCII names the corpus uses.
  return readdirSync(dir).filter(keep).sort();
}

const caseDirs = sortedEntries(casesDir, (n) => statSync(join(casesDir, n)).isDirectory());
const invalidFiles = sortedEntries(invalidDir, (n) => n.endsWith(".mgp"));

test("the corpus is there", () => {
  assert.ok(caseDirs.length > 0, `no case directories in ${casesDir}`);
  assert.ok(invalidFiles.length > 0, `no invalid policies in ${invalidDir}`);
});

for (const dirName of caseDirs) {
  const dir = join(casesDir, dirName);
  describe(`cases/${dirName}`, () => {
    const sources = sortedEntries(dir, (n) => n.endsWith(".mgp")).map((name) => ({
      name,
      text: readFileSync(join(dir, name), "utf8"),
    }));
    const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8"));
    let engine;
    test("loads", () => {
      assert.ok(sources.length > 0, "no .mgp files");
      engine = new Engine(PolicySet.fromSources(sources));
    });
    for (const c of cases) {
      test(c.name, () => {
        assert.ok(engine, "the policy set did not load");
        const want = expected(c.expect);
        assert.deepEqual(engine.decide(c.request), want, "decide(object)");
        assert.deepEqual(JSON.parse(engine.decideJson(JSON.stringify(c.request))), want, "decideJson(text)");
      });
    }
  });
}

/**
 * The `# expect-error: CODE LINE:COLUMN MESSAGE-SUBSTRING` lines of the header: the comment
 * lines at the top of the file, up to the first line that is not a comment (as the Rust runner
 * reads them).
 */
function expectedErrors(text) {
  const out = [];
  for (const [n, line] of text.split("\n").entries()) {
    const comment = line.trimStart();
    if (!comment.startsWith("#")) break;
    const rest = comment.slice(1).trimStart();
    if (!rest.startsWith("expect-error:")) continue;
    const m = /^(\S+) (\d+):(\d+)(?: (.*))?$/.exec(rest.slice("expect-error:".length).trim());
    assert.ok(m, `line ${n + 1}: malformed \`expect-error\``);
    out.push({ code: m[1], line: Number(m[2]), column: Number(m[3]), message: m[4] ?? "" });
  }
  return out;
}

describe("invalid", () => {
  for (const file of invalidFiles) {
    test(file, () => {
      const text = readFileSync(join(invalidDir, file), "utf8");
      const name = basename(file);
      const want = expectedErrors(text);
      assert.ok(want.length > 0, "no `# expect-error:` lines");
      const diagnostics = check(text, name);
      const errors = diagnostics.filter((d) => d.severity === "error");
      const shown = errors.map((d) => `${d.code} ${d.line}:${d.column} ${d.message}`).join("\n");
      assert.equal(errors.length, want.length, `reported errors:\n${shown}`);
      want.forEach((w, i) => {
        const got = errors[i];
        assert.equal(got.code, w.code, `error ${i + 1} code; reported:\n${shown}`);
        assert.equal(`${got.line}:${got.column}`, `${w.line}:${w.column}`, `error ${i + 1} position; reported:\n${shown}`);
        assert.ok(got.message.includes(w.message), `error ${i + 1}: \`${got.message}\` lacks \`${w.message}\``);
        assert.equal(got.file, name);
        assert.ok(got.snippet.length > 0);
      });
      assert.throws(
        () => PolicySet.fromSource(text, name),
        (e) => {
          assert.ok(e instanceof Error);
          assert.equal(e.name, "PolicyError");
          assert.deepEqual(e.diagnostics, diagnostics);
          return true;
        },
      );
    });
  }
});
