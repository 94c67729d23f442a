//! Reading one AuthorizationPolicy document into the typed model of the parent module, field
//! by field, with an error naming the field path for anything Istio or meshgate would refuse.

use meshgate::{Diagnostic, Span};

use super::{Action, Clause, Field, Key, Policy, Rule, Value, as_str, find};
use crate::error::{Ctx, codes};
use crate::yaml::{Entry, Kind, Node};

/// Reads one resource, collecting errors.
pub(super) struct Reader<'a> {
    ctx: &'a Ctx,
    errors: &'a mut Vec<Diagnostic>,
    /// `namespace/name`, once known, for messages.
    resource: String,
}

impl<'a> Reader<'a> {
    /// A reader that reports into `errors`.
    pub(super) fn new(ctx: &'a Ctx, errors: &'a mut Vec<Diagnostic>) -> Self {
        Reader {
            ctx,
            errors,
            resource: String::new(),
        }
    }
}

const OBJECT_META: &[&str] = &[
    "name",
    "namespace",
    "annotations",
    "labels",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "finalizers",
    "ownerReferences",
    "generateName",
    "selfLink",
];

const SOURCE_FIELDS: &[(&str, Key, bool)] = &[
    ("principals", Key::Principals, false),
    ("notPrincipals", Key::Principals, true),
    ("requestPrincipals", Key::RequestPrincipals, false),
    ("notRequestPrincipals", Key::RequestPrincipals, true),
    ("namespaces", Key::Namespaces, false),
    ("notNamespaces", Key::Namespaces, true),
    ("ipBlocks", Key::IpBlocks, false),
    ("notIpBlocks", Key::IpBlocks, true),
    ("remoteIpBlocks", Key::RemoteIpBlocks, false),
    ("notRemoteIpBlocks", Key::RemoteIpBlocks, true),
    ("serviceAccounts", Key::ServiceAccounts, false),
    ("notServiceAccounts", Key::ServiceAccounts, true),
    ("trustDomains", Key::TrustDomains, false),
    ("notTrustDomains", Key::TrustDomains, true),
];

const OPERATION_FIELDS: &[(&str, Key, bool)] = &[
    ("hosts", Key::Hosts, false),
    ("notHosts", Key::Hosts, true),
    ("ports", Key::Ports, false),
    ("notPorts", Key::Ports, true),
    ("methods", Key::Methods, false),
    ("notMethods", Key::Methods, true),
    ("paths", Key::Paths, false),
    ("notPaths", Key::Paths, true),
];

