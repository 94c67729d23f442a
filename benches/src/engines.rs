//! The four engines behind one interface: load a [`Workload`] (translated by
//! [`crate::render`]), build the engine's own request object from the shared JSON request, and
//! decide.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::render;
use crate::workload::{Kind, Workload};

/// Which engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EngineKind {
    /// meshgate's `Engine`.
    Meshgate,
    /// cedar-policy's `Authorizer`.
    Cedar,
    /// regorus (Rego).
    Regorus,
    /// casbin-rs.
    Casbin,
}

impl EngineKind {
    /// Every engine, meshgate first.
    pub const ALL: [EngineKind; 4] = [
        EngineKind::Meshgate,
        EngineKind::Cedar,
        EngineKind::Regorus,
        EngineKind::Casbin,
    ];

    /// The engine's name.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Meshgate => "meshgate",
            EngineKind::Cedar => "cedar",
            EngineKind::Regorus => "regorus",
            EngineKind::Casbin => "casbin",
        }
    }

    /// The engine with this name.
    pub fn parse(name: &str) -> Option<EngineKind> {
        EngineKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `engine` runs workload `kind`: `Err` says why its language cannot express the
/// workload exactly (the runner then leaves a note instead of figures, and the agreement tests
/// skip it). `benches/README.md` explains each case.
pub fn supports(engine: EngineKind, kind: Kind) -> Result<(), &'static str> {
    match (engine, kind) {
        (EngineKind::Casbin, Kind::Istio) => Err(
            "skipped: casbin cannot express Istio's `default allow` (allowed when no allow line's selection could apply to the workload): its effect only sees the lines the matcher matched",
        ),
        _ => Ok(()),
    }
}

/// An engine loaded with a workload.
pub trait Subject {
    /// The engine's own request object, as its users would hold it.
    type Req;
    /// Builds the request object from the shared JSON request shape.
    fn build(&self, json: &str) -> Result<Self::Req, String>;
    /// Decides: `true` is allow.
    fn decide(&mut self, req: &Self::Req) -> Result<bool, String>;
}

