//! Agreement: every engine must return the same decision for every request, checked before
//! anything is timed (and by the tests in `benches/tests/` at small sizes).

use crate::engines::{Casbin, Cedar, EngineKind, Meshgate, Regorus, Subject};
use crate::workload::{Req, Workload};

/// Builds each request from its JSON and decides it.
pub fn decisions<S: Subject>(subject: &mut S, jsons: &[String]) -> Result<Vec<bool>, String> {
    jsons
        .iter()
        .map(|j| {
            let req = subject.build(j)?;
            subject.decide(&req)
        })
        .collect()
}

/// Loads `engine` with the workload and decides every request.
pub fn engine_decisions(
    engine: EngineKind,
    w: &Workload,
    jsons: &[String],
) -> Result<Vec<bool>, String> {
    match engine {
        EngineKind::Meshgate => decisions(&mut Meshgate::load(w)?, jsons),
        EngineKind::Cedar => decisions(&mut Cedar::load(w)?, jsons),
        EngineKind::Regorus => decisions(&mut Regorus::load(w)?, jsons),
        EngineKind::Casbin => decisions(&mut Casbin::load(w)?, jsons),
    }
}

/// The decisions of meshgate's reference evaluator (the oracle).
pub fn reference(w: &Workload, jsons: &[String]) -> Result<Vec<bool>, String> {
    let m = Meshgate::load(w)?;
    jsons
        .iter()
        .map(|j| {
            let req = meshgate::Request::from_json(j).map_err(|e| e.to_string())?;
            Ok(m.set.decide_reference(&req).allowed)
        })
        .collect()
}

/// Compares decisions with the expected ones, describing every difference.
pub fn compare(
    engine: EngineKind,
    w: &Workload,
    reqs: &[Req],
    got: &[bool],
    want: &[bool],
) -> Result<(), String> {
    let diffs: Vec<String> = reqs
        .iter()
        .zip(got.iter().zip(want))
        .filter(|(_, (g, w))| g != w)
        .map(|(r, (g, w))| {
            format!(
                "  {} says {} where {} is expected: {}",
                engine,
                verdict(*g),
                verdict(*w),
                r.to_json()
            )
        })
        .collect();
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{engine} disagrees on {} of {} requests ({} workload, {} rules):\n{}",
            diffs.len(),
            reqs.len(),
            w.kind,
            w.rules.len(),
            diffs.join("\n")
        ))
    }
}

fn verdict(allowed: bool) -> &'static str {
    if allowed { "allow" } else { "deny" }
}

/// Checks that `engine` decides `reqs` exactly as meshgate's reference evaluator does, and that
/// the reference agrees with the abstract model.
pub fn check(engine: EngineKind, w: &Workload, reqs: &[Req]) -> Result<(), String> {
    let jsons: Vec<String> = reqs.iter().map(Req::to_json).collect();
    let want = reference(w, &jsons)?;
    let model: Vec<bool> = reqs.iter().map(|r| w.decide(r)).collect();
    compare(EngineKind::Meshgate, w, reqs, &want, &model)
        .map_err(|e| format!("the reference evaluator and the model differ: {e}"))?;
    let got = engine_decisions(engine, w, &jsons)?;
    compare(engine, w, reqs, &got, &want)
}