impl Reader<'_> {
    fn err(&mut self, code: &'static str, span: Span, message: String) {
        self.report(code, span, message, None);
    }

    fn help(&mut self, code: &'static str, span: Span, message: String, help: &str) {
        self.report(code, span, message, Some(help));
    }

    /// Records an error; the message is prefixed with the resource once it is known.
    fn report(&mut self, code: &'static str, span: Span, message: String, help: Option<&str>) {
        let message = if self.resource.is_empty() {
            message
        } else {
            format!("{}: {message}", self.resource)
        };
        let mut d = self.ctx.error(code, span, message);
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.errors.push(d);
    }

    /// Checks that a mapping has only `allowed` keys.
    fn known_keys(&mut self, entries: &[Entry], allowed: &[&str], path: &str) {
        for e in entries {
            if !allowed.contains(&e.key.as_str()) {
                let known = allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.help(
                    codes::UNKNOWN_FIELD,
                    e.key_span,
                    format!("unknown field `{}{}`", dotted(path), e.key),
                    &format!("known fields here: {known}"),
                );
            }
        }
    }

    fn map<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Entry]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            Kind::Null => Some(&[]),
            _ => {
                self.err(
                    codes::SHAPE,
                    node.span,
                    format!("`{path}` must be a mapping, found {}", node.type_name()),
                );
                None
            }
        }
    }

    fn seq<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            Kind::Null => Some(&[]),
            _ => {
                self.err(
                    codes::SHAPE,
                    node.span,
                    format!("`{path}` must be a list, found {}", node.type_name()),
                );
                None
            }
        }
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => {
                self.help(
                    codes::SHAPE,
                    node.span,
                    format!("`{path}` must be a string, found {}", node.type_name()),
                    "quote the value: Istio's fields are strings (`\"80\"`, `\"true\"`)",
                );
                None
            }
        }
    }

    pub(super) fn policy(&mut self, doc: &Node, entries: &[Entry], prefix: &str) -> Option<Policy> {
        self.known_keys(
            entries,
            &["apiVersion", "kind", "metadata", "spec", "status"],
            prefix,
        );
        let api = find(entries, "apiVersion");
        match api.map(|e| (&e.value, as_str(&e.value))) {
            Some((_, Some("security.istio.io/v1" | "security.istio.io/v1beta1"))) => {}
            Some((node, _)) => {
                let span = node.span;
                self.help(
                    codes::UNSUPPORTED,
                    span,
                    format!("unsupported `{prefix}apiVersion` of an AuthorizationPolicy"),
                    "expected `security.istio.io/v1` or `security.istio.io/v1beta1`",
                );
            }
            None => {
                self.err(
                    codes::SHAPE,
                    doc.span,
                    format!("`{prefix}apiVersion` is missing"),
                );
            }
        }
        let errors_before = self.errors.len();
        let meta_path = format!("{prefix}metadata");
        let meta = match find(entries, "metadata") {
            Some(e) => self.map(&e.value, &meta_path).unwrap_or(&[]),
            None => &[],
        };
        self.known_keys(meta, OBJECT_META, &meta_path);
        let name = match find(meta, "name") {
            Some(e) => self.string(&e.value, &format!("{meta_path}.name")),
            None => {
                self.err(
                    codes::SHAPE,
                    doc.span,
                    format!("`{meta_path}.name` is missing"),
                );
                None
            }
        };
        let namespace = match find(meta, "namespace") {
            Some(e) => self.string(&e.value, &format!("{meta_path}.namespace")),
            None => {
                self.help(
                    codes::SHAPE,
                    doc.span,
                    format!(
                        "AuthorizationPolicy `{}` has no `{meta_path}.namespace`",
                        name.as_deref().unwrap_or("?")
                    ),
                    "the namespace decides which workloads the policy applies to: set it (`kubectl get … -o yaml` always does)",
                );
                None
            }
        };
        // Kubernetes refuses other names, and they become rule ids and `select` values.
        for (what, value, max, dots) in [
            ("name", &name, 253, true),
            ("namespace", &namespace, 63, false),
        ] {
            if let Some(v) = value
                && !is_dns1123(v, max, dots)
            {
                let span = find(meta, what).map_or(doc.span, |e| e.value.span);
                let shape = if dots {
                    "a DNS-1123 subdomain: at most 253 lower-case letters, digits, `-` and `.`"
                } else {
                    "a DNS-1123 label: at most 63 lower-case letters, digits and `-`"
                };
                self.err(
                    codes::INVALID,
                    span,
                    format!(
                        "`{meta_path}.{what}` `{}` is not a Kubernetes name: Kubernetes requires {shape}, starting and ending with a letter or digit",
                        v.escape_debug()
                    ),
                );
            }
        }
        self.resource = format!(
            "{}/{}",
            namespace.as_deref().unwrap_or("?"),
            name.as_deref().unwrap_or("?")
        );
        let dry_run = self.dry_run(meta, &meta_path);
        let spec_path = format!("{prefix}spec");
        let spec = match find(entries, "spec") {
            Some(e) => self.map(&e.value, &spec_path).unwrap_or(&[]),
            None => &[],
        };
        self.known_keys(
            spec,
            &[
                "selector",
                "targetRef",
                "targetRefs",
                "rules",
                "action",
                "provider",
            ],
            &spec_path,
        );
        let action = self.action(spec, &spec_path);
        for field in ["provider", "targetRef", "targetRefs"] {
            if let Some(e) = find(spec, field) {
                let help = if field == "provider" {
                    "`provider` belongs to the CUSTOM action (external authorization), which meshgate does not import"
                } else {
                    "policies attached to gateways or waypoints by `targetRef(s)` are not imported; use `selector` for sidecar workloads"
                };
                self.help(
                    codes::UNSUPPORTED,
                    e.key_span,
                    format!("`{spec_path}.{field}` is not supported"),
                    help,
                );
            }
        }
        let selector = self.selector(spec, &spec_path);
        let rules = match find(spec, "rules") {
            Some(e) => self.rules(&e.value, &format!("{spec_path}.rules")),
            None => Vec::new(),
        };
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Policy {
            ctx: self.ctx.clone(),
            span: doc.span,
            namespace: namespace?,
            name: name?,
            action: action?,
            dry_run,
            selector,
            rules,
        })
    }

    fn dry_run(&mut self, meta: &[Entry], meta_path: &str) -> bool {
        let Some(annotations) = find(meta, "annotations") else {
            return false;
        };
        let path = format!("{meta_path}.annotations");
        let Some(entries) = self.map(&annotations.value, &path) else {
            return false;
        };
        let Some(e) = find(entries, "istio.io/dry-run") else {
            return false;
        };
        let path = format!("{path}[\"istio.io/dry-run\"]");
        let Some(v) = self.string(&e.value, &path) else {
            return false;
        };
        // Istio reads the annotation with Go's `strconv.ParseBool`.
        match v.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
            "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
            _ => {
                self.help(
                    codes::INVALID,
                    e.value.span,
                    format!("`{path}` `{v}` is not a boolean"),
                    "Istio ignores an unreadable dry-run annotation and enforces the policy; write `\"true\"` or `\"false\"`",
                );
                false
            }
        }
    }

    fn action(&mut self, spec: &[Entry], spec_path: &str) -> Option<Action> {
        let Some(e) = find(spec, "action") else {
            return Some(Action::Allow);
        };
        let path = format!("{spec_path}.action");
        let v = self.string(&e.value, &path)?;
        match v.as_str() {
            "ALLOW" => Some(Action::Allow),
            "DENY" => Some(Action::Deny),
            "AUDIT" => Some(Action::Audit),
            "CUSTOM" => {
                self.help(
                    codes::UNSUPPORTED,
                    e.value.span,
                    format!("`{path}` `CUSTOM` is not supported"),
                    "CUSTOM delegates the decision to an external authorizer (`provider`); meshgate cannot decide it offline",
                );
                None
            }
            _ => {
                self.help(
                    codes::INVALID,
                    e.value.span,
                    format!("unknown `{path}` `{v}`"),
                    "expected `ALLOW`, `DENY`, `AUDIT` or `CUSTOM`",
                );
                None
            }
        }
    }

    fn selector(&mut self, spec: &[Entry], spec_path: &str) -> Option<Vec<(String, String)>> {
        let e = find(spec, "selector")?;
        let path = format!("{spec_path}.selector");
        let entries = self.map(&e.value, &path)?;
        self.known_keys(entries, &["matchLabels"], &path);
        let labels_path = format!("{path}.matchLabels");
        let labels = match find(entries, "matchLabels") {
            Some(e) => self.map(&e.value, &labels_path)?,
            None => &[],
        };
        let mut out = Vec::new();
        for l in labels {
            let p = format!("{labels_path}[\"{}\"]", l.key);
            if let Some(v) = self.string(&l.value, &p) {
                if v.contains('*') || l.key.contains('*') {
                    self.err(
                        codes::INVALID,
                        l.value.span,
                        format!("`{p}`: a label with `*` is not a Kubernetes label"),
                    );
                }
                out.push((l.key.clone(), v));
            }
        }
        Some(out)
    }

    fn rules(&mut self, node: &Node, path: &str) -> Vec<Rule> {
        let Some(items) = self.seq(node, path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let rpath = format!("{path}[{i}]");
            if matches!(item.kind, Kind::Null) {
                self.help(
                    codes::INVALID,
                    item.span,
                    format!("`{rpath}` is null"),
                    "write `{}` for a rule that matches every request",
                );
                continue;
            }
            let Some(entries) = self.map(item, &rpath) else {
                continue;
            };
            self.known_keys(entries, &["from", "to", "when"], &rpath);
            let mut rule = Rule {
                span: item.span,
                from: Vec::new(),
                to: Vec::new(),
                when: Vec::new(),
            };
            if let Some(e) = find(entries, "from") {
                rule.from =
                    self.clauses(&e.value, &format!("{rpath}.from"), "source", SOURCE_FIELDS);
            }
            if let Some(e) = find(entries, "to") {
                rule.to = self.clauses(
                    &e.value,
                    &format!("{rpath}.to"),
                    "operation",
                    OPERATION_FIELDS,
                );
            }
            if let Some(e) = find(entries, "when") {
                rule.when = self.conditions(&e.value, &format!("{rpath}.when"));
            }
            out.push(rule);
        }
        out
    }

    fn clauses(
        &mut self,
        node: &Node,
        path: &str,
        inner: &str,
        fields: &[(&str, Key, bool)],
    ) -> Vec<Clause> {
        let Some(items) = self.seq(node, path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let Some(entries) = self.map(item, &ipath) else {
                continue;
            };
            self.known_keys(entries, &[inner], &ipath);
            let cpath = format!("{ipath}.{inner}");
            let Some(inner_entry) = find(entries, inner) else {
                self.err(codes::INVALID, item.span, format!("`{cpath}` is missing"));
                continue;
            };
            let Some(inner_entries) = self.map(&inner_entry.value, &cpath) else {
                continue;
            };
            let names: Vec<&str> = fields.iter().map(|f| f.0).collect();
            self.known_keys(inner_entries, &names, &cpath);
            let mut clause = Clause {
                span: inner_entry.value.span,
                fields: Vec::new(),
            };
            for (name, key, negated) in fields {
                if let Some(e) = find(inner_entries, name) {
                    let fpath = format!("{cpath}.{name}");
                    if let Some(f) = self.field(&e.value, &fpath, key.clone(), *negated) {
                        clause.fields.push(f);
                    }
                }
            }
            if clause.fields.is_empty() {
                // Istio's validation: "From.Source must not be empty" / "To.Operation …".
                self.err(
                    codes::INVALID,
                    inner_entry.value.span,
                    format!("`{cpath}` must not be empty"),
                );
                continue;
            }
            out.push(clause);
        }
        out
    }

    fn field(&mut self, node: &Node, path: &str, key: Key, negated: bool) -> Option<Field> {
        let items = self.seq(node, path)?;
        let mut values = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let vpath = format!("{path}[{i}]");
            if let Some(text) = self.string(item, &vpath) {
                if text.is_empty() {
                    self.err(codes::INVALID, item.span, format!("`{vpath}` is empty"));
                    continue;
                }
                values.push(Value {
                    text,
                    span: item.span,
                    path: vpath,
                });
            }
        }
        if values.is_empty() {
            // An empty list places no requirement in Istio: the field is as if absent.
            return None;
        }
        Some(Field {
            key,
            negated,
            values,
            path: path.to_string(),
            span: node.span,
        })
    }

    fn conditions(&mut self, node: &Node, path: &str) -> Vec<Field> {
        let Some(items) = self.seq(node, path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let cpath = format!("{path}[{i}]");
            let Some(entries) = self.map(item, &cpath) else {
                continue;
            };
            self.known_keys(entries, &["key", "values", "notValues"], &cpath);
            let Some(key_entry) = find(entries, "key") else {
                self.err(
                    codes::INVALID,
                    item.span,
                    format!("`{cpath}.key` is missing"),
                );
                continue;
            };
            let Some(key_text) = self.string(&key_entry.value, &format!("{cpath}.key")) else {
                continue;
            };
            let Some(key) = self.when_key(&key_text, key_entry.value.span, &cpath) else {
                continue;
            };
            let mut any = false;
            for (name, negated) in [("values", false), ("notValues", true)] {
                if let Some(e) = find(entries, name) {
                    let fpath = format!("{cpath}.{name}");
                    if let Some(f) = self.field(&e.value, &fpath, key.clone(), negated) {
                        out.push(f);
                        any = true;
                    }
                }
            }
            if !any {
                self.err(
                    codes::INVALID,
                    item.span,
                    format!("`{cpath}` (`{key_text}`) has neither `values` nor `notValues`"),
                );
            }
        }
        out
    }

    fn when_key(&mut self, key: &str, span: Span, cpath: &str) -> Option<Key> {
        let simple = match key {
            "source.ip" => Some(Key::IpBlocks),
            "remote.ip" => Some(Key::RemoteIpBlocks),
            "source.namespace" => Some(Key::Namespaces),
            "source.principal" => Some(Key::Principals),
            "source.serviceAccount" => Some(Key::ServiceAccounts),
            "request.auth.principal" => Some(Key::RequestPrincipals),
            "request.auth.audiences" => Some(Key::Audiences),
            "request.auth.presenter" => Some(Key::Presenter),
            "destination.ip" => Some(Key::DestIp),
            "destination.port" => Some(Key::Ports),
            "connection.sni" => Some(Key::Sni),
            _ => None,
        };
        if simple.is_some() {
            return simple;
        }
        let kpath = format!("{cpath}.key");
        if let Some(rest) = key.strip_prefix("request.headers") {
            return match bracketed(rest) {
                Some(names) if names.len() == 1 => names.into_iter().next().map(Key::Header),
                _ => {
                    self.help(
                        codes::INVALID,
                        span,
                        format!("`{kpath}` `{key}` is malformed"),
                        "write one header name in brackets: `request.headers[User-Agent]`",
                    );
                    None
                }
            };
        }
        if let Some(rest) = key.strip_prefix("request.auth.claims") {
            return match bracketed(rest) {
                Some(names) if !names.is_empty() => Some(Key::Claims(names)),
                _ => {
                    self.help(
                        codes::INVALID,
                        span,
                        format!("`{kpath}` `{key}` is malformed"),
                        "write the claim in brackets, nested claims one pair each: `request.auth.claims[realm_access][roles]`",
                    );
                    None
                }
            };
        }
        let (code, why) = if key.starts_with("experimental.envoy.filters.") {
            (
                codes::UNSUPPORTED,
                "it reads Envoy filter metadata, which a meshgate request does not carry"
                    .to_string(),
            )
        } else if key.starts_with("request.experimental.inline.headers") {
            (
                codes::UNSUPPORTED,
                "experimental inline header matching is not imported; use `request.headers[…]`"
                    .to_string(),
            )
        } else if key == "destination.namespace" {
            (
                codes::INVALID,
                "Istio replaced it by `metadata.namespace`".to_string(),
            )
        } else if key.starts_with("destination.labels") {
            (
                codes::INVALID,
                "Istio replaced it by the workload selector".to_string(),
            )
        } else if key == "destination.name" || key == "destination.user" {
            (
                codes::INVALID,
                "it existed only in Istio's v1alpha1 RBAC".to_string(),
            )
        } else {
            (codes::INVALID, "Istio does not know this key".to_string())
        };
        let msg = if code == codes::UNSUPPORTED {
            format!("`{kpath}` `{key}` is not supported")
        } else {
            format!("unknown `{kpath}` `{key}`")
        };
        self.help(code, span, msg, &why);
        None
    }
}

