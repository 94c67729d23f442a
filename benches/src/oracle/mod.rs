//! A differential oracle that shares no code with meshgate's engine: random policy sets and
//! requests in the fragment both languages express, decided by meshgate (`Engine`, and
//! `PolicySet::decide_reference`) and by Cedar (`cedar_policy::Authorizer`), which must agree
//! on `allowed`.
//!
//! - [`ast`]: the fragment (rules with `from`/`to` matchers and `when`/`unless` conditions over
//!   principals, derived namespaces and service accounts, labels, IPs, ports, methods, paths,
//!   and a JWT claim list); [`vocab`]: its small, colliding vocabularies.
//! - [`generate`]: a [`ast::Case`] from bytes ([`arbitrary::Unstructured`]): the one generator
//!   of the proptest (`benches/tests/cedar_oracle.rs`) and of the `cedar_differential` fuzz
//!   target.
//! - [`mgp`]: the case as `.mgp` text and JSON requests.
//! - [`cedar`]: the rules as Cedar policies; absence is modelled with `has` guards, so no
//!   Cedar policy ever errs. [`cedar_request`]: each request as Cedar entities and context.
//!
//! `spec/cedar.md` documents the fragment, the translation and what the oracle found.

pub mod ast;
pub mod cedar;
pub mod cedar_request;
pub mod generate;
pub mod mgp;
pub mod vocab;

use std::str::FromStr;

/// One case rendered for both engines.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The case.
    pub case: ast::Case,
    /// The `.mgp` policy.
    pub mgp: String,
    /// The Cedar policies.
    pub cedar: String,
}

/// Renders a case for both engines.
pub fn render(case: ast::Case) -> Rendered {
    Rendered {
        mgp: mgp::policy(&case.rules),
        cedar: cedar::policies(&case.rules),
        case,
    }
}

/// One request decided by both engines: `(meshgate allowed, cedar allowed)`, or a description
/// of what went wrong (a translation that does not load, an engine that disagrees with the
/// reference evaluator, a Cedar evaluation error).
pub fn decide_all(r: &Rendered) -> Result<Vec<(bool, bool)>, String> {
    let set = meshgate::PolicySet::parse(&r.mgp, "oracle.mgp")
        .map_err(|e| format!("the .mgp does not load:\n{}", e.render()))?;
    let engine = meshgate::Engine::new(&set);
    let policies = cedar_policy::PolicySet::from_str(&r.cedar)
        .map_err(|e| format!("the Cedar policies do not load: {e:?}"))?;
    let authorizer = cedar_policy::Authorizer::new();
    let mut out = Vec::new();
    for (i, req) in r.case.requests.iter().enumerate() {
        let json = mgp::request(req).to_string();
        let request = meshgate::Request::from_json(&json)
            .map_err(|e| format!("request {i} {json} does not load: {e}"))?;
        let indexed = engine.decide(&request);
        let reference = set.decide_reference(&request);
        if indexed != reference {
            return Err(format!(
                "request {i} {json}: the engine decides {indexed:?}, the reference {reference:?}"
            ));
        }
        let entities = cedar_policy::Entities::from_json_value(cedar_request::entities(req), None)
            .map_err(|e| format!("request {i}: Cedar entities: {e}"))?;
        let cedar_request = cedar_request::request(req)?;
        let response = authorizer.is_authorized(&cedar_request, &policies, &entities);
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(format!("request {i}: Cedar evaluation error: {e}"));
        }
        let cedar_allowed = response.decision() == cedar_policy::Decision::Allow;
        out.push((indexed.allowed, cedar_allowed));
    }
    Ok(out)
}

/// Builds one case from `data`, decides every request with meshgate and Cedar, and panics on
/// any disagreement (or on a translation that does not load or errs), printing the case.
pub fn check_bytes(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(case) = generate::case(&mut u) else {
        return;
    };
    check_case(case);
}

/// [`check_bytes`] on a built case.
pub fn check_case(case: ast::Case) {
    let r = render(case);
    let show = |why: &str| -> String {
        let requests: Vec<String> = r
            .case
            .requests
            .iter()
            .enumerate()
            .map(|(i, q)| {
                format!(
                    "  {i}: {}\n     cedar entities {}\n     cedar context {}",
                    mgp::request(q),
                    cedar_request::entities(q),
                    cedar_request::context(q)
                )
            })
            .collect();
        format!(
            "{why}\n--- meshgate:\n{}--- cedar:\n{}\n--- requests:\n{}",
            r.mgp,
            r.cedar,
            requests.join("\n")
        )
    };
    match decide_all(&r) {
        Err(e) => panic!("{}", show(&e)),
        Ok(decisions) => {
            for (i, (m, c)) in decisions.iter().enumerate() {
                if m != c {
                    panic!(
                        "{}",
                        show(&format!(
                            "request {i}: meshgate allowed = {m}, Cedar allowed = {c}"
                        ))
                    );
                }
            }
        }
    }
}