fn field<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn str_field(v: &Value, path: &[&str]) -> String {
    field(v, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------------------------------------

/// meshgate: parse + validate the `.mgp` text, compile an `Engine`.
pub struct Meshgate {
    /// The compiled engine.
    pub engine: meshgate::Engine,
    /// The validated set (kept for the reference evaluator in tests).
    pub set: meshgate::PolicySet,
}

impl Meshgate {
    /// Loads the workload.
    pub fn load(w: &Workload) -> Result<Meshgate, String> {
        let text = render::meshgate(w);
        let set = crate::workload::load_meshgate(&text)?;
        let engine = meshgate::Engine::new(&set);
        Ok(Meshgate { engine, set })
    }
}

impl Subject for Meshgate {
    type Req = meshgate::Request<'static>;
    fn build(&self, json: &str) -> Result<Self::Req, String> {
        meshgate::Request::from_json(json).map_err(|e| e.to_string())
    }
    fn decide(&mut self, req: &Self::Req) -> Result<bool, String> {
        Ok(self.engine.decide(req).allowed)
    }
}

// ---------------------------------------------------------------------------------------------

/// cedar-policy: policies parsed into a `PolicySet`, entities for role membership.
pub struct Cedar {
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    authorizer: cedar_policy::Authorizer,
    workload: cedar_policy::EntityTypeName,
    service: cedar_policy::EntityTypeName,
    action: cedar_policy::EntityTypeName,
    dest: cedar_policy::EntityTypeName,
    needs: render::Needs,
}

impl Cedar {
    /// Loads the workload.
    pub fn load(w: &Workload) -> Result<Cedar, String> {
        let text = render::cedar(w);
        let policies = cedar_policy::PolicySet::from_str(&text.policies)
            .map_err(|e| format!("cedar policies: {e}"))?;
        let entities = cedar_policy::Entities::from_json_value(text.entities, None)
            .map_err(|e| format!("cedar entities: {e}"))?;
        let ty = |s: &str| {
            cedar_policy::EntityTypeName::from_str(s).map_err(|e| format!("cedar type {s}: {e}"))
        };
        Ok(Cedar {
            policies,
            entities,
            authorizer: cedar_policy::Authorizer::new(),
            workload: ty("Workload")?,
            service: ty("Service")?,
            action: ty("Action")?,
            dest: ty("Dest")?,
            needs: render::Needs::of(w),
        })
    }
}

impl Subject for Cedar {
    type Req = cedar_policy::Request;
    fn build(&self, json: &str) -> Result<Self::Req, String> {
        let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let uid = |ty: &cedar_policy::EntityTypeName, id: String| {
            cedar_policy::EntityUid::from_type_name_and_id(
                ty.clone(),
                cedar_policy::EntityId::new(id),
            )
        };
        let principal = uid(&self.workload, str_field(&v, &["source", "principal"]));
        let action = uid(&self.action, str_field(&v, &["request", "method"]));
        let needs = self.needs;
        let dst_labels = field(&v, &["destination", "labels"]).and_then(Value::as_object);
        let dst_namespace = field(&v, &["destination", "namespace"]).and_then(Value::as_str);
        let resource = if needs.dest_key {
            uid(
                &self.dest,
                render::cedar_dest_key(dst_namespace, dst_labels),
            )
        } else {
            uid(&self.service, str_field(&v, &["destination", "service"]))
        };
        let mut ctx = serde_json::Map::new();
        ctx.insert(
            "source_namespace".into(),
            Value::String(str_field(&v, &["source", "namespace"])),
        );
        ctx.insert(
            "path".into(),
            Value::String(str_field(&v, &["request", "path"])),
        );
        ctx.insert(
            "labels".into(),
            field(&v, &["source", "labels"])
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default())),
        );
        if needs.principal {
            ctx.insert(
                "principal".into(),
                Value::String(str_field(&v, &["source", "principal"])),
            );
        }
        if needs.destination {
            ctx.insert(
                "dst_namespace".into(),
                Value::String(dst_namespace.unwrap_or_default().to_string()),
            );
            ctx.insert(
                "dst_labels".into(),
                Value::Object(dst_labels.cloned().unwrap_or_default()),
            );
        }
        if let Some(ip) = field(&v, &["source", "ip"]).and_then(Value::as_str)
            && needs.src_ip
        {
            ctx.insert(
                "source_ip".into(),
                serde_json::json!({"__extn": {"fn": "ip", "arg": ip}}),
            );
        }
        if let Some(g) = field(&v, &["request", "auth", "claims", "groups"])
            && needs.groups
        {
            // A claim is a list of strings or one string (spec §6.5).
            let set = match g {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            ctx.insert("groups".into(), Value::Array(set));
        }
        if let Some(h) = field(&v, &["request", "host"]).and_then(Value::as_str)
            && needs.host
        {
            // meshgate ignores the host's case (no port in these requests).
            ctx.insert("host".into(), Value::String(h.to_ascii_lowercase()));
        }
        if let Some(t) = v.get("time").and_then(Value::as_str) {
            ctx.insert(
                "time".into(),
                serde_json::json!({"__extn": {"fn": "datetime", "arg": t}}),
            );
        }
        let context = cedar_policy::Context::from_json_value(Value::Object(ctx), None)
            .map_err(|e| e.to_string())?;
        cedar_policy::Request::new(principal, action, resource, context, None)
            .map_err(|e| e.to_string())
    }
    fn decide(&mut self, req: &Self::Req) -> Result<bool, String> {
        let response = self
            .authorizer
            .is_authorized(req, &self.policies, &self.entities);
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(format!("cedar evaluation error: {e}"));
        }
        Ok(response.decision() == cedar_policy::Decision::Allow)
    }
}

// ---------------------------------------------------------------------------------------------

/// regorus: the fixed Rego policy with the rules as data.
pub struct Regorus {
    engine: regorus::Engine,
    rule: String,
}

impl Regorus {
    /// Loads the workload.
    pub fn load(w: &Workload) -> Result<Regorus, String> {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("meshgate.rego".to_string(), render::rego_policy(w))
            .map_err(|e| format!("rego policy: {e}"))?;
        engine
            .add_data(regorus::Value::from(render::rego_data(w)))
            .map_err(|e| format!("rego data: {e}"))?;
        let mut r = Regorus {
            engine,
            rule: render::REGO_ENTRYPOINT.to_string(),
        };
        // Let the engine do its one-time preparation outside the timed loop.
        r.engine.set_input(regorus::Value::new_object());
        r.engine
            .eval_rule(r.rule.clone())
            .map_err(|e| format!("rego: {e}"))?;
        Ok(r)
    }
}

impl Subject for Regorus {
    type Req = regorus::Value;
    fn build(&self, json: &str) -> Result<Self::Req, String> {
        regorus::Value::from_json_str(json).map_err(|e| e.to_string())
    }
    fn decide(&mut self, req: &Self::Req) -> Result<bool, String> {
        // `Value` is reference-counted: this clone copies a pointer.
        self.engine.set_input(req.clone());
        let v = self
            .engine
            .eval_rule(self.rule.clone())
            .map_err(|e| format!("rego: {e}"))?;
        v.as_bool()
            .copied()
            .map_err(|e| format!("rego: `allow` is not a boolean: {e}"))
    }
}

