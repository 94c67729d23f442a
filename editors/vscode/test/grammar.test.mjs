// The TextMate grammar, tokenized by vscode-textmate (the engine VS Code uses) over the
// project's example policies: named tokens get the scopes editors colour by, and no valid
// policy gets an `invalid` scope.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vsctm from "vscode-textmate";
import oniguruma from "vscode-oniguruma";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const require = createRequire(import.meta.url);

async function grammar() {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => {
      if (scope !== "source.mgp") return null;
      const path = join(here, "..", "syntaxes", "mgp.tmLanguage.json");
      return vsctm.parseRawGrammar(readFileSync(path, "utf8"), path);
    },
  });
  return registry.loadGrammar("source.mgp");
}

/** Every token of `text`: [line, text, scopes]. */
function tokens(g, text) {
  const out = [];
  let stack = vsctm.INITIAL;
  text.split("\n").forEach((line, n) => {
    const r = g.tokenizeLine(line, stack);
    for (const t of r.tokens) {
      out.push([n + 1, line.slice(t.startIndex, t.endIndex), t.scopes]);
    }
    stack = r.ruleStack;
  });
  return out;
}

/** The innermost scope of the first token whose text is `word` (after `after`, if given). */
function scopeOf(toks, word, after) {
  let armed = after === undefined;
  for (const [, text, scopes] of toks) {
    if (!armed) {
      armed = text.includes(after);
      continue;
    }
    if (text === word) return scopes[scopes.length - 1];
  }
  throw new Error(`no token \`${word}\``);
}

function policies(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) policies(path, out);
    else if (entry.name.endsWith(".mgp")) out.push(path);
  }
  return out;
}

test("the mesh example's tokens get their scopes", async () => {
  const g = await grammar();
  const toks = tokens(g, readFileSync(join(root, "examples", "mesh", "policy.mgp"), "utf8"));
  const expect = [
    ["# Payments platform: who may call what, and when.", "comment.line.number-sign.mgp"],
    ["role", "storage.type.role.mgp"],
    ["reader", "entity.name.type.role.mgp"],
    ["permit", "keyword.other.statement.mgp"],
    ["GET", "constant.language.http-method.mgp"],
    ["on", "keyword.other.statement.mgp"],
    ["**", "keyword.operator.glob.mgp"],
    ["include", "keyword.other.statement.mgp"],
    ["allow", "keyword.other.effect.mgp"],
    ["frontend-reads-payments", "string.quoted.double.mgp"],
    ["from", "keyword.other.statement.mgp"],
    ["principal", "support.function.matcher.mgp"],
    ["label", "support.function.matcher.mgp"],
    ["=", "keyword.operator.assignment.mgp"],
    ["grant", "keyword.other.statement.mgp"],
    ["time.weekday", "variable.other.attribute.mgp"],
    ["in", "keyword.operator.word.mgp"],
    ["mon", "constant.numeric.range.mgp"],
    ["..", "keyword.operator.range.mgp"],
    ["and", "keyword.operator.logical.mgp"],
    ["10.0.0.0/8", "constant.numeric.cidr.mgp"],
    ["timezone", "keyword.other.statement.mgp"],
    ["request.auth.claims", "variable.other.attribute.mgp"],
    ["contains", "keyword.operator.word.mgp"],
    ["deny", "keyword.other.effect.mgp"],
    ["audit", "keyword.other.effect.mgp"],
    ["dry_run", "storage.modifier.dry-run.mgp"],
    ["unless", "keyword.other.statement.mgp"],
    ["has", "keyword.operator.word.mgp"],
    ["{", "punctuation.section.braces.mgp"],
  ];
  for (const [word, scope] of expect) {
    assert.equal(scopeOf(toks, word), scope, `\`${word}\``);
  }
  // A role granted is a role name, not a matcher or a bare word.
  assert.equal(scopeOf(toks, "operator", "grant"), "entity.name.type.role.mgp");
});

test("values, escapes and errors", async () => {
  const g = await grammar();
  const toks = tokens(
    g,
    [
      'allow "a\\"b" {',
      "  from ip 2001:db8::/32, remote_ip 192.168.0.1",
      "  to port 8000..8999",
      '  when time.date >= 2026-12-24 and time.instant < 2026-01-01T09:00:00+01:00',
      '  when request.headers["x-user"] == "a\\q" or context.risk != -3',
      "}",
    ].join("\n"),
  );
  assert.equal(scopeOf(toks, '\\"'), "constant.character.escape.mgp");
  assert.equal(scopeOf(toks, "2001:db8::/32"), "constant.numeric.cidr.mgp");
  assert.equal(scopeOf(toks, "192.168.0.1"), "constant.numeric.ip.mgp");
  assert.equal(scopeOf(toks, ".."), "keyword.operator.range.mgp");
  assert.equal(scopeOf(toks, "2026-12-24"), "constant.numeric.date.mgp");
  assert.equal(scopeOf(toks, "2026-01-01T09:00:00+01:00"), "constant.numeric.date.mgp");
  assert.equal(scopeOf(toks, "request.headers"), "variable.other.attribute.mgp");
  assert.equal(scopeOf(toks, "=="), "keyword.operator.comparison.mgp");
  assert.equal(scopeOf(toks, "\\q"), "invalid.illegal.escape.mgp");
  assert.equal(scopeOf(toks, "-3"), "constant.numeric.integer.mgp");
});

test("no valid policy of the project is marked invalid", async () => {
  const g = await grammar();
  const files = [
    ...policies(join(root, "examples")),
    ...policies(join(root, "spec", "conformance", "cases")),
  ];
  assert.ok(files.length > 20, `only ${files.length} policies found`);
  for (const file of files) {
    for (const [line, text, scopes] of tokens(g, readFileSync(file, "utf8"))) {
      assert.ok(
        !scopes.some((s) => s.startsWith("invalid")),
        `${file}:${line}: \`${text}\` is marked ${scopes.join(" ")}`,
      );
    }
  }
});
