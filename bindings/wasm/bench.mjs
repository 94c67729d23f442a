// Decisions per second of the WebAssembly package in Node, on a mesh-like policy of 1,000 rules
// (like the `mesh` workload of benches/: distinct SPIFFE principals over 100 namespaces and
// 200 services, each allow rule letting one principal GET a path prefix on one service, 5% deny
// rules, 10% of allows with a label or hour-of-day condition), generated from a fixed seed.
//
//   node bench.mjs [RULES] [--json]      (after `cargo xtask wasm`; RULES defaults to 1000)
//
// Timed: `engine.decide(object)` (the API), `engine.decideJson(text)` (JSON in and out, no
// JSON.stringify/parse on the JS side), and `engine.decideSerde(object)` when the package was
// built with `--features serde-wasm-bindgen`.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { PolicySet, Engine } = createRequire(import.meta.url)(join(here, "pkg"));

const args = process.argv.slice(2);
const RULES = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const asJson = args.includes("--json");

// mulberry32: small, fast, and the same sequence everywhere.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(0x6d657368); // "mesh"
const pick = (n) => Math.floor(random() * n);

const rules = [];
for (let i = 0; i < RULES; i++) {
  const ns = `ns${pick(100)}`;
  const rule = {
    id: `r${i}`,
    deny: random() < 0.05,
    ns,
    principal: `spiffe://cluster.local/ns/${ns}/sa/sa${i}`,
    service: `svc${pick(200)}.prod.svc.cluster.local`,
    prefix: `/api/v${1 + pick(3)}/res${pick(50)}/`,
    cond: null,
  };
  if (!rule.deny && random() < 0.1) {
    rule.cond = random() < 0.5 ? { label: `team${pick(5)}` } : { from: 8 + pick(4), to: 12 + pick(8) };
  }
  rules.push(rule);
}

const policy = rules
  .map((r) => {
    const when = !r.cond
      ? ""
      : r.cond.label
        ? `\n  when source.labels["team"] == "${r.cond.label}"`
        : `\n  when time.hour in ${r.cond.from}..${r.cond.to}`;
    return `${r.deny ? "deny" : "allow"} "${r.id}" {
  from principal "${r.principal}"
  to service "${r.service}", method GET, path "${r.prefix}**"${when}
}`;
  })
  .join("\n");

// Requests: 60% aimed at a rule (so most are allowed, some denied or failing a condition),
// 40% random callers and targets (default deny).
const REQUESTS = 1024;
const requests = [];
for (let i = 0; i < REQUESTS; i++) {
  const aimed = random() < 0.6;
  const r = rules[pick(rules.length)];
  const ns = aimed ? r.ns : `ns${pick(100)}`;
  requests.push({
    source: {
      principal: aimed ? r.principal : `spiffe://cluster.local/ns/${ns}/sa/sa${pick(RULES)}`,
      labels: { app: `app${pick(20)}`, team: `team${pick(5)}` },
      ip: `10.${pick(256)}.${pick(256)}.${pick(256)}`,
    },
    destination: {
      service: aimed ? r.service : `svc${pick(200)}.prod.svc.cluster.local`,
      namespace: "prod",
      port: 8080,
    },
    request: {
      method: random() < 0.9 ? "GET" : "POST",
      path: `${aimed ? r.prefix : `/api/v1/res${pick(50)}/`}item/${pick(100000)}`,
      host: "api.internal",
      headers: { "x-request-id": `req-${i}` },
    },
    time: `2026-03-0${1 + pick(7)}T${String(pick(24)).padStart(2, "0")}:15:00Z`,
  });
}
const texts = requests.map((r) => JSON.stringify(r));

let t0 = process.hrtime.bigint();
const set = PolicySet.fromSource(policy, "bench.mgp");
const engine = new Engine(set);
const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;

/**
 * Median of 7 runs of ITER calls, in ns per call: wall time, and the process's CPU time
 * (user + system), which is the steadier figure on a machine shared with other work because it
 * leaves out the time the process waited for a core.
 */
function time(label, call, inputs) {
  const n = inputs.length;
  let sink = 0;
  for (let i = 0; i < 20000; i++) sink += call(inputs[i % n]) ? 1 : 0; // warm up
  const wall = [];
  const cpu = [];
  const ITER = 100000;
  for (let run = 0; run < 7; run++) {
    const c0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITER; i++) sink += call(inputs[i % n]) ? 1 : 0;
    wall.push(Number(process.hrtime.bigint() - start) / ITER);
    const c = process.cpuUsage(c0);
    cpu.push(((c.user + c.system) * 1000) / ITER);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { label, ns: wall[3], min: wall[0], cpuNs: cpu[3], sink };
}

const results = [time("decide(object)", (r) => engine.decide(r).allowed, requests)];
results.push(time("decideJson(text)", (t) => engine.decideJson(t).length, texts));
if (typeof engine.decideSerde === "function") {
  results.push(time("decideSerde(object)", (r) => engine.decideSerde(r).allowed, requests));
}
results.push(time("JSON.stringify + JSON.parse only (JS side, no wasm)", (r) => JSON.parse(JSON.stringify(r)).source, requests));

const allowed = requests.filter((r) => engine.decide(r).allowed).length;
if (asJson) {
  console.log(JSON.stringify({ rules: RULES, buildMs, allowed, requests: REQUESTS, results }));
} else {
  console.log(`meshgate wasm, node ${process.version}: ${RULES} rules (set + engine built in ${buildMs.toFixed(1)} ms), ${REQUESTS} requests, ${allowed} allowed`);
  for (const r of results) {
    const us = (ns) => (ns / 1000).toFixed(2).padStart(6);
    console.log(
      `  ${r.label.padEnd(52)} wall ${us(r.ns)} µs (min ${us(r.min)})  cpu ${us(r.cpuNs)} µs  ${Math.round(1e9 / r.cpuNs).toLocaleString("en-US").padStart(9)} /s of cpu`,
    );
  }
}
