//! The canonical layout of policy files, keeping comments.
//!
//! The layout:
//! - one item (role or rule) after another, with at most one blank line between them (a blank
//!   line the author left is kept, several become one);
//! - an item whose body has at most one statement and no comment, and fits in
//!   [`MAX_WIDTH`] columns, on one line: `role reader { permit GET, HEAD on "/api/**" }`;
//!   otherwise one statement per line, indented by two spaces, the closing `}` on its own line;
//! - within a statement, single spaces between words, `, ` between list items and matchers,
//!   no space inside `[…]` and `(…)`; strings, numbers, addresses and other literals exactly as
//!   written; parentheses kept where the author wrote them;
//! - comments on their own line stay on their own line (at the indentation of what follows),
//!   a comment at the end of a line stays there, and a comment written inside a statement
//!   moves to its own line before that statement.
//!
//! Formatting works on the text and the syntax tree's spans, so it needs a file that parses
//! (it does not need a valid policy set). It is idempotent: formatting formatted text changes
//! nothing.

use std::sync::Arc;

use meshgate::diagnostic::Diagnostics;
use meshgate::span::{FileId, SourceFile, Span};
use meshgate::syntax::ast::{
    AttrRef, Clause, DefaultDecl, Expr, ExprKind, Item, Lit, LitKind, Matcher, Operand, Permit,
    RoleDecl, RoleStmt, RuleDecl, RuleStmt,
};

/// Longest line an item is put on when it fits on one.
pub const MAX_WIDTH: usize = 100;

const INDENT: &str = "  ";

/// Formats one policy file. Fails with the syntax errors when the text does not parse.
pub fn format_source(text: &str, name: &str) -> Result<String, Diagnostics> {
    let file = SourceFile::new(name, text);
    let (tree, errors) = meshgate::syntax::parse(&file, FileId(0));
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    let mut p = Printer::new(&file);
    for item in &tree.items {
        match item {
            Item::Role(r) => p.role(r),
            Item::Rule(r) => p.rule(r),
            Item::Default(d) => p.default_allow(d),
        }
    }
    p.finish();
    Ok(p.out)
}

/// Whether `text` is already in the canonical layout (`Err` when it does not parse).
pub fn is_formatted(text: &str, name: &str) -> Result<bool, Diagnostics> {
    format_source(text, name).map(|f| f == text)
}

#[derive(Clone, Copy, Debug)]
struct Comment {
    start: usize,
    end: usize,
}

/// Every `#` comment of the text (outside strings), in order.
fn comments(src: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut chars = src.char_indices();
    while let Some((start, c)) = chars.next() {
        match c {
            '"' => skip_string(&mut chars),
            '#' => {
                let end = skip_line(&mut chars).unwrap_or(src.len());
                out.push(Comment { start, end });
            }
            _ => {}
        }
    }
    out
}

/// Moves `chars`, just after an opening `"`, past the closing one (or to the end of the text).
fn skip_string(chars: &mut std::str::CharIndices<'_>) {
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return,
            _ => {}
        }
    }
}

/// Moves `chars` past the end of the line; the offset of the `\n`, `None` at the end of the text.
fn skip_line(chars: &mut std::str::CharIndices<'_>) -> Option<usize> {
    chars.find(|&(_, c)| c == '\n').map(|(i, _)| i)
}

struct Printer<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    next_comment: usize,
    /// End of what was printed last, as a source offset (for blank lines).
    last_end: usize,
    /// Whether anything was printed at this block level yet (no blank line before the first).
    at_block_start: bool,
    depth: usize,
    out: String,
}

impl<'a> Printer<'a> {
    fn new(file: &'a Arc<SourceFile>) -> Self {
        let src = file.text();
        Printer {
            src,
            comments: comments(src),
            next_comment: 0,
            last_end: 0,
            at_block_start: true,
            depth: 0,
            out: String::new(),
        }
    }

