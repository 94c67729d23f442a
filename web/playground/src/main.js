// The meshgate playground: a policy editor with diagnostics and lint as you type, a request
// with its decision and explanation, policy tests with coverage marked in the policy, fmt, a
// diff of two versions, and the whole state in the URL. Everything runs in the page, on the
// meshgate WebAssembly package; nothing is sent anywhere.
import init, {
  PolicySet,
  Engine,
  check,
  explain,
  lint,
  format,
  diff,
  runTests,
} from "../../../bindings/wasm/pkg/web/meshgate.js";
import { EditorState, StateEffect, StateField, RangeSetBuilder } from "@codemirror/state";
import {
  EditorView,
  Decoration,
  keymap,
  lineNumbers,
  highlightActiveLine,
  drawSelection,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { json } from "@codemirror/lang-json";
import { setDiagnostics, lintGutter } from "@codemirror/lint";
import { syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";

import { loadGrammar, textmate } from "./highlight.js";
import { encode, decode } from "./share.js";

const POLICY_NAME = "policy.mgp";
const $ = (id) => document.getElementById(id);

// --- editors -------------------------------------------------------------------------------

const setCoverage = StateEffect.define();
const coverageField = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes);
    for (const e of tr.effects) if (e.is(setCoverage)) marks = e.value;
    return marks;
  },
  provide: (f) => EditorView.decorations.from(f),
});

function editor(parent, doc, extensions, onChange) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        EditorView.lineWrapping,
        EditorView.updateListener.of((u) => u.docChanged && onChange()),
        ...extensions,
      ],
    }),
  });
}

const text = (view) => view.state.doc.toString();
function replace(view, value) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
}

/** A document position from a 1-based line and a 1-based column counted in characters. */
function position(doc, line, column) {
  const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
  let offset = 0;
  for (let c = 1; c < column && offset < l.length; c++) {
    offset += l.text.codePointAt(offset) > 0xffff ? 2 : 1;
  }
  return l.from + Math.min(offset, l.length);
}

// --- rendering -----------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function showProblems(view, diagnostics) {
  const doc = view.state.doc;
  view.dispatch(
    setDiagnostics(
      view.state,
      diagnostics.map((d) => {
        const from = position(doc, d.line, d.column);
        const to = Math.max(from, position(doc, d.end_line, d.end_column));
        return {
          from,
          to: to === from ? Math.min(from + 1, doc.length) : to,
          severity: d.severity,
          source: d.code,
          message: d.help ? `${d.message}\nhelp: ${d.help}` : d.message,
        };
      }),
    ),
  );
  const list = $("problems");
  list.replaceChildren(
    ...diagnostics.map((d) =>
      el(
        "li",
        { class: d.severity, "data-line": d.line, "data-column": d.column, "data-code": d.code },
        el("span", { class: "where" }, `${d.file}:${d.line}:${d.column}`),
        ` ${d.severity}[${d.code}]: ${d.message}`,
        ...(d.help ? [el("span", { class: "help" }, ` help: ${d.help}`)] : []),
      ),
    ),
  );
  $("problems-count").textContent = diagnostics.length
    ? `${diagnostics.length} problem${diagnostics.length > 1 ? "s" : ""}`
    : "no problems";
}

function showDecision(decision) {
  const out = $("decision");
  out.className = decision.allowed ? "allowed" : "denied";
  const rules = decision.reasons.length ? ` by ${decision.reasons.join(", ")}` : "";
  out.replaceChildren(
    el("strong", {}, decision.allowed ? "allowed" : "denied"),
    rules,
    el("pre", { class: "json" }, JSON.stringify(decision, null, 2)),
  );
}

function showCoverage(view, coverage) {
  const doc = view.state.doc;
  const lines = new Map();
  for (const file of coverage?.files ?? []) {
    for (const rule of file.rules) {
      if (rule.matched === 0) lines.set(rule.line, `rule "${rule.rule}" never matched`);
      for (const p of rule.parts) {
        const why =
          p.held === 0 ? "never held" : p.failed === 0 ? "never failed" : null;
        if (why && !lines.has(p.line)) lines.set(p.line, `${p.text}: ${why}`);
      }
    }
  }
  const builder = new RangeSetBuilder();
  for (const line of [...lines.keys()].sort((a, b) => a - b)) {
    if (line < 1 || line > doc.lines) continue;
    builder.add(
      doc.line(line).from,
      doc.line(line).from,
      Decoration.line({ class: "cm-coverage-missed", attributes: { title: lines.get(line) } }),
    );
  }
  view.dispatch({ effects: setCoverage.of(builder.finish()) });
}

function showTests(report) {
  const out = $("test-results");
  out.replaceChildren(
    el(
      "p",
      { class: report.failed ? "denied" : "allowed" },
      `${report.passed} passed, ${report.failed} failed`,
      report.coverage ? `; coverage ${report.coverage.percent.toFixed(1)}%` : "",
    ),
    el(
      "ul",
      { class: "cases" },
      ...report.cases.map((c) =>
        el(
          "li",
          { class: c.passed ? "pass" : "fail" },
          `${c.passed ? "✓" : "✗"} ${c.name}`,
          ...c.failures.map((f) => el("div", { class: "failure" }, f)),
        ),
      ),
    ),
  );
}

