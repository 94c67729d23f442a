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
use crate::workload::Workload;

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
        let resource = uid(&self.service, str_field(&v, &["destination", "service"]));
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
}

/// The `attrs` value of a casbin request (`r.attrs.labels.KEY`, `r.attrs.hour`).
#[derive(Clone, Debug, Serialize, Hash)]
pub struct CasbinAttrs {
    /// Source labels.
    pub labels: BTreeMap<String, String>,
    /// UTC hour of the request's time, -1 without a time.
    pub hour: i32,
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
            Ok(Casbin { enforcer })
        })
    }
}

impl Subject for Casbin {
    type Req = CasbinReq;
    fn build(&self, json: &str) -> Result<Self::Req, String> {
        let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let labels = field(&v, &["source", "labels"])
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
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
            attrs: CasbinAttrs { labels, hour },
        })
    }
    fn decide(&mut self, r: &Self::Req) -> Result<bool, String> {
        use casbin::CoreApi;
        self.enforcer
            .enforce((&r.sub, &r.dom, &r.svc, &r.obj, &r.act, &r.attrs))
            .map_err(|e| format!("casbin: {e}"))
    }
}