    fn slice(&self, span: Span) -> &'a str {
        self.src
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    fn gap_has_blank_line(&self, from: usize, to: usize) -> bool {
        let gap = self.src.get(from.min(to)..to).unwrap_or("");
        gap.matches('\n').count() >= 2
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str(INDENT);
        }
    }

    fn blank_line_before(&mut self, start: usize) {
        if !self.at_block_start
            && self.gap_has_blank_line(self.last_end, start)
            && !self.out.ends_with("\n\n")
        {
            self.out.push('\n');
        }
    }

    /// Prints every comment starting before `pos` on its own line.
    fn comments_before(&mut self, pos: usize) {
        while let Some(&c) = self.comments.get(self.next_comment) {
            if c.start >= pos {
                break;
            }
            self.blank_line_before(c.start);
            self.indent();
            let text = self
                .src
                .get(c.start..c.end)
                .unwrap_or("#")
                .trim_end()
                .to_string();
            self.out.push_str(&text);
            self.out.push('\n');
            self.next_comment = self.next_comment.saturating_add(1);
            self.last_end = c.end;
            self.at_block_start = false;
        }
    }

    /// Whether a comment starts in `start..end`.
    fn has_comment_in(&self, start: usize, end: usize) -> bool {
        self.comments
            .iter()
            .any(|c| c.start >= start && c.start < end)
    }

    /// Prints one line for source `start..end`: comments written before or inside it first,
    /// then the text, then a comment that follows it on the same source line.
    fn line(&mut self, text: &str, start: usize, end: usize) {
        self.comments_before(end);
        self.blank_line_before(start);
        self.indent();
        self.out.push_str(text);
        self.last_end = end;
        if let Some(&c) = self.comments.get(self.next_comment) {
            let gap = self.src.get(end..c.start).unwrap_or("\n");
            if gap.chars().all(|ch| ch == ' ' || ch == '\t') {
                self.out.push_str("  ");
                self.out
                    .push_str(self.src.get(c.start..c.end).unwrap_or("#").trim_end());
                self.next_comment = self.next_comment.saturating_add(1);
                self.last_end = c.end;
            }
        }
        self.out.push('\n');
        self.at_block_start = false;
    }

    fn finish(&mut self) {
        self.comments_before(usize::MAX);
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
    }

    /// The offset of the first `{` at or after `from`, outside comments.
    fn open_brace(&self, from: usize) -> usize {
        let rest = self.src.get(from..).unwrap_or("");
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                // `i` is an offset in `rest`, which ends where `src` does: no overflow.
                '{' => return from.saturating_add(i),
                '#' => {
                    skip_line(&mut chars);
                }
                _ => {}
            }
        }
        from
    }

    /// The start of the keyword `kw` written just before `pos` (white space between), or `pos`.
    fn keyword_before(&self, pos: usize, kw: &str) -> usize {
        let before = self.src.get(..pos).unwrap_or("").trim_end();
        before.strip_suffix(kw).map_or(pos, str::len)
    }

    /// Prints an item: `header {` statements `}`. `header_end` is where the header's last
    /// token ends (the `{` is searched from there, so a `{` in a rule id is not taken for it).
    fn block(
        &mut self,
        header: String,
        start: usize,
        header_end: usize,
        span: Span,
        stmts: &[(String, usize, usize)],
    ) {
        let open = self.open_brace(header_end);
        let end = span.end as usize;
        let close = end.saturating_sub(1);
        let one_line = match stmts {
            [] => Some(format!("{header} {{}}")),
            [(s, _, _)] => Some(format!("{header} {{ {s} }}")),
            _ => None,
        };
        // `open` is at most the length of the text, so `after_open` does not saturate.
        let after_open = open.saturating_add(1);
        if let Some(text) = one_line {
            let width = self
                .depth
                .saturating_mul(INDENT.len())
                .saturating_add(text.chars().count());
            if width <= MAX_WIDTH && !self.has_comment_in(after_open, close) {
                self.line(&text, start, end);
                return;
            }
        }
        self.line(&format!("{header} {{"), start, after_open);
        let outer = self.depth;
        self.depth = outer.saturating_add(1);
        self.at_block_start = true;
        for (text, s, e) in stmts {
            self.line(text, *s, *e);
        }
        self.comments_before(close);
        self.depth = outer;
        self.at_block_start = true;
        self.line("}", close, end);
    }

    fn role(&mut self, r: &RoleDecl) {
        let start = r.span.start as usize;
        let header = format!("role {}", r.name.name);
        let mut stmts: Vec<(String, usize, usize)> = Vec::new();
        let mut body = r.body.iter().peekable();
        while let Some(stmt) = body.next() {
            match stmt {
                RoleStmt::Permit(p) => {
                    stmts.push((self.permit(p), p.span.start as usize, p.span.end as usize));
                }
                RoleStmt::Include(first) => {
                    let mut names = vec![first.name.clone()];
                    let mut end = first.span.end as usize;
                    while let Some(RoleStmt::Include(next)) = body.peek() {
                        let between = self.src.get(end..next.span.start as usize).unwrap_or("");
                        if between.trim() != "," {
                            break;
                        }
                        names.push(next.name.clone());
                        end = next.span.end as usize;
                        body.next();
                    }
                    let s = self.keyword_before(first.span.start as usize, "include");
                    stmts.push((format!("include {}", names.join(", ")), s, end));
                }
            }
        }
        self.block(header, start, r.name.span.end as usize, r.span, &stmts);
    }

    fn permit(&self, p: &Permit) -> String {
        let methods = match &p.methods {
            None => "*".to_string(),
            Some(ms) => ms
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let mut s = format!("permit {methods} on {}", self.lit(&p.paths));
        // `host` and `port` in source order.
        let mut extras: Vec<(u32, String)> = Vec::new();
        if let Some(h) = &p.hosts {
            extras.push((h.span.start, format!("host {}", self.lit(h))));
        }
        if let Some(port) = &p.ports {
            extras.push((port.span.start, format!("port {}", self.lit(port))));
        }
        extras.sort_by_key(|(at, _)| *at);
        for (_, e) in extras {
            s.push(' ');
            s.push_str(&e);
        }
        s
    }

    fn rule(&mut self, r: &RuleDecl) {
        let start = r.span.start as usize;
        let dry = if r.dry_run.is_some() { "dry_run " } else { "" };
        let header = format!("{dry}{} {}", r.effect.as_str(), self.slice(r.id.span));
        let mut stmts: Vec<(String, usize, usize)> = Vec::new();
        for stmt in &r.body {
            let (text, s, e) = match stmt {
                RuleStmt::Select(c) => self.clause("select", c),
                RuleStmt::From(c) => self.clause("from", c),
                RuleStmt::To(c) => self.clause("to", c),
                RuleStmt::Grant(names, span) => {
                    let ns: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                    (
                        format!("grant {}", ns.join(", ")),
                        span.start as usize,
                        span.end as usize,
                    )
                }
                RuleStmt::When(e) | RuleStmt::Unless(e) => {
                    let kw = if matches!(stmt, RuleStmt::When(_)) {
                        "when"
                    } else {
                        "unless"
                    };
                    let s = self.keyword_before(e.span.start as usize, kw);
                    (format!("{kw} {}", self.expr(e)), s, e.span.end as usize)
                }
                RuleStmt::Timezone(z) => {
                    let s = self.keyword_before(z.span.start as usize, "timezone");
                    (
                        format!("timezone {}", self.slice(z.span)),
                        s,
                        z.span.end as usize,
                    )
                }
            };
            stmts.push((text, s, e));
        }
        self.block(header, start, r.id.span.end as usize, r.span, &stmts);
    }

    fn default_allow(&mut self, d: &DefaultDecl) {
        let header = format!("default allow {}", self.slice(d.id.span));
        let stmts: Vec<(String, usize, usize)> =
            d.select.iter().map(|c| self.clause("select", c)).collect();
        self.block(
            header,
            d.span.start as usize,
            d.id.span.end as usize,
            d.span,
            &stmts,
        );
    }

    /// A `select`, `from` or `to` statement, with its source extent.
    fn clause(&self, kw: &str, c: &Clause) -> (String, usize, usize) {
        let ms: Vec<String> = c.matchers.iter().map(|m| self.matcher(m)).collect();
        (
            format!("{kw} {}", ms.join(", ")),
            c.span.start as usize,
            c.span.end as usize,
        )
    }

    fn matcher(&self, m: &Matcher) -> String {
        let mut s = String::new();
        if m.negated.is_some() {
            s.push_str("not ");
        }
        s.push_str(&m.kind.name);
        if let Some(k) = &m.key {
            s.push(' ');
            s.push_str(self.slice(k.span));
            s.push_str(" =");
        }
        s.push(' ');
        s.push_str(&self.lit(&m.value));
        s
    }

    fn lit(&self, l: &Lit) -> String {
        match &l.kind {
            LitKind::List(items) => {
                let items: Vec<String> = items.iter().map(|i| self.lit(i)).collect();
                format!("[{}]", items.join(", "))
            }
            _ => self.slice(l.span).to_string(),
        }
    }

    fn attr(&self, a: &AttrRef) -> String {
        let mut s = a
            .path
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        for k in &a.keys {
            s.push('[');
            s.push_str(self.slice(k.span));
            s.push(']');
        }
        s
    }

    /// Whether the expression was written in parentheses: its span starts with `(` whose
    /// matching `)` ends it.
    fn parenthesized(&self, span: Span) -> bool {
        let text = self.slice(span);
        if !text.starts_with('(') || !text.ends_with(')') {
            return false;
        }
        let mut depth = 0usize;
        let mut chars = text.char_indices();
        while let Some((_, c)) = chars.next() {
            match c {
                '"' => skip_string(&mut chars),
                '#' => {
                    skip_line(&mut chars);
                }
                // At most one per character of the text: no overflow.
                '(' => depth = depth.saturating_add(1),
                ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        // The first `(` is closed here: parenthesized when this `)` is last.
                        return chars.as_str().is_empty();
                    }
                }
                _ => {}
            }
        }
        false
    }

    fn expr(&self, e: &Expr) -> String {
        let inner = match &e.kind {
            ExprKind::Or(a, b) => format!("{} or {}", self.expr(a), self.expr(b)),
            ExprKind::And(a, b) => format!("{} and {}", self.expr(a), self.expr(b)),
            ExprKind::Not(a) => format!("not {}", self.expr(a)),
            ExprKind::Has(a) => format!("has {}", self.attr(a)),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Cmp { lhs, op, rhs, .. } => {
                let rhs = match rhs {
                    Operand::Attr(a) => self.attr(a),
                    Operand::Lit(l) => self.lit(l),
                };
                format!("{} {} {rhs}", self.attr(lhs), op.as_str())
            }
        };
        if self.parenthesized(e.span) {
            format!("({inner})")
        } else {
            inner
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(s: &str) -> String {
        format_source(s, "t.mgp").unwrap()
    }

    #[test]
    fn lays_out_items_and_keeps_comments() {
        let src = "# header\n\nrole  reader{permit GET,HEAD on \"/api/**\"}  # readers\nrole operator {\n include reader ,x\n\n\n  permit POST on [ \"/a\" ,\"/b\" ]\n}\nallow \"a\" {   # opens\n  from principal \"p\",namespace \"n\"   # who\n  when (time.hour in 8..17 or # inside\n    has source.ip) and not source.namespace == \"x\"\n  # last\n}\n\n\n\ndeny \"d\" { to path \"/x\" }\n";
        let want = "# header\n\nrole reader { permit GET, HEAD on \"/api/**\" }  # readers\nrole operator {\n  include reader, x\n\n  permit POST on [\"/a\", \"/b\"]\n}\nallow \"a\" {  # opens\n  from principal \"p\", namespace \"n\"  # who\n  # inside\n  when (time.hour in 8..17 or has source.ip) and not source.namespace == \"x\"\n  # last\n}\n\ndeny \"d\" { to path \"/x\" }\n";
        assert_eq!(fmt(src), want);
        assert_eq!(fmt(want), want);
    }

    #[test]
    fn one_statement_items_that_fit_go_on_one_line() {
        assert_eq!(
            fmt("dry_run deny \"m\" {\n  unless has source.principal\n}\n"),
            "dry_run deny \"m\" { unless has source.principal }\n"
        );
        assert_eq!(fmt("allow \"x\" {\n}\n"), "allow \"x\" {}\n");
        let long = format!("allow \"x\" {{ to path \"/{}\" }}\n", "a".repeat(100));
        assert_eq!(
            fmt(&long),
            format!("allow \"x\" {{\n  to path \"/{}\"\n}}\n", "a".repeat(100))
        );
    }

    #[test]
    fn refuses_text_that_does_not_parse() {
        let e = format_source("allow \"x\" { frm x }", "t.mgp").unwrap_err();
        assert!(e.has_errors());
    }
}

#[cfg(test)]
#[expect(
    clippy::arithmetic_side_effects,
    clippy::string_slice,
    reason = "test code: counts and slices its own ASCII samples"
)]
mod properties {
    use proptest::prelude::*;

