//! meshgate's own measures: compile time and memory per rule at 100,000 rules, allocations per
//! decision, and decisions per second with 1 and 2 threads. Run by `meshgate-bench-alloc`,
//! whose global allocator counts (so the timing runs are not slowed by counting).

use std::borrow::Cow;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::render;
use crate::runner::thousands;
use crate::workload::{Kind, Req, Workload};

/// A counting allocator's totals since the program started.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllocSnapshot {
    /// Allocation and reallocation calls.
    pub allocations: u64,
    /// Bytes currently allocated.
    pub live_bytes: i64,
}

/// One measure.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Extra {
    /// What is measured.
    pub measure: String,
    /// Workload.
    pub workload: String,
    /// Number of rules.
    pub rules: usize,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The target from the issue, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub target: Option<String>,
    /// Anything worth knowing.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// Size the measures are taken at.
pub const EXTRAS_RULES: usize = 100_000;

fn emit(e: &Extra) {
    if let Ok(line) = serde_json::to_string(e) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn extra(
    measure: &str,
    w: Kind,
    rules: usize,
    value: f64,
    unit: &str,
    target: Option<&str>,
) -> Extra {
    Extra {
        measure: measure.to_string(),
        workload: w.name().to_string(),
        rules,
        value,
        unit: unit.to_string(),
        target: target.map(str::to_string),
        note: None,
    }
}

/// Resident set size of this process, in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// Labels of `r` in the borrowed form a [`meshgate::Request`] can point at.
pub fn borrowed_labels(r: &Req) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    r.labels
        .iter()
        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
        .collect()
}

/// A request that borrows every string from `r` and `labels` (as a proxy would build it from
/// its own buffers).
pub fn borrowed_request<'a>(
    r: &'a Req,
    labels: &'a [(Cow<'a, str>, Cow<'a, str>)],
) -> meshgate::Request<'a> {
    let mut req = meshgate::Request::default();
    req.source.principal = Some(Cow::Borrowed(&r.principal));
    req.source.namespace = Some(Cow::Borrowed(&r.namespace));
    req.source.labels = meshgate::request::Pairs::borrowed(labels);
    req.destination.service = Some(Cow::Borrowed(&r.service));
    req.request.method = Some(Cow::Borrowed(&r.method));
    req.request.path = Some(Cow::Borrowed(&r.path));
    req.time = r.time.as_deref().and_then(|t| t.parse().ok());
    // The dimensions of the newer workloads (built here, outside any decision).
    req.source.ip = r.src_ip.as_deref().and_then(|ip| ip.parse().ok());
    req.destination.namespace = r.dst_namespace.as_deref().map(Cow::Borrowed);
    req.destination.labels = meshgate::request::Pairs(Cow::Owned(
        r.dst_labels
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
            .collect(),
    ));
    req.request.host = r.host.as_deref().map(Cow::Borrowed);
    if let Some(groups) = &r.groups {
        let list: Vec<meshgate::request::Value<'_>> = groups
            .iter()
            .map(|g| meshgate::request::Value::str(g))
            .collect();
        req.request.auth.claims = meshgate::request::Pairs(Cow::Owned(vec![(
            Cow::Borrowed("groups"),
            meshgate::request::Value::List(Cow::Owned(list)),
        )]));
    }
    req
}

