// The package's API: loading, deciding, the shapes returned, and every kind of error.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

import { meshgate, pkgDir } from "./load.mjs";

const { PolicySet, Engine, check, checkSources, version } = meshgate;

const POLICY = `
role reader { permit GET, HEAD on "/api/**" }
allow "frontend-reads" {
  from principal "spiffe://cluster.local/ns/shop/sa/frontend"
  to service "payments.prod.svc.cluster.local"
  grant reader
}
deny "no-legacy" { from namespace "legacy" }
audit "admin-paths" { to path "/api/admin/**" }
dry_run deny "night" { when time.hour in 22..6 }
allow "risky" { when context.risk < 5 }
`;

const engine = new Engine(PolicySet.fromSource(POLICY, "mesh.mgp"));

const frontend = {
  source: { principal: "spiffe://cluster.local/ns/shop/sa/frontend" },
  destination: { service: "payments.prod.svc.cluster.local", port: 8443 },
  request: { method: "GET", path: "/api/admin/users?x=1" },
  time: "2026-03-29T23:30:00Z",
};

describe("deciding", () => {
  test("a decision is a plain object in the shared shape", () => {
    const d = engine.decide(frontend);
    assert.deepEqual(d, {
      allowed: true,
      reasons: ["frontend-reads"],
      audits: ["admin-paths"],
      dry_run: [{ rule: "night", effect: "deny" }],
      errors: [],
    });
    assert.equal(Object.getPrototypeOf(d), Object.prototype);
  });

  test("deny wins, default deny has no reasons", () => {
    const legacy = { ...frontend, source: { namespace: "legacy" } };
    assert.deepEqual(engine.decide(legacy).reasons, ["no-legacy"]);
    const d = engine.decide({});
    assert.equal(d.allowed, false);
    assert.deepEqual(d.reasons, []);
  });

  test("time may be a Date; without time there is no time", () => {
    const at = (time) => engine.decide({ ...frontend, time }).dry_run;
    assert.deepEqual(at(new Date("2026-03-29T23:30:00Z")), [{ rule: "night", effect: "deny" }]);
    assert.deepEqual(at(new Date("2026-03-29T12:00:00Z")), []);
    const { time: _, ...untimed } = frontend;
    assert.deepEqual(engine.decide(untimed).dry_run, []);
  });

  test("undefined fields are absent, as in JSON", () => {
    const d = engine.decide({ ...frontend, connection: undefined, context: undefined });
    assert.equal(d.allowed, true);
  });

  test("an evaluation error denies and is reported", () => {
    const d = engine.decide({ context: { risk: "high" } });
    assert.equal(d.allowed, false);
    assert.equal(d.errors.length, 1);
    assert.equal(d.errors[0].rule, "risky");
    assert.equal(typeof d.errors[0].message, "string");
  });

  test("decideJson takes and gives JSON text", () => {
    const out = engine.decideJson(JSON.stringify(frontend));
    assert.equal(typeof out, "string");
    assert.deepEqual(JSON.parse(out), engine.decide(frontend));
  });

  test("the engine outlives its policy set, and engines share nothing", () => {
    const set = PolicySet.fromSource('allow "a" { to port 80 }');
    const e = new Engine(set);
    set.free();
    assert.equal(e.decide({ destination: { port: 80 } }).allowed, true);
    e.free();
  });
});

describe("policy sets", () => {
  test("fromSource names the source policy.mgp by default", () => {
    const diagnostics = check('allow "a" { to bogus "x" }');
    assert.ok(diagnostics.length > 0);
    assert.equal(diagnostics[0].file, "policy.mgp");
  });

  test("fromSources loads sources in order as one set", () => {
    const set = PolicySet.fromSources([
      { name: "b.mgp", text: 'deny "b" { from namespace "x" }' },
      { name: "a.mgp", text: 'allow "a" { }' },
    ]);
    assert.deepEqual(set.ruleIds, ["b", "a"]);
    assert.deepEqual(set.warnings, []);
  });

  test("rule ids must be unique across sources", () => {
    assert.throws(
      () =>
        PolicySet.fromSources([
          { name: "one.mgp", text: 'allow "same" { }' },
          { name: "two.mgp", text: 'allow "same" { }' },
        ]),
      (e) => e.name === "PolicyError" && e.diagnostics.some((d) => d.file === "two.mgp"),
    );
  });

  test("fromSources refuses what is not a list of {name, text}", () => {
    for (const bad of [undefined, "x", {}, [{ name: "a" }], [{ name: "a", text: 1 }], [{ name: "a", text: "", extra: 1 }]]) {
      assert.throws(() => PolicySet.fromSources(bad), TypeError, JSON.stringify(bad));
    }
  });

  test("the version is meshgate's", () => {
    assert.match(version(), /^\d+\.\d+\.\d+/);
  });
});

