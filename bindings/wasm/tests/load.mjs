// Loads the built package (bindings/wasm/pkg, built by `cargo xtask wasm`) as a consumer would.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const pkgDir = resolve(here, "..", "pkg");
export const repoRoot = resolve(here, "..", "..", "..");

if (!existsSync(join(pkgDir, "package.json"))) {
  throw new Error(`${pkgDir} is not built: run \`cargo xtask wasm\` first`);
}

const require = createRequire(import.meta.url);
/** The package's Node entry point (CommonJS). */
export const meshgate = require(pkgDir);