/// `[a][b]` → `["a", "b"]`; `None` when malformed (empty names, text outside brackets).
fn bracketed(mut rest: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let (name, after) = inner.split_at(close);
        if name.is_empty() || name.contains('[') {
            return None;
        }
        out.push(name.to_string());
        rest = after.get(1..)?;
    }
    if out.is_empty() { None } else { Some(out) }
}

fn dotted(path: &str) -> String {
    if path.is_empty() || path.ends_with('.') {
        path.to_string()
    } else {
        format!("{path}.")
    }
}

#[cfg(test)]
mod tests {
    use super::bracketed;

    #[test]
    fn brackets() {
        assert_eq!(bracketed("[a]"), Some(vec!["a".to_string()]));
        assert_eq!(
            bracketed("[a][b]"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(bracketed(""), None);
        assert_eq!(bracketed("[]"), None);
        assert_eq!(bracketed("[a]x"), None);
        assert_eq!(bracketed("a"), None);
    }
}

/// Whether `v` is a DNS-1123 label (`dots` false) or subdomain (`dots` true) of at most `max`
/// bytes, as Kubernetes requires of names and namespaces.
fn is_dns1123(v: &str, max: usize, dots: bool) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = v.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes.first().copied().is_some_and(alnum)
        && bytes.last().copied().is_some_and(alnum)
        && bytes
            .iter()
            .all(|&b| alnum(b) || b == b'-' || (dots && b == b'.'))
}

#[cfg(test)]
mod name_tests {
    use super::is_dns1123;

    #[test]
    fn kubernetes_names() {
        assert!(is_dns1123("allow-nothing", 253, true));
        assert!(is_dns1123("a.b-1", 253, true));
        assert!(!is_dns1123("a.b", 63, false), "no dots in a namespace");
        for bad in [
            "", "-a", "a-", "A", "a_b", "a/b", "a*", "\u{7f}a", "a\u{f}b",
        ] {
            assert!(!is_dns1123(bad, 253, true), "{bad:?}");
        }
        assert!(!is_dns1123(&"a".repeat(64), 63, false));
    }

    #[test]
    fn a_control_character_in_a_name_is_refused_by_name() {
        let yaml = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: \"x\\x0fy\"\n  namespace: foo\nspec: {}\n";
        let errors = crate::import(&[("p.yaml", yaml)], &crate::ImportOptions::default())
            .expect_err("refused");
        let message = errors
            .first()
            .map(|d| d.message().to_string())
            .unwrap_or_default();
        assert!(
            message.contains("`metadata.name` `x\\u{f}y` is not a Kubernetes name"),
            "{message}"
        );
    }
}