describe("policy errors", () => {
  const BAD = 'allow "a" {\n  to pth "/x"\n}\nallow "b" { when source.nope == "x" }\n';

  test("every diagnostic, with position, code, help and snippet", () => {
    const diagnostics = check(BAD, "bad.mgp");
    const errors = diagnostics.filter((d) => d.severity === "error");
    assert.ok(errors.length >= 2, JSON.stringify(diagnostics, null, 1));
    const [first, second] = errors;
    assert.equal(first.file, "bad.mgp");
    assert.equal(first.line, 2);
    assert.equal(first.column, 6);
    assert.equal(second.line, 4);
    for (const d of errors) {
      assert.deepEqual(
        Object.keys(d).filter((k) => k !== "help").sort(),
        ["code", "column", "end_column", "end_line", "file", "line", "message", "severity", "snippet"],
      );
      assert.ok(d.snippet.includes("bad.mgp"), d.snippet);
      assert.ok(d.end_line > d.line || d.end_column >= d.column);
      assert.doesNotMatch(d.message, /^[A-Z]/, "messages are lowercase");
    }
    assert.ok(first.snippet.includes('to pth "/x"'), first.snippet);
  });

  test("fromSource throws a PolicyError carrying the same diagnostics", () => {
    assert.throws(
      () => PolicySet.fromSource(BAD, "bad.mgp"),
      (e) => {
        assert.ok(e instanceof Error);
        assert.equal(e.name, "PolicyError");
        assert.match(e.message, /^invalid policy: bad\.mgp:2:6: /);
        assert.deepEqual(e.diagnostics, check(BAD, "bad.mgp"));
        assert.ok(e.stack.includes("PolicyError"));
        return true;
      },
    );
  });

  test("checkSources checks several sources as one set", () => {
    const d = checkSources([
      { name: "roles.mgp", text: "role r { permit GET on \"/x\" }" },
      { name: "rules.mgp", text: 'allow "a" { grant q }' },
    ]);
    assert.ok(d.length > 0);
    assert.equal(d[0].file, "rules.mgp");
  });

  test("a clean policy has no diagnostics", () => {
    assert.deepEqual(check('allow "a" { to path "/x" }'), []);
  });
});

describe("request errors", () => {
  const requestError = (request, field) => {
    assert.throws(
      () => engine.decide(request),
      (e) => {
        assert.ok(e instanceof Error, String(e));
        assert.equal(e.name, "RequestError");
        assert.match(e.message, /^invalid request: /);
        if (field instanceof RegExp) assert.match(e.field, field);
        else assert.equal(e.field, field, e.message);
        return true;
      },
    );
  };

  test("the offending field is named", () => {
    requestError({ source: { ip: "10.0.0.300" } }, "source.ip");
    requestError({ destination: { port: 70000 } }, "destination.port");
    requestError({ destination: { port: 80.5 } }, "destination.port");
    requestError({ request: { auth: { audiences: "one" } } }, "request.auth.audiences");
    requestError({ time: "yesterday" }, "time");
  });

  test("unknown fields, floats and nulls are errors", () => {
    requestError({ source: { namspace: "x" } }, /^source/);
    requestError({ context: { risk: 1.5 } }, /^context/);
    requestError({ source: { principal: null } }, /^source/);
    requestError({ context: { x: null } }, /^context/);
    requestError({ nonsense: 1 }, /.*/);
  });

  test("what is not an object is an error, not a trap", () => {
    for (const bad of [undefined, null, 5, "text", [], () => 1, Symbol("s")]) {
      assert.throws(() => engine.decide(bad), (e) => e.name === "RequestError", String(bad));
    }
    requestError({ context: { n: 10n } }, "");
    const cyclic = { context: {} };
    cyclic.context.self = cyclic;
    requestError(cyclic, "");
  });

  test("decideJson names the field too", () => {
    assert.throws(() => engine.decideJson('{"source": {"ip": "x"}}'), (e) => e.field === "source.ip");
    assert.throws(() => engine.decideJson('{"a": 1, '), (e) => e.name === "RequestError");
  });

  test("the engine still works after errors", () => {
    assert.equal(engine.decide(frontend).allowed, true);
  });
});

describe("misuse and panics", () => {
  test("a freed or foreign policy set is refused with an Error", () => {
    assert.throws(() => new Engine({}), Error);
    const set = PolicySet.fromSource('allow "a" { }');
    set.free();
    assert.throws(() => new Engine(set), Error);
  });

  test("a Rust panic is thrown as an Error, not a trap", () => {
    // In a child process: after a panic the instance should not be used.
    const script = `
      const m = require(${JSON.stringify(pkgDir)});
      try { m.__testPanic(); console.log("no error"); }
      catch (e) { console.log(JSON.stringify({ name: e.constructor.name, message: e.message })); }
    `;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim());
    assert.equal(out.name, "Error");
    assert.match(out.message, /^meshgate: internal error: test panic at .*lib\.rs:\d+; please report it/);
  });
});

describe("module formats", () => {
  test("ES modules can import the package's names", async () => {
    const m = await import(join(pkgDir, "meshgate.js"));
    assert.equal(typeof m.PolicySet.fromSource, "function");
    assert.equal(typeof m.Engine, "function");
    assert.equal(typeof m.check, "function");
  });

  test("the bundler build works where .wasm imports do (node --experimental-wasm-modules)", () => {
    const script = `
      import { PolicySet, Engine } from ${JSON.stringify(join(pkgDir, "bundler", "meshgate.js"))};
      const e = new Engine(PolicySet.fromSource('allow "a" { to port 80 }'));
      console.log(JSON.stringify(e.decide({ destination: { port: 80 } })));
    `;
    const r = spawnSync(
      process.execPath,
      ["--experimental-wasm-modules", "--no-warnings", "--input-type=module", "-e", script],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { allowed: true, reasons: ["a"], audits: [], dry_run: [], errors: [] });
  });
});
