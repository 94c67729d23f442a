// Deciding a request from Node with meshgate's WebAssembly package.
//
//   cargo xtask wasm              # builds bindings/wasm/pkg (the npm package "meshgate")
//   node examples/node/decide.mjs
//
// In a project of your own, `npm install path/to/bindings/wasm/pkg` and import from "meshgate".
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { PolicySet, Engine, check } = require("../../bindings/wasm/pkg");

const policyFile = new URL("../mesh/policy.mgp", import.meta.url);
const text = readFileSync(policyFile, "utf8");

// A policy that does not load throws a PolicyError with every diagnostic; check() lists them
// without throwing (an editor or playground shows `snippet`, or line/column/message).
for (const d of check(text, "policy.mgp")) console.log(d.snippet);
const engine = new Engine(PolicySet.fromSource(text, "policy.mgp"));

const request = {
  source: { principal: "spiffe://cluster.local/ns/shop/sa/frontend" },
  destination: { service: "payments.prod.svc.cluster.local", namespace: "prod", port: 8080 },
  request: { method: "GET", path: "/api/balance/42" },
  time: new Date(), // meshgate reads no clock: the caller says when
};

const decision = engine.decide(request);
console.log(JSON.stringify(decision));
// {"allowed":true,"reasons":["frontend-reads-payments"],"audits":[],"dry_run":[],"errors":[]}

// A request that is not in the shared shape throws a RequestError naming the field.
try {
  engine.decide({ source: { ip: "10.0.0.300" } });
} catch (e) {
  console.log(`${e.name} at \`${e.field}\`: ${e.message}`);
}

// A mistake in a policy, as an editor would show it.
const [first] = check('allow "x" {\n  to pth "/a"\n}', "draft.mgp");
console.log(`${first.file}:${first.line}:${first.column}: ${first.message}\n${first.snippet}`);