    use super::format_source;
    use meshgate::{PolicySet, Request};

    /// Items as token lists; any separator may stand between two tokens.
    const ITEMS: &[&[&str]] = &[
        &[
            "role",
            "reader",
            "{",
            "permit",
            "GET",
            ",",
            "HEAD",
            "on",
            "\"/api/**\"",
            "}",
        ],
        &[
            "role",
            "operator",
            "{",
            "include",
            "reader",
            "permit",
            "POST",
            "on",
            "[",
            "\"/api/admin/**\"",
            ",",
            "\"/ops\"",
            "]",
            "port",
            "8000..8999",
            "}",
        ],
        &[
            "allow",
            "\"a\"",
            "{",
            "from",
            "principal",
            "\"spiffe://td/ns/shop/sa/web\"",
            "to",
            "service",
            "\"pay\"",
            "grant",
            "reader",
            "}",
        ],
        &[
            "allow",
            "\"b\"",
            "{",
            "from",
            "namespace",
            "\"ops\"",
            ",",
            "label",
            "team",
            "=",
            "\"sre\"",
            "from",
            "ip",
            "10.0.0.0/8",
            "grant",
            "operator",
            "when",
            "time.weekday",
            "in",
            "mon..fri",
            "and",
            "time.hour",
            "in",
            "8..17",
            "timezone",
            "\"Europe/Berlin\"",
            "}",
        ],
        &[
            "deny",
            "\"c\"",
            "{",
            "from",
            "not",
            "namespace",
            "[",
            "\"prod\"",
            ",",
            "\"ops\"",
            "]",
            "to",
            "path",
            "\"/api/admin/**\"",
            "}",
        ],
        &[
            "allow",
            "\"d\"",
            "{",
            "when",
            "(",
            "request.headers[\"x-user\"]",
            "==",
            "\"alice\"",
            "or",
            "has",
            "request.auth.principal",
            ")",
            "and",
            "not",
            "(",
            "source.namespace",
            "==",
            "\"legacy\"",
            ")",
            "unless",
            "context.risk",
            ">",
            "3",
            "}",
        ],
        &[
            "audit",
            "\"e\"",
            "{",
            "to",
            "path",
            "\"/api/export/**\"",
            "}",
        ],
        &[
            "dry_run",
            "deny",
            "\"f\"",
            "{",
            "unless",
            "has",
            "source.principal",
            "}",
        ],
        &["allow", "\"g\"", "{", "}"],
    ];