/// Allocations of one `Engine::decide` on each request (the minimum over several rounds, so a
/// stray allocation elsewhere in the process does not count).
pub fn allocations_per_decision(
    engine: &meshgate::Engine,
    reqs: &[meshgate::Request<'_>],
    counter: &dyn Fn() -> AllocSnapshot,
) -> Vec<u64> {
    reqs.iter()
        .map(|r| {
            (0..5)
                .map(|_| {
                    let before = counter().allocations;
                    black_box(engine.decide(black_box(r)));
                    counter().allocations - before
                })
                .min()
                .unwrap_or(0)
        })
        .collect()
}

/// Decisions per second over `reqs` (round robin) with `threads` threads sharing one engine.
pub fn throughput(
    engine: &meshgate::Engine,
    reqs: &[meshgate::Request<'_>],
    threads: usize,
    time: Duration,
) -> f64 {
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut n = 0u64;
                    let mut i = t;
                    while start.elapsed() < time {
                        for _ in 0..16 {
                            if let Some(r) = reqs.get(i % reqs.len().max(1)) {
                                black_box(engine.decide(black_box(r)));
                            }
                            i += 1;
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// Runs every measure for `kinds`, printing each as a JSON line. `counter` reads the global
/// allocator. The resident-memory figure is only meaningful for the first workload of a process
/// (later ones reuse memory freed by earlier ones), so the runner measures one per process.
pub fn run(quick: bool, kinds: &[Kind], counter: &dyn Fn() -> AllocSnapshot) -> Result<(), String> {
    let n = EXTRAS_RULES;
    let thread_time = if quick {
        Duration::from_millis(700)
    } else {
        Duration::from_secs(3)
    };
    for &kind in kinds {
        let w = Workload::generate(kind, n);
        let text = render::meshgate(&w);
        let rss0 = rss_bytes();
        let mem0 = counter().live_bytes;
        let t = Instant::now();
        let set = crate::workload::load_meshgate(&text)?;
        let parsed = t.elapsed();
        let engine = meshgate::Engine::new(&set);
        let compiled = t.elapsed();
        let mem1 = counter().live_bytes;
        let rss1 = rss_bytes();
        emit(&Extra {
            note: Some(format!(
                "parse + validate {:.3} s, Engine::new {:.3} s",
                parsed.as_secs_f64(),
                (compiled - parsed).as_secs_f64()
            )),
            ..extra(
                "compile (parse + validate + Engine::new)",
                kind,
                n,
                compiled.as_secs_f64(),
                "s",
                Some("≤ 0.5 s"),
            )
        });
        emit(&extra(
            "heap per rule after compile (PolicySet + Engine)",
            kind,
            n,
            (mem1 - mem0) as f64 / n as f64,
            "B",
            None,
        ));
        emit(&extra(
            "resident memory per rule after compile (PolicySet + Engine)",
            kind,
            n,
            rss1.saturating_sub(rss0) as f64 / n as f64,
            "B",
            None,
        ));
        drop(set);
        drop(text);
        let mem2 = counter().live_bytes;
        emit(&extra(
            "heap per rule, Engine alone",
            kind,
            n,
            (mem2 - mem0) as f64 / n as f64,
            "B",
            Some("≤ 1 KiB"),
        ));

        let labels: Vec<Vec<(Cow<'_, str>, Cow<'_, str>)>> =
            w.requests.iter().map(|b| borrowed_labels(&b.req)).collect();
        let reqs: Vec<meshgate::Request<'_>> = w
            .requests
            .iter()
            .zip(&labels)
            .map(|(b, l)| borrowed_request(&b.req, l))
            .collect();
        for (b, allocs) in w
            .requests
            .iter()
            .zip(allocations_per_decision(&engine, &reqs, counter))
        {
            emit(&Extra {
                note: Some(format!("request `{}`, built from borrowed strings", b.name)),
                ..extra(
                    "allocations per decision",
                    kind,
                    n,
                    allocs as f64,
                    "",
                    Some("0"),
                )
            });
        }
        let one = throughput(&engine, &reqs, 1, thread_time);
        let two = throughput(&engine, &reqs, 2, thread_time);
        emit(&extra(
            "decisions per second, 1 thread",
            kind,
            n,
            one,
            "/s",
            None,
        ));
        emit(&Extra {
            note: Some(format!("{:.2}x one thread", two / one)),
            ..extra(
                "decisions per second, 2 threads",
                kind,
                n,
                two,
                "/s",
                Some("≥ 1.8x one thread"),
            )
        });
    }
    Ok(())
}

fn human_value(e: &Extra) -> String {
    match e.unit.as_str() {
        "s" => format!("{:.3} s", e.value),
        "B" if e.value >= 1024.0 => format!("{:.2} KiB", e.value / 1024.0),
        "B" => format!("{:.0} B", e.value),
        "/s" => format!("{} /s", thousands(e.value.round() as usize)),
        _ => format!("{}", e.value),
    }
}

/// The measures as a markdown table.
pub fn markdown(extras: &[Extra]) -> String {
    if extras.is_empty() {
        return "\nmeshgate measures: not available (the measuring run failed).\n".to_string();
    }
    let mut md = String::from(
        "\n### meshgate measures\n\n| measure | workload | rules | value | target | note |\n|---|---|---:|---:|---|---|\n",
    );
    for e in extras {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            e.measure,
            e.workload,
            thousands(e.rules),
            human_value(e),
            e.target.as_deref().unwrap_or(""),
            e.note.as_deref().unwrap_or("")
        ));
    }
    md
}
