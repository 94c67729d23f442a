// A small TypeScript consumer of the package. `tsc --noEmit` must accept it; each
// `@ts-expect-error` line must be an error, which proves the types are precise (with `any`
// they would not be errors, and tsc would report the unused directives).
import {
  PolicySet,
  Engine,
  check,
  checkSources,
  explain,
  lint,
  format,
  diff,
  runTests,
  type Decision,
  type DiffReport,
  type Explanation,
  type LintReport,
  type TestReport,
  type Diagnostic,
  type Effect,
  type PolicyError,
  type PolicySource,
  type Request,
  type RequestError,
} from "../../pkg/meshgate.js";

declare const console: { log(...values: unknown[]): void };

const sources: PolicySource[] = [{ name: "mesh.mgp", text: 'allow "a" { to port 80 }' }];
const engine: Engine = new Engine(PolicySet.fromSources(sources));

const request: Request = {
  source: { principal: "spiffe://cluster.local/ns/shop/sa/frontend", labels: { app: "web" } },
  destination: { port: 80 },
  request: { method: "GET", path: "/", auth: { claims: { groups: ["a", "b"], level: 3, nested: { ok: true } } } },
  time: new Date(),
  context: { risk: 2 },
};

const decision: Decision = engine.decide(request);
const allowed: boolean = decision.allowed;
const reasons: string[] = decision.reasons;
const effects: Effect[] = decision.dry_run.map((d) => d.effect);
const messages: string[] = decision.errors.map((e) => `${e.rule}: ${e.message}`);
const json: string = engine.decideJson(JSON.stringify(request));

const diagnostics: Diagnostic[] = check("allow", "x.mgp");
const more: Diagnostic[] = checkSources(sources);
for (const d of [...diagnostics, ...more]) {
  const where: string = `${d.file}:${d.line}:${d.column}-${d.end_line}:${d.end_column}`;
  const severity: "error" | "warning" = d.severity;
  const help: string | undefined = d.help;
  console.log(where, severity, d.code, d.message, help, d.snippet);
}
const ids: string[] = PolicySet.fromSource("", "empty.mgp").ruleIds;
const warnings: Diagnostic[] = PolicySet.fromSource("").warnings;

try {
  PolicySet.fromSource("nonsense");
} catch (e) {
  const err = e as PolicyError;
  const first: Diagnostic | undefined = err.diagnostics[0];
  console.log(err.name satisfies "PolicyError", err.message, first?.line);
}
try {
  engine.decide({ source: { ip: "nope" } });
} catch (e) {
  const field: string = (e as RequestError).field;
  console.log(field);
}

// @ts-expect-error: misspelled field
engine.decide({ source: { namspace: "x" } });
// @ts-expect-error: a port is a number
engine.decide({ destination: { port: "80" } });
// @ts-expect-error: labels are strings
engine.decide({ destination: { labels: { app: 1 } } });
// @ts-expect-error: no `null` values
engine.decide({ context: { x: null } });
// @ts-expect-error: a decision has no such field
decision.denied;
// @ts-expect-error: reasons are strings
const n: number[] = decision.reasons;
// @ts-expect-error: an effect is one of three words
const e: Effect = "maybe";
// @ts-expect-error: a line is a number
const s: string = diagnostics[0].line;
// @ts-expect-error: sources need a text
PolicySet.fromSources([{ name: "a.mgp" }]);
// @ts-expect-error: the engine needs a policy set
new Engine("allow");

{
  // Engines and policy sets free their memory with `using` (or `.free()`).
  using scoped = new Engine(PolicySet.fromSource('allow "a" { }'));
  scoped.decide({});
}

console.log(allowed, reasons, effects, messages, json, ids, warnings, n, e, s);

// The authoring tools.
const toolSet = PolicySet.fromSource('allow "a" { to port 80 }', "tools.mgp");
const explanation: Explanation = explain(toolSet, { destination: { port: 80 } });
const why: string = explanation.text + explanation.summary + explanation.deciding[0].checks[0].outcome;
const report: LintReport = lint(toolSet, true);
const firstWarning: Diagnostic | undefined = report.diagnostics[0];
const formatted: string = format("allow \"a\" { }", "a.mgp");
const changes: DiffReport = diff(toolSet, toolSet);
const changed: boolean = changes.decision_changes.some((r) => r.before.allowed !== r.after.allowed);
const tests: TestReport = runTests(toolSet, { cases: [] }, true);
const percent: number | undefined = tests.coverage?.percent;
console.log(why, firstWarning, formatted, changed, percent);
// @ts-expect-error: an explanation's outcome is one of four words
const badOutcome: "matched" = explanation.deciding[0].checks[0].outcome;
console.log(badOutcome);
