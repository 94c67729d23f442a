//! The typed AuthorizationPolicy model and the checks of its shape.
//!
//! Every field the importer reads is checked here: unknown fields, wrong types, values Istio
//! itself refuses (empty strings, bad IPs or ports, `when` keys that do not exist) and features
//! meshgate does not have (`CUSTOM`, `provider`, `targetRef(s)`) are errors naming the resource and
//! the field path. Documents of other kinds are skipped with a warning.

use meshgate::{Diagnostic, Span};

use crate::error::{Ctx, codes};
use crate::yaml::{Entry, Kind, Node};

mod reader;

use reader::Reader;

/// `spec.action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `ALLOW` (the default).
    Allow,
    /// `DENY`.
    Deny,
    /// `AUDIT`.
    Audit,
}

impl Action {
    /// As Istio writes it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "ALLOW",
            Action::Deny => "DENY",
            Action::Audit => "AUDIT",
        }
    }
}

/// One AuthorizationPolicy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Where diagnostics about it point.
    pub ctx: Ctx,
    /// The whole document (for messages about the resource).
    pub span: Span,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.action`.
    pub action: Action,
    /// `metadata.annotations["istio.io/dry-run"]` is true.
    pub dry_run: bool,
    /// `spec.selector.matchLabels`, in source order; `None` when there is no selector.
    pub selector: Option<Vec<(String, String)>>,
    /// `spec.rules`.
    pub rules: Vec<Rule>,
}

impl Policy {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// One entry of `spec.rules`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Where it is.
    pub span: Span,
    /// `from[*].source`: any one must hold.
    pub from: Vec<Clause>,
    /// `to[*].operation`: any one must hold.
    pub to: Vec<Clause>,
    /// `when`: every one must hold (each may give `values` and `notValues`: two fields).
    pub when: Vec<Field>,
}

/// One `source` or `operation`: every field must hold.
#[derive(Clone, Debug)]
pub struct Clause {
    /// Where it is.
    pub span: Span,
    /// The fields given.
    pub fields: Vec<Field>,
}

/// One list-valued field, e.g. `notPaths`, or the `values` of one `when` condition.
#[derive(Clone, Debug)]
pub struct Field {
    /// What the field tests.
    pub key: Key,
    /// `not*` field or `notValues`.
    pub negated: bool,
    /// The values (non-empty).
    pub values: Vec<Value>,
    /// The field path, e.g. `spec.rules[0].from[1].source.notPrincipals`.
    pub path: String,
    /// Where it is.
    pub span: Span,
}

/// One string of a field.
#[derive(Clone, Debug)]
pub struct Value {
    /// The text.
    pub text: String,
    /// Where it is.
    pub span: Span,
    /// The path of the value, e.g. `spec.rules[0].to[0].operation.paths[2]`.
    pub path: String,
}

/// What a field or `when` key tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// `principals`, `when: source.principal`.
    Principals,
    /// `requestPrincipals`, `when: request.auth.principal`.
    RequestPrincipals,
    /// `namespaces`, `when: source.namespace`.
    Namespaces,
    /// `ipBlocks`, `when: source.ip`.
    IpBlocks,
    /// `remoteIpBlocks`, `when: remote.ip`.
    RemoteIpBlocks,
    /// `serviceAccounts`, `when: source.serviceAccount`.
    ServiceAccounts,
    /// `trustDomains`.
    TrustDomains,
    /// `hosts`.
    Hosts,
    /// `ports`, `when: destination.port`.
    Ports,
    /// `methods`.
    Methods,
    /// `paths`.
    Paths,
    /// `when: request.headers[NAME]`.
    Header(String),
    /// `when: request.auth.audiences`.
    Audiences,
    /// `when: request.auth.presenter`.
    Presenter,
    /// `when: request.auth.claims[A][B]…`.
    Claims(Vec<String>),
    /// `when: destination.ip`.
    DestIp,
    /// `when: connection.sni`.
    Sni,
}

impl Key {
    /// Whether Istio treats the field as HTTP-only: on a TCP connection an ALLOW rule using it
    /// never matches and a DENY or AUDIT rule ignores it (`model.Generate` with `forTCP`).
    pub fn http_only(&self) -> bool {
        matches!(
            self,
            Key::RequestPrincipals
                | Key::Hosts
                | Key::Methods
                | Key::Paths
                | Key::Header(_)
                | Key::Audiences
                | Key::Presenter
                | Key::Claims(_)
        )
    }
}

/// What reading the documents of one source gave.
pub struct Loaded {
    /// The policies.
    pub policies: Vec<Policy>,
    /// Errors.
    pub errors: Vec<Diagnostic>,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
}

/// Reads every AuthorizationPolicy in `docs` (also inside `kind: List`).
pub fn read(ctx: &Ctx, docs: &[Node]) -> Loaded {
    let mut out = Loaded {
        policies: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for doc in docs {
        read_document(ctx, doc, &mut out, "");
    }
    out
}

fn read_document(ctx: &Ctx, doc: &Node, out: &mut Loaded, prefix: &str) {
    let entries = match &doc.kind {
        Kind::Null => return,
        Kind::Map(entries) => entries,
        _ => {
            out.errors.push(ctx.error(
                codes::SHAPE,
                doc.span,
                format!(
                    "expected a Kubernetes resource (a mapping), found {}",
                    doc.type_name()
                ),
            ));
            return;
        }
    };
    let kind = find(entries, "kind").and_then(|n| as_str(&n.value));
    match kind {
        Some("AuthorizationPolicy") => {
            let mut r = Reader::new(ctx, &mut out.errors);
            if let Some(p) = r.policy(doc, entries, prefix) {
                out.policies.push(p);
            }
        }
        Some("List") | Some("AuthorizationPolicyList") => {
            match find(entries, "items").map(|e| &e.value) {
                Some(Node {
                    kind: Kind::Seq(items),
                    ..
                }) => {
                    for (i, item) in items.iter().enumerate() {
                        read_document(ctx, item, out, &format!("{prefix}items[{i}]."));
                    }
                }
                Some(other) => out.errors.push(ctx.error(
                    codes::SHAPE,
                    other.span,
                    format!(
                        "`{prefix}items` must be a list, found {}",
                        other.type_name()
                    ),
                )),
                None => {}
            }
        }
        Some(other) => out.warnings.push(ctx.warning(
            codes::SKIPPED,
            doc.span,
            format!("skipped a `{other}`: only AuthorizationPolicy resources are imported"),
        )),
        None => out.errors.push(
            ctx.error(codes::SHAPE, doc.span, "a resource without `kind`")
                .with_help("expected `kind: AuthorizationPolicy` (or a `kind: List` of them)"),
        ),
    }
}

fn find<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.key == key)
}

fn as_str(node: &Node) -> Option<&str> {
    match &node.kind {
        Kind::Str(s) => Some(s),
        _ => None,
    }
}
