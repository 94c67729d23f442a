// Syntax highlighting with the TextMate grammar of editors/vscode, tokenized by
// vscode-textmate and vscode-oniguruma (the engine VS Code uses), so the playground and the
// editor extension colour a policy the same way.
import { RangeSetBuilder } from "@codemirror/state";
import { Decoration, ViewPlugin } from "@codemirror/view";
import vsctm from "vscode-textmate";
import * as oniguruma from "vscode-oniguruma";

/** Loads the grammar (its JSON text) with oniguruma's wasm from `onigUrl`. */
export async function loadGrammar(grammarText, onigUrl) {
  const wasm = await (await fetch(onigUrl)).arrayBuffer();
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) =>
      scope === "source.mgp" ? vsctm.parseRawGrammar(grammarText, "mgp.tmLanguage.json") : null,
  });
  return registry.loadGrammar("source.mgp");
}

/**
 * The class of a token: `tm-` and the first segment of its innermost scope (`keyword`,
 * `string`, `comment`, `constant`, …), plus the second segment for finer styling
 * (`tm-keyword-operator`). The whole scope is in `data-scope`, for tests and curious users.
 */
function classOf(scope) {
  const [first, second] = scope.split(".");
  return `tm-${first}${second ? ` tm-${first}-${second}` : ""}`;
}

/** A CodeMirror extension that colours the document with `grammar`. */
export function textmate(grammar) {
  const marks = new Map();
  const mark = (scope) => {
    let m = marks.get(scope);
    if (!m) {
      m = Decoration.mark({ class: classOf(scope), attributes: { "data-scope": scope } });
      marks.set(scope, m);
    }
    return m;
  };
  const decorate = (doc) => {
    const builder = new RangeSetBuilder();
    let stack = vsctm.INITIAL;
    for (let n = 1; n <= doc.lines; n++) {
      const line = doc.line(n);
      const result = grammar.tokenizeLine(line.text, stack);
      for (const t of result.tokens) {
        const scope = t.scopes[t.scopes.length - 1];
        if (scope !== "source.mgp" && t.endIndex > t.startIndex) {
          builder.add(line.from + t.startIndex, line.from + Math.min(t.endIndex, line.length), mark(scope));
        }
      }
      stack = result.ruleStack;
    }
    return builder.finish();
  };
  return ViewPlugin.define(
    (view) => ({
      decorations: decorate(view.state.doc),
      update(u) {
        if (u.docChanged) this.decorations = decorate(u.state.doc);
      },
    }),
    { decorations: (v) => v.decorations },
  );
}