// ---------------------------------------------------------------------------------------------

/// casbin: the model text and policy lines added through the management API.
pub struct Casbin {
    enforcer: casbin::Enforcer,
    needs: render::Needs,
}

/// The `attrs` value of a casbin request (`r.attrs.labels.KEY`, `r.attrs.hour`).
#[derive(Clone, Debug, Serialize, Hash)]
pub struct CasbinAttrs {
    /// Source labels.
    pub labels: BTreeMap<String, String>,
    /// UTC hour of the request's time, -1 without a time.
    pub hour: i32,
    /// Destination labels (only when the workload's rules read them, like the fields below).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dlabels: Option<BTreeMap<String, String>>,
    /// Destination namespace, `""` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<String>,
    /// Source IP, `""` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// JWT `groups` claim, empty when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Host, lower-cased (meshgate ignores its case), `""` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A casbin request: `r = sub, dom, svc, obj, act, attrs`.
#[derive(Clone, Debug)]
pub struct CasbinReq {
    /// Principal.
    pub sub: String,
    /// Source namespace.
    pub dom: String,
    /// Destination service.
    pub svc: String,
    /// Path.
    pub obj: String,
    /// Method.
    pub act: String,
    /// Labels and hour.
    pub attrs: CasbinAttrs,
}

/// Runs a future that needs no reactor (casbin's in-memory adapter) to completion on this
/// thread.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

impl Casbin {
    /// Loads the workload.
    pub fn load(w: &Workload) -> Result<Casbin, String> {
        use casbin::{CoreApi, MgmtApi};
        let text = render::casbin(w);
        block_on(async {
            let model = casbin::DefaultModel::from_str(&text.model)
                .await
                .map_err(|e| format!("casbin model: {e}"))?;
            let mut enforcer = casbin::Enforcer::new(model, casbin::MemoryAdapter::default())
                .await
                .map_err(|e| format!("casbin: {e}"))?;
            if !text.policies.is_empty() {
                enforcer
                    .add_policies(text.policies)
                    .await
                    .map_err(|e| format!("casbin policies: {e}"))?;
            }
            if !text.groupings.is_empty() {
                enforcer
                    .add_grouping_policies(text.groupings)
                    .await
                    .map_err(|e| format!("casbin groupings: {e}"))?;
            }
            Ok(Casbin {
                enforcer,
                needs: render::Needs::of(w),
            })
        })
    }
}

impl Subject for Casbin {
    type Req = CasbinReq;
    fn build(&self, json: &str) -> Result<Self::Req, String> {
        let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let pairs = |path: &[&str]| -> BTreeMap<String, String> {
            field(&v, path)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let labels = pairs(&["source", "labels"]);
        let needs = self.needs;
        let when = |need: bool, path: &[&str]| need.then(|| str_field(&v, path));
        // casbin has no time type: the request carries the UTC hour, read off RFC 3339.
        let hour = v
            .get("time")
            .and_then(Value::as_str)
            .and_then(|t| t.get(11..13))
            .and_then(|h| h.parse().ok())
            .unwrap_or(-1);
        Ok(CasbinReq {
            sub: str_field(&v, &["source", "principal"]),
            dom: str_field(&v, &["source", "namespace"]),
            svc: str_field(&v, &["destination", "service"]),
            obj: str_field(&v, &["request", "path"]),
            act: str_field(&v, &["request", "method"]),
            attrs: CasbinAttrs {
                labels,
                hour,
                dlabels: needs.destination.then(|| pairs(&["destination", "labels"])),
                dns: when(needs.destination, &["destination", "namespace"]),
                ip: when(needs.src_ip, &["source", "ip"]),
                groups: needs.groups.then(|| {
                    match field(&v, &["request", "auth", "claims", "groups"]) {
                        Some(Value::Array(a)) => a
                            .iter()
                            .filter_map(|g| g.as_str().map(str::to_string))
                            .collect(),
                        Some(Value::String(g)) => vec![g.clone()],
                        _ => Vec::new(),
                    }
                }),
                host: when(needs.host, &["request", "host"]).map(|h| h.to_ascii_lowercase()),
            },
        })
    }
    fn decide(&mut self, r: &Self::Req) -> Result<bool, String> {
        use casbin::CoreApi;
        self.enforcer
            .enforce((&r.sub, &r.dom, &r.svc, &r.obj, &r.act, &r.attrs))
            .map_err(|e| format!("casbin: {e}"))
    }
}
