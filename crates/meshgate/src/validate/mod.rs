//! Validation: from syntax trees to the model, reporting every error with its location.
//!
//! Validation never stops at the first error: each rule and role is checked on its own, and a
//! broken one is left out of the result while the rest are still checked, so one run reports
//! every problem in a set.

mod cond;
mod literals;
mod roles;

use std::collections::HashMap;
use std::sync::Arc;

use crate::attr::{Attr, closest};
use crate::diagnostic::Diagnostic;
use crate::limits::PolicyLimits;
use crate::model::{Clause, DefaultAllow, Grant, Pred, Role, Rule, Test, Zone};
use crate::span::{FileId, SourceFile, Span};
use crate::syntax::ast::{self, Item, RuleStmt};

/// Where diagnostics go while validating.
pub struct Ctx<'s> {
    files: &'s [Arc<SourceFile>],
    file: usize,
    diagnostics: Vec<Diagnostic>,
    limits: &'s PolicyLimits,
    /// Glob patterns seen so far (for [`PolicyLimits::max_patterns`]).
    patterns: usize,
}

impl<'s> Ctx<'s> {
    fn new(files: &'s [Arc<SourceFile>], limits: &'s PolicyLimits) -> Self {
        Ctx {
            files,
            file: 0,
            diagnostics: Vec::new(),
            limits,
            patterns: 0,
        }
    }

    /// Reports that a limit of [`PolicyLimits`] is exceeded at `span`.
    fn over_limit(&mut self, what: String, limit: &str, value: usize, span: Span) {
        self.error(
            "limit",
            format!("{what}: the limit is {value}"),
            span,
            Some(&format!(
                "`PolicyLimits::{limit}` bounds this so that no policy can exhaust a proxy; split \
                 the policy, or raise the limit where the policy is loaded"
            )),
        );
    }

    fn set_file(&mut self, file: usize) {
        self.file = file;
    }

    fn current(&self) -> Option<&'s Arc<SourceFile>> {
        self.files.get(self.file)
    }

    /// Reports an error at `span` in the current file.
    pub fn error(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        help: Option<&str>,
    ) {
        if let Some(file) = self.current() {
            let d = Diagnostic::error(code, message, file, span);
            self.diagnostics.push(match help {
                Some(h) => d.with_help(h),
                None => d,
            });
        }
    }

    /// Reports a warning at `span` in the current file.
    pub fn warning(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        help: Option<&str>,
    ) {
        if let Some(file) = self.current() {
            let d = Diagnostic::warning(code, message, file, span);
            self.diagnostics.push(match help {
                Some(h) => d.with_help(h),
                None => d,
            });
        }
    }

    /// `file:line:column` of a span in some file.
    fn location(&self, file: usize, span: Span) -> String {
        match self.files.get(file) {
            Some(f) => {
                let lc = f.line_col(span.start);
                format!("{}:{}:{}", f.name(), lc.line, lc.column)
            }
            None => "?".to_string(),
        }
    }
}

/// What validation produces.
pub struct Validated {
    /// Rules in set order.
    pub rules: Vec<Rule>,
    /// Roles by name.
    pub roles: HashMap<String, Role>,
    /// `default allow` items in set order.
    pub defaults: Vec<DefaultAllow>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
}