    const SEPARATORS: &[&str] = &[
        " ",
        "  ",
        "\n",
        "\n\n",
        "\n\n\n",
        "\t",
        " # note\n",
        "# x\n  ",
        "\n  # own line\n",
    ];

    fn policy() -> impl Strategy<Value = String> {
        // The roles are always there, since rules grant them.
        let items = proptest::sample::subsequence(
            (2..ITEMS.len()).collect::<Vec<_>>(),
            0..=ITEMS.len() - 2,
        )
        .prop_map(|mut v| {
            v.extend([0, 1]);
            v
        })
        .prop_shuffle();
        (
            items,
            proptest::collection::vec(0..SEPARATORS.len(), 400),
            0..3usize,
        )
            .prop_map(|(items, seps, lead)| {
                let mut seps = seps.into_iter().cycle();
                let mut out = String::new();
                out.push_str(["", "# head\n\n", "\n"][lead]);
                for i in items {
                    for tok in ITEMS[i] {
                        out.push_str(tok);
                        out.push_str(SEPARATORS[seps.next().unwrap_or(0)]);
                    }
                    out.push('\n');
                }
                out
            })
    }

    /// Tokens of policy text without white space and comments: strings whole, words whole,
    /// other characters one by one.
    fn tokens(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c == '#' {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            } else if c == '"' {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                out.push(chars[start..i.min(chars.len())].iter().collect());
            } else if c.is_ascii_alphanumeric() || "_-.:/+".contains(c) {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || "_-.:/+".contains(chars[i]))
                {
                    i += 1;
                }
                out.push(chars[start..i].iter().collect());
            } else {
                out.push(c.to_string());
                i += 1;
            }
        }
        out
    }

    fn comments(s: &str) -> Vec<String> {
        super::comments(s)
            .iter()
            .map(|c| s[c.start..c.end].trim_end().to_string())
            .collect()
    }

    const REQUESTS: &[&str] = &[
        r#"{"source": {"principal": "spiffe://td/ns/shop/sa/web"}, "destination": {"service": "pay"}, "request": {"method": "GET", "path": "/api/x"}}"#,
        r#"{"source": {"namespace": "ops", "labels": {"team": "sre"}}, "request": {"method": "POST", "path": "/ops", "headers": {"x-user": "alice"}}, "destination": {"port": 8080}, "time": "2026-03-27T10:00:00Z"}"#,
        r#"{"source": {"namespace": "legacy"}, "request": {"path": "/api/admin/a", "headers": {"x-user": "alice"}}, "context": {"risk": 1}}"#,
        r#"{"request": {"path": "/api/export/a"}}"#,
    ];

    proptest! {
        #[test]
        fn fmt_is_idempotent_and_keeps_tokens_comments_and_decisions(src in policy()) {
            let once = format_source(&src, "p.mgp").unwrap();
            let twice = format_source(&once, "p.mgp").unwrap();
            prop_assert_eq!(&twice, &once);
            prop_assert_eq!(tokens(&once), tokens(&src));
            prop_assert_eq!(comments(&once), comments(&src));
            let a = PolicySet::parse(&src, "p.mgp").unwrap();
            let b = PolicySet::parse(&once, "p.mgp").unwrap();
            for r in REQUESTS {
                let req = Request::from_json(r).unwrap();
                prop_assert_eq!(a.decide_reference(&req), b.decide_reference(&req));
            }
        }
    }
}
