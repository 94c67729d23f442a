//! The conformance corpus through the filter: every case whose request can be expressed as
//! Envoy attributes is sent through the `.wasm` in the proxy-wasm host, and the decision the
//! filter logs (its decision-log line carries the decision's JSON shape) must equal the case's
//! `expect`, lists in order and error messages exactly. The local response must agree: a
//! denied request is answered with 403, an allowed one continues.
//!
//! Cases that cannot be expressed are listed with the reason (see
//! `meshgate_envoy_host_tests::conformance`).

use std::collections::BTreeMap;

use meshgate_envoy_host_tests::Plugin;
use meshgate_envoy_host_tests::conformance::{self, decision_of, expected, to_envoy};

#[test]
fn the_conformance_corpus_through_the_filter() {
    let dirs = conformance::load();
    assert!(!dirs.is_empty(), "no conformance cases found");
    let mut ran = 0usize;
    let mut skipped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut total = 0usize;
    for dir in &dirs {
        let policy = dir.text();
        let mut plugin = Plugin::start(&dir.configuration());
        for case in &dir.cases {
            total += 1;
            let name = format!(
                "{}/{}",
                dir.name,
                case.get("name").and_then(|n| n.as_str()).unwrap_or("?")
            );
            let request = case.get("request").cloned().unwrap_or_default();
            let expressed = match to_envoy(&request, &policy) {
                Ok(e) => e,
                Err(reason) => {
                    skipped.entry(reason).or_default().push(name);
                    continue;
                }
            };
            plugin.set_time(expressed.time);
            plugin.clear_logs();
            let reply = plugin.request(&expressed.request);
            let want = expected(case.get("expect").unwrap_or(&serde_json::Value::Null));
            let decisions = plugin.decisions();
            let [line] = decisions.as_slice() else {
                failures.push(format!("{name}: {} decision-log lines", decisions.len()));
                continue;
            };
            let got = decision_of(line);
            if got != want {
                failures.push(format!("{name}:\n  expected {want}\n  got      {got}"));
                continue;
            }
            let allowed = want.get("allowed").and_then(|a| a.as_bool()) == Some(true);
            let consistent = if allowed {
                reply.continued()
            } else {
                reply.status() == Some(403)
            };
            if !consistent {
                failures.push(format!(
                    "{name}: allowed={allowed} but the reply was {reply:?}"
                ));
            }
            ran += 1;
        }
    }
    let skipped_count: usize = skipped.values().map(Vec::len).sum();
    eprintln!(
        "conformance through the filter: {ran} of {total} cases ran, {skipped_count} skipped"
    );
    for (reason, cases) in &skipped {
        eprintln!(
            "  skipped ({}): {reason}: {}",
            cases.len(),
            cases.join(", ")
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(ran + skipped_count, total);
    // Most of the corpus is expressible; a drop means the mapping or the harness regressed.
    assert!(ran * 4 >= total * 3, "only {ran} of {total} cases ran");
}