/// Validates parsed files (`trees[i]` is the tree of `files[i]`).
pub fn validate(
    files: &[Arc<SourceFile>],
    trees: &[ast::File],
    limits: &PolicyLimits,
) -> Validated {
    let mut cx = Ctx::new(files, limits);
    for (i, file) in files.iter().enumerate() {
        cx.set_file(i);
        check_text(&mut cx, file, FileId(i as u32));
    }
    let mut role_decls = Vec::new();
    let mut rule_decls = Vec::new();
    let mut default_decls = Vec::new();
    for (i, tree) in trees.iter().enumerate() {
        for item in &tree.items {
            match item {
                Item::Role(r) => role_decls.push((i, r)),
                Item::Rule(r) => rule_decls.push((i, r)),
                Item::Default(d) => default_decls.push((i, d)),
            }
        }
    }
    // Past a count limit, the rest is not validated: the set is refused anyway, and checking
    // a million surplus rules would be the very cost the limit prevents.
    if let Some(&(file, decl)) = role_decls.get(limits.max_roles) {
        cx.set_file(file);
        let what = format!(
            "the policy set declares more than {} roles",
            limits.max_roles
        );
        cx.over_limit(what, "max_roles", limits.max_roles, decl.name.span);
        role_decls.truncate(limits.max_roles);
    }
    if let Some(&(file, decl)) = rule_decls.get(limits.max_rules) {
        cx.set_file(file);
        let what = format!("the policy set has more than {} rules", limits.max_rules);
        cx.over_limit(what, "max_rules", limits.max_rules, decl.id.span);
        rule_decls.truncate(limits.max_rules);
    }
    // Defaults count as rules: each is evaluated like one.
    if let Some(&(file, decl)) =
        default_decls.get(limits.max_rules.saturating_sub(rule_decls.len()))
    {
        cx.set_file(file);
        let what = format!(
            "the policy set has more than {} rules and defaults",
            limits.max_rules
        );
        cx.over_limit(what, "max_rules", limits.max_rules, decl.id.span);
        default_decls.truncate(limits.max_rules.saturating_sub(rule_decls.len()));
    }
    let roles = roles::expand(&mut cx, &role_decls);
    let declared_roles: Vec<&str> = role_decls
        .iter()
        .map(|(_, r)| r.name.name.as_str())
        .collect();
    let mut seen: HashMap<&str, (usize, Span)> = HashMap::new();
    let mut rules = Vec::new();
    for (file, decl) in rule_decls {
        cx.set_file(file);
        if let Some(&(first_file, first_span)) = seen.get(decl.id.value.as_str()) {
            let at = cx.location(first_file, first_span);
            cx.error(
                "duplicate-id",
                format!("rule id `{}` is used twice", decl.id.value),
                decl.id.span,
                Some(&format!(
                    "first used at {at}; rule ids are unique across the policy set"
                )),
            );
            // Still check the rule, so its other errors are reported too.
            let _ = rule(&mut cx, decl, &roles, &declared_roles);
            continue;
        }
        seen.insert(&decl.id.value, (file, decl.id.span));
        if let Some(rule) = rule(&mut cx, decl, &roles, &declared_roles) {
            rules.push(rule);
        }
    }
    let mut defaults = Vec::new();
    for (file, decl) in default_decls {
        cx.set_file(file);
        if let Some(&(first_file, first_span)) = seen.get(decl.id.value.as_str()) {
            let at = cx.location(first_file, first_span);
            cx.error(
                "duplicate-id",
                format!("id `{}` is used twice", decl.id.value),
                decl.id.span,
                Some(&format!(
                    "first used at {at}; rule and default ids are unique across the policy set"
                )),
            );
            continue;
        }
        seen.insert(&decl.id.value, (file, decl.id.span));
        if let Some(d) = default_allow(&mut cx, decl) {
            defaults.push(d);
        }
    }
    Validated {
        rules,
        roles,
        defaults,
        diagnostics: cx.diagnostics,
    }
}

fn default_allow(cx: &mut Ctx<'_>, decl: &ast::DefaultDecl) -> Option<DefaultAllow> {
    let before = cx.diagnostics.len();
    check_id(cx, &decl.id);
    let select: Vec<Clause> = decl
        .select
        .iter()
        .filter_map(|c| clause(cx, c, Side::Select))
        .collect();
    let has_errors = cx
        .diagnostics
        .iter()
        .skip(before)
        .any(|d| d.severity() == crate::diagnostic::Severity::Error);
    (!has_errors).then(|| {
        let mut default = DefaultAllow {
            id: decl.id.value.clone(),
            span: decl.span,
            id_span: decl.id.span,
            select,
        };
        crate::model::ShrinkToFit::shrink_to_fit(&mut default);
        default
    })
}

fn check_id(cx: &mut Ctx<'_>, id: &ast::StrLit) {
    if id.value.is_empty() || id.value.chars().any(char::is_control) {
        cx.error(
            "rule-id",
            "rule id must be non-empty and free of control characters",
            id.span,
            None,
        );
    }
}

/// Warns about characters that make text read differently from what it is: bidirectional
/// controls (the "trojan source" attack) and invisible characters.
fn check_text(cx: &mut Ctx<'_>, file: &SourceFile, id: FileId) {
    for (offset, c) in file.text().char_indices() {
        let kind = match c {
            '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}' => "bidirectional control character",
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => "invisible character",
            '\0' => "NUL character",
            _ => continue,
        };
        let span = Span::new(id, offset, offset.saturating_add(c.len_utf8()));
        cx.warning("confusable-text", format!("{kind} U+{:04X} in policy text", c as u32), span, Some("it makes the text read differently from what it means; remove it or write it as `\\u{…}`"));
    }
}

