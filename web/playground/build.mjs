// Builds the playground into a directory of static files (default: target/playground):
// the page, its bundled script (esbuild), the meshgate WebAssembly module (built first by
// `cargo xtask wasm`), oniguruma's module, the TextMate grammar of editors/vscode, the
// examples, and a service worker that keeps it all for offline use. Prints each file's size
// and the total transfer size (gzipped).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const out = resolve(process.argv[2] ?? join(root, "target", "playground"));
const require = createRequire(import.meta.url);
mkdirSync(out, { recursive: true });

const wasm = join(root, "bindings", "wasm", "pkg", "web", "meshgate_bg.wasm");
try {
  statSync(wasm);
} catch {
  throw new Error(`${wasm} is missing: run \`cargo xtask wasm\` first`);
}

await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  outfile: join(out, "playground.js"),
  logLevel: "warning",
});

copyFileSync(wasm, join(out, "meshgate_bg.wasm"));
copyFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"), join(out, "onig.wasm"));
copyFileSync(join(root, "editors", "vscode", "syntaxes", "mgp.tmLanguage.json"), join(out, "mgp.tmLanguage.json"));
for (const f of ["index.html", "style.css"]) copyFileSync(join(here, f), join(out, f));

const read = (p) => readFileSync(join(root, p), "utf8");
const examples = [
  {
    name: "service mesh (README)",
    policy: read("examples/mesh/policy.mgp"),
    request: read("examples/mesh/frontend-get.json"),
    tests: read("examples/mesh/policy.test.json"),
  },
  {
    name: "Istio httpbin (imported)",
    policy: read("examples/istio/httpbin.mgp"),
    request: read("examples/istio/get-ip-admin.json"),
    tests: read("examples/istio/httpbin.test.json"),
  },
];
writeFileSync(join(out, "examples.json"), JSON.stringify(examples));

const assets = [
  "index.html",
  "style.css",
  "playground.js",
  "meshgate_bg.wasm",
  "onig.wasm",
  "mgp.tmLanguage.json",
  "examples.json",
];
const hash = createHash("sha256");
for (const a of assets) hash.update(readFileSync(join(out, a)));
const sw = readFileSync(join(here, "sw.js"), "utf8")
  .replace('"__VERSION__"', JSON.stringify(`meshgate-playground-${hash.digest("hex").slice(0, 16)}`))
  .replace("__ASSETS__", JSON.stringify(["./", ...assets]));
writeFileSync(join(out, "sw.js"), sw);

let total = 0;
let gzipped = 0;
for (const a of [...assets, "sw.js"]) {
  const bytes = readFileSync(join(out, a));
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += bytes.length;
  gzipped += gz;
  console.log(`  ${a.padEnd(20)} ${String(bytes.length).padStart(9)} bytes  ${String(gz).padStart(8)} gzipped`);
}
console.log(`playground in ${out}: ${total} bytes, ${gzipped} gzipped (${(gzipped / 1024).toFixed(0)} KiB transferred)`);