// --- the page ------------------------------------------------------------------------------

async function main() {
  const [, grammarText, examples] = await Promise.all([
    init({ module_or_path: new URL("meshgate_bg.wasm", import.meta.url) }),
    fetch(new URL("mgp.tmLanguage.json", import.meta.url)).then((r) => r.text()),
    fetch(new URL("examples.json", import.meta.url)).then((r) => r.json()),
  ]);
  const grammar = await loadGrammar(grammarText, new URL("onig.wasm", import.meta.url));
  const saved = await decode(location.hash);
  const start = saved ?? examples[0];

  let timer = 0;
  // Whether an edit is waiting for its refresh (scripted checks wait for it to clear).
  let pending = false;
  const changed = () => {
    pending = true;
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  };
  const mgp = [textmate(grammar), lintGutter(), coverageField];
  const jsonLang = [json(), syntaxHighlighting(defaultHighlightStyle)];
  const policy = editor($("policy-editor"), start.policy ?? "", mgp, changed);
  const request = editor($("request-editor"), start.request ?? "{}", jsonLang, changed);
  const tests = editor($("tests-editor"), start.tests ?? "", jsonLang, changed);
  const other = editor($("diff-editor"), start.other ?? start.policy ?? "", mgp, changed);
  let tab = start.tab ?? "decide";

  const select = $("example");
  select.replaceChildren(...examples.map((e, i) => el("option", { value: String(i) }, e.name)));
  if (saved) select.prepend(el("option", { value: "", selected: "" }, "shared link"));
  select.addEventListener("change", () => {
    const e = examples[Number(select.value)];
    if (!e) return;
    replace(policy, e.policy);
    replace(request, e.request);
    replace(tests, e.tests);
    replace(other, e.policy);
  });

  const showTab = (name) => {
    tab = name;
    for (const b of document.querySelectorAll("nav.tabs button")) {
      b.setAttribute("aria-selected", String(b.dataset.tab === name));
    }
    for (const p of document.querySelectorAll(".tab")) p.hidden = p.id !== `tab-${name}`;
    changed();
  };
  for (const b of document.querySelectorAll("nav.tabs button")) {
    b.addEventListener("click", () => showTab(b.dataset.tab));
  }
  showTab(tab);

  $("format").addEventListener("click", () => {
    try {
      replace(policy, format(text(policy), POLICY_NAME));
    } catch (e) {
      $("status").textContent = "fmt: fix the errors first";
    }
  });
  $("share").addEventListener("click", async () => {
    await saveState();
    try {
      await navigator.clipboard.writeText(location.href);
      $("status").textContent = "link copied";
    } catch {
      $("status").textContent = "link in the address bar";
    }
  });

  async function saveState() {
    const hash = await encode({
      policy: text(policy),
      request: text(request),
      tests: text(tests),
      other: text(other),
      tab,
    });
    window.history.replaceState(null, "", hash);
  }

  function refresh() {
    const source = text(policy);
    let set = null;
    let diagnostics = check(source, POLICY_NAME);
    if (!diagnostics.some((d) => d.severity === "error")) {
      set = PolicySet.fromSource(source, POLICY_NAME);
      diagnostics = lint(set).diagnostics;
    }
    showProblems(policy, diagnostics);
    $("explanation").textContent = "";
    $("decision").replaceChildren();
    if (!set) {
      $("decision").textContent = "the policy has errors";
      showCoverage(policy, null);
    } else {
      decide(set);
      if (tab === "tests") test(set);
      else showCoverage(policy, null);
      if (tab === "diff") compare(set);
    }
    saveState();
    pending = false;
    $("status").dataset.ready = "1";
  }

  function decide(set) {
    let req;
    try {
      req = JSON.parse(text(request));
    } catch (e) {
      $("decision").textContent = `the request is not JSON: ${e.message}`;
      return;
    }
    try {
      const engine = new Engine(set);
      showDecision(engine.decide(req));
      engine.free();
      $("explanation").textContent = explain(set, req).text;
    } catch (e) {
      $("decision").textContent = `${e.name}: ${e.message}`;
    }
  }

  function test(set) {
    try {
      const report = runTests(set, text(tests), true, "policy.test.json");
      showTests(report);
      showCoverage(policy, report.coverage);
    } catch (e) {
      $("test-results").textContent = `the test document does not load: ${e.message}`;
      showCoverage(policy, null);
    }
  }

  function compare(set) {
    try {
      const after = PolicySet.fromSource(text(other), "v2.mgp");
      $("diff-output").textContent = diff(set, after).text;
    } catch (e) {
      const where = e.diagnostics?.[0];
      $("diff-output").textContent = where
        ? `the second version has errors: ${where.file}:${where.line}:${where.column}: ${where.message}`
        : `${e.name}: ${e.message}`;
    }
  }

  refresh();
  if ("serviceWorker" in navigator && location.protocol.startsWith("http")) {
    navigator.serviceWorker.register("sw.js").catch(() => {});
  }
  // For scripted checks (the browser test) and the curious.
  window.playground = { policy, request, tests, other, text, replace, pending: () => pending };
}

main().catch((e) => {
  $("status").textContent = `the playground failed to start: ${e.message}`;
  console.error(e);
});