fn rule(
    cx: &mut Ctx<'_>,
    decl: &ast::RuleDecl,
    roles: &HashMap<String, Role>,
    declared_roles: &[&str],
) -> Option<Rule> {
    let before = cx.diagnostics.len();
    check_id(cx, &decl.id);
    let mut rule = Rule {
        id: decl.id.value.clone(),
        effect: decl.effect,
        dry_run: decl.dry_run.is_some(),
        span: decl.span,
        id_span: decl.id.span,
        select: Vec::new(),
        from: Vec::new(),
        to: Vec::new(),
        grants: Vec::new(),
        when: Vec::new(),
        unless: Vec::new(),
        zone: Zone::default(),
    };
    let mut zone_span = None;
    let mut broken = false;
    for stmt in &decl.body {
        match stmt {
            RuleStmt::Select(c) => {
                if let Some(c) = clause(cx, c, Side::Select) {
                    rule.select.push(c);
                }
            }
            RuleStmt::From(c) => {
                if let Some(c) = clause(cx, c, Side::From) {
                    rule.from.push(c);
                }
            }
            RuleStmt::To(c) => {
                if let Some(c) = clause(cx, c, Side::To) {
                    rule.to.push(c);
                }
            }
            RuleStmt::Grant(names, _) => {
                if decl.effect != ast::Effect::Allow
                    && let Some(first) = names.first()
                {
                    cx.error("grant", format!("`grant` in {} rule", match decl.effect.as_str() { "audit" => "an audit", "deny" => "a deny", other => other }), first.span, Some("roles are granted by allow rules; use `to method … , path …` to scope deny and audit rules"));
                }
                for n in names {
                    match roles.get(&n.name) {
                        Some(role) => {
                            rule.grants.push(Grant {
                                role: n.name.clone(),
                                span: n.span,
                                permissions: Arc::clone(&role.permissions),
                            });
                        }
                        None if declared_roles.contains(&n.name.as_str()) => {
                            // The role itself is broken and already reported.
                            broken = true;
                        }
                        None => {
                            let help = closest(&n.name, declared_roles.iter().copied())
                                .map(|s| format!("did you mean `{s}`?"));
                            cx.error(
                                "unknown-role",
                                format!("unknown role `{}`", n.name),
                                n.span,
                                help.as_deref()
                                    .or(Some("declare it with `role NAME { permit … }`")),
                            );
                        }
                    }
                }
            }
            RuleStmt::When(e) => {
                if let Some(c) = cond::condition(cx, e) {
                    rule.when.push(c);
                }
            }
            RuleStmt::Unless(e) => {
                if let Some(c) = cond::condition(cx, e) {
                    rule.unless.push(c);
                }
            }
            RuleStmt::Timezone(name) => {
                if zone_span.is_some() {
                    cx.error(
                        "timezone",
                        "`timezone` is given twice",
                        name.span,
                        Some("a rule has one time zone"),
                    );
                    continue;
                }
                zone_span = Some(name.span);
                match jiff::tz::db().get(&name.value) {
                    Ok(tz) => {
                        rule.zone = Zone {
                            name: name.value.clone().into(),
                            tz,
                        }
                    }
                    Err(_) => {
                        let names: Vec<String> =
                            jiff::tz::db().available().map(|n| n.to_string()).collect();
                        let help = closest(&name.value, names.iter().map(String::as_str))
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| {
                                "use an IANA time zone name such as `Europe/Berlin` or `UTC`"
                                    .to_string()
                            });
                        cx.error(
                            "timezone",
                            format!("unknown time zone `{}`", name.value),
                            name.span,
                            Some(&help),
                        );
                    }
                }
            }
        }
    }
    let has_errors = cx
        .diagnostics
        .iter()
        .skip(before)
        .any(|d| d.severity() == crate::diagnostic::Severity::Error);
    (!has_errors && !broken).then(|| {
        crate::model::ShrinkToFit::shrink_to_fit(&mut rule);
        rule
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    From,
    To,
    /// `select`: the destination workload (a subset of the `to` matchers).
    Select,
}

const SELECT_MATCHERS: [&str; 2] = ["namespace", "label"];

const FROM_MATCHERS: [&str; 8] = [
    "principal",
    "namespace",
    "service_account",
    "trust_domain",
    "label",
    "ip",
    "remote_ip",
    "request_principal",
];
const TO_MATCHERS: [&str; 8] = [
    "service",
    "host",
    "namespace",
    "label",
    "port",
    "method",
    "path",
    "ip",
];

fn clause(cx: &mut Ctx<'_>, c: &ast::Clause, side: Side) -> Option<Clause> {
    let mut tests = Vec::new();
    let mut ok = true;
    for m in &c.matchers {
        match matcher(cx, m, side) {
            Some(t) => tests.push(t),
            None => ok = false,
        }
    }
    ok.then_some(Clause {
        tests,
        span: c.span,
    })
}

fn matcher(cx: &mut Ctx<'_>, m: &ast::Matcher, side: Side) -> Option<Test> {
    let kind = m.kind.name.as_str();
    let key = || {
        m.key
            .as_ref()
            .map(|k| Box::<str>::from(k.value.as_str()))
            .unwrap_or_default()
    };
    let attr = match (side, kind) {
        (Side::From, "principal") => Attr::SourcePrincipal,
        (Side::From, "namespace") => Attr::SourceNamespace,
        (Side::From, "service_account") => Attr::SourceServiceAccount,
        (Side::From, "trust_domain") => Attr::SourceTrustDomain,
        (Side::From, "label") => Attr::SourceLabel(key()),
        (Side::From, "ip") => Attr::SourceIp,
        (Side::From, "remote_ip") => Attr::SourceRemoteIp,
        (Side::From, "request_principal") => Attr::AuthPrincipal,
        (Side::To, "service") => Attr::DestService,
        (Side::To, "host") => Attr::Host,
        (Side::To, "namespace") => Attr::DestNamespace,
        (Side::To, "label") => Attr::DestLabel(key()),
        (Side::To, "port") => Attr::DestPort,
        (Side::To, "method") => Attr::Method,
        (Side::To, "path") => Attr::Path,
        (Side::To, "ip") => Attr::DestIp,
        (Side::Select, "namespace") => Attr::DestNamespace,
        (Side::Select, "label") => Attr::DestLabel(key()),
        (Side::Select, _) => {
            let help = if TO_MATCHERS.contains(&kind) {
                format!(
                    "`select` names workloads by `namespace` and `label`; test `{kind}` in a \
                     `to` clause"
                )
            } else if let Some(s) = closest(kind, SELECT_MATCHERS.iter().copied()) {
                format!("did you mean `{s}`?")
            } else {
                "the matchers of `select` are `namespace` and `label`".to_string()
            };
            cx.error(
                "unknown-matcher",
                format!("unknown `select` matcher `{kind}`"),
                m.kind.span,
                Some(&help),
            );
            return None;
        }
        _ => {
            let (here, there, other_kw) = match side {
                Side::From => (&FROM_MATCHERS[..], &TO_MATCHERS[..], "to"),
                Side::To | Side::Select => (&TO_MATCHERS[..], &FROM_MATCHERS[..], "from"),
            };
            let help = if there.contains(&kind) {
                format!("`{kind}` is a `{other_kw}` matcher")
            } else {
                match closest(kind, here.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "the matchers here are {}",
                        here.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            };
            let side_kw = if side == Side::From { "from" } else { "to" };
            cx.error(
                "unknown-matcher",
                format!("unknown `{side_kw}` matcher `{kind}`"),
                m.kind.span,
                Some(&help),
            );
            return None;
        }
    };
    let what = format!("`{kind}`");
    let pred = match attr {
        Attr::SourceIp | Attr::SourceRemoteIp | Attr::DestIp => {
            Pred::Ip(literals::networks(cx, &m.value, &what)?)
        }
        Attr::DestPort => Pred::Int(literals::int_ranges(
            cx,
            &m.value,
            &what,
            (0, 65_535),
            false,
        )?),
        Attr::Method => Pred::Str(methods(cx, &m.value)?),
        Attr::Path => Pred::Str(literals::paths(cx, &m.value, &what)?),
        _ => Pred::Str(literals::patterns(
            cx,
            &m.value,
            &what,
            true,
            attr.case_insensitive(),
        )?),
    };
    Some(Test {
        attr,
        pred,
        negated: m.negated.is_some(),
        span: m.span,
    })
}

fn methods(cx: &mut Ctx<'_>, lit: &ast::Lit) -> Option<crate::pattern::PatternSet> {
    let mut out = Vec::new();
    for item in literals::items(cx, lit, "`method`")? {
        let name = match &item.kind {
            ast::LitKind::Ident(s) | ast::LitKind::Str(s) => s,
            other => {
                cx.error(
                    "type",
                    format!("`method` takes HTTP methods, found {}", other.describe()),
                    item.span,
                    Some("e.g. `method GET` or `method [GET, HEAD]`"),
                );
                return None;
            }
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase()) {
            let help = format!(
                "methods are upper case, e.g. `{}`",
                name.to_ascii_uppercase()
            );
            cx.error(
                "method",
                format!("invalid HTTP method `{name}`"),
                item.span,
                Some(&help),
            );
            return None;
        }
        out.push(crate::pattern::Pattern::exact(name, false));
    }
    Some(crate::pattern::PatternSet(out))
}
