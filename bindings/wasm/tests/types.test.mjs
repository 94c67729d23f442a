// TypeScript: the generated .d.ts type-checks a small consumer (tsc --noEmit, strict), and
// describes requests, decisions and diagnostics precisely rather than as `any`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { pkgDir } from "./load.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const tsc = join(here, "..", "node_modules", "typescript", "bin", "tsc");

test("tsc --noEmit accepts the consumer and rejects the misuses", () => {
  assert.ok(existsSync(tsc), `${tsc} is missing: \`cargo xtask test\` installs it (npm ci in bindings/wasm)`);
  const r = spawnSync(process.execPath, [tsc, "--noEmit", "-p", join(here, "consumer")], { encoding: "utf8" });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});

test("the declarations say no `any` for the API", () => {
  const dts = readFileSync(join(pkgDir, "meshgate.d.ts"), "utf8");
  const api = dts.split("\n").filter((l) => /\b(decide|check|checkSources|fromSource|fromSources|warnings)\b/.test(l) && l.includes("("));
  assert.ok(api.length >= 6, api.join("\n"));
  for (const line of api) assert.doesNotMatch(line, /\bany\b/, line);
  assert.match(dts, /decide\(request: Request\): Decision;/);
  assert.match(dts, /export interface Decision \{/);
});
