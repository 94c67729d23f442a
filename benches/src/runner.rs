//! `meshgate-bench`: runs every configuration (workload × size × engine) in its own child
//! process with a time limit, collects the rows, writes `target/bench/summary.json`,
//! `target/bench/summary.md` and `target/bench/meshgate.json`, and prints the tables.
//!
//! ```text
//! meshgate-bench run [--quick] [--out DIR]      # everything (what `cargo xtask bench` runs)
//! meshgate-bench one ENGINE WORKLOAD RULES [--quick]   # one configuration, rows as JSON lines
//! meshgate-bench render ENGINE WORKLOAD RULES   # print a translation
//! ```
//!
//! A child that fails to load its rules, runs out of time or dies leaves rows with a `note`
//! instead of figures; a child whose engine disagrees with the required decisions fails the
//! whole run (after the summary is written).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engines::{Casbin, Cedar, EngineKind, Meshgate, Regorus, Subject, supports};
use crate::measure::{Budget, human_ns, measure};
use crate::workload::{Kind, Workload};

/// One line of `summary.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// The workload's name (`mesh`, `flat`, `rbac`, `labels`, …).
    pub workload: String,
    /// Number of rules.
    pub rules: usize,
    /// `meshgate`, `cedar`, `regorus` or `casbin`.
    pub engine: String,
    /// `last`, `none`, `deny` (request object held), the same with `+json` (built from the
    /// shared JSON request each time), or `load` (parsing and compiling the rules, once).
    pub request: String,
    /// Median time per decision (or the load time), when measured.
    pub median_ns: Option<f64>,
    /// 99th percentile, when measured.
    pub p99_ns: Option<f64>,
    /// Samples behind the figures.
    pub samples: usize,
    /// Why there are no figures, or anything else worth knowing.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// Rows each configuration produces, in order.
pub const REQUESTS: [&str; 7] = [
    "load",
    "last",
    "last+json",
    "none",
    "none+json",
    "deny",
    "deny+json",
];

/// The time limit per configuration.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Sizes of a full run.
pub const SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];

/// In `--quick`, a peer runs at 100,000 rules only when its median for `last` at 10,000 rules
/// is at most this (about a second per decision at 100,000: a few seconds per figure with
/// the quick run's three samples, inside the time limit).
pub const QUICK_PEER_100K_MAX_NS: f64 = 100e6;

const EXIT_DISAGREE: i32 = 3;

/// Entry point of the binary.
pub fn main_with_args(args: &[String]) -> i32 {
    let quick = args.iter().any(|a| a == "--quick");
    let positional: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let result = match positional.as_slice() {
        ["run", ..] => {
            let out = flag_value(args, "--out")
                .map(PathBuf::from)
                .unwrap_or_else(default_out);
            run(quick, &out)
        }
        ["render", engine, workload, rules] => {
            let (Some(engine), Some(kind), Ok(n)) = (
                EngineKind::parse(engine),
                Kind::parse(workload),
                rules.parse::<usize>(),
            ) else {
                eprintln!("meshgate-bench render: unknown engine, workload or size");
                return 2;
            };
            print!("{}", render_text(engine, &Workload::generate(kind, n)));
            return 0;
        }
        ["one", engine, workload, rules] => {
            let (Some(engine), Some(kind), Ok(n)) = (
                EngineKind::parse(engine),
                Kind::parse(workload),
                rules.parse::<usize>(),
            ) else {
                eprintln!("meshgate-bench one: unknown engine, workload or size");
                return 2;
            };
            return one(
                engine,
                kind,
                n,
                if quick { Budget::QUICK } else { Budget::FULL },
            );
        }
        _ => {
            eprintln!(
                "usage: meshgate-bench run [--quick] [--out DIR] | meshgate-bench one ENGINE WORKLOAD RULES [--quick]"
            );
            return 2;
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("meshgate-bench: {e}");
            1
        }
    }
}

/// A workload's translation for `engine`, as text (for reading, and for the README).
pub fn render_text(engine: EngineKind, w: &Workload) -> String {
    use crate::render;
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    match engine {
        EngineKind::Meshgate => render::meshgate(w),
        EngineKind::Cedar => {
            let c = render::cedar(w);
            format!("{}\n// entities\n{}\n", c.policies, pretty(&c.entities))
        }
        EngineKind::Regorus => format!(
            "{}\n# data\n{}\n",
            render::rego_policy(w),
            pretty(&render::rego_data(w))
        ),
        EngineKind::Casbin => {
            let c = render::casbin(w);
            let lines: Vec<String> = c
                .policies
                .iter()
                .map(|p| format!("p, {}", p.join(", ")))
                .chain(c.groupings.iter().map(|g| format!("g, {}", g.join(", "))))
                .collect();
            format!("{}\n# policy\n{}\n", c.model, lines.join("\n"))
        }
    }
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn default_out() -> PathBuf {
    // target/<profile>/meshgate-bench → target/bench
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().and_then(Path::parent).map(|t| t.join("bench")))
        .unwrap_or_else(|| PathBuf::from("target/bench"))
}

// ---------------------------------------------------------------------------------------------
// One configuration (child process)

fn emit(row: &Row) {
    if let Ok(line) = serde_json::to_string(row) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn row(w: &Workload, n: usize, engine: EngineKind, request: &str) -> Row {
    Row {
        workload: w.kind.name().to_string(),
        rules: n,
        engine: engine.name().to_string(),
        request: request.to_string(),
        median_ns: None,
        p99_ns: None,
        samples: 0,
        note: None,
    }
}

fn one(engine: EngineKind, kind: Kind, n: usize, budget: Budget) -> i32 {
    let w = Workload::generate(kind, n);
    if let Err(why) = supports(engine, kind) {
        for r in REQUESTS {
            emit(&Row {
                note: Some(why.to_string()),
                ..row(&w, n, engine, r)
            });
        }
        return 0;
    }
    let start = Instant::now();
    let loaded = match engine {
        EngineKind::Meshgate => {
            Meshgate::load(&w).map(|s| time_subject(s, engine, &w, n, start, budget))
        }
        EngineKind::Cedar => Cedar::load(&w).map(|s| time_subject(s, engine, &w, n, start, budget)),
        EngineKind::Regorus => {
            Regorus::load(&w).map(|s| time_subject(s, engine, &w, n, start, budget))
        }
        EngineKind::Casbin => {
            Casbin::load(&w).map(|s| time_subject(s, engine, &w, n, start, budget))
        }
    };
    match loaded {
        Ok(Ok(())) => 0,
        Ok(Err(disagreement)) => {
            eprintln!("{disagreement}");
            EXIT_DISAGREE
        }
        Err(e) => {
            let first = e
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect::<String>();
            for r in REQUESTS {
                emit(&Row {
                    note: Some(format!("failed to load: {first}")),
                    ..row(&w, n, engine, r)
                });
            }
            0
        }
    }
}

/// Checks agreement, then times every request. `Err` is a disagreement.
fn time_subject<S: Subject>(
    mut s: S,
    engine: EngineKind,
    w: &Workload,
    n: usize,
    start: Instant,
    budget: Budget,
) -> Result<(), String> {
    let load_ns = start.elapsed().as_nanos() as f64;
    emit(&Row {
        median_ns: Some(load_ns),
        p99_ns: Some(load_ns),
        samples: 1,
        ..row(w, n, engine, "load")
    });

    // Agreement first: every benchmark request must get the decision the model requires.
    let mut held = Vec::new();
    let mut slowest = Duration::ZERO;
    for br in &w.requests {
        let json = br.req.to_json();
        let t = Instant::now();
        let got = s.build(&json).and_then(|r| {
            let d = s.decide(&r);
            held.push(r);
            d
        });
        slowest = slowest.max(t.elapsed());
        match got {
            Ok(allowed) if allowed == br.allowed => {}
            Ok(allowed) => {
                return Err(format!(
                    "{engine} disagrees ({} workload, {n} rules, request `{}`): says {} where {} is required: {json}",
                    w.kind,
                    br.name,
                    if allowed { "allow" } else { "deny" },
                    if br.allowed { "allow" } else { "deny" }
                ));
            }
            Err(e) => {
                return Err(format!(
                    "{engine} failed to decide ({} workload, {n} rules, request `{}`): {e}",
                    w.kind, br.name
                ));
            }
        }
    }

    for (br, req) in w.requests.iter().zip(&held) {
        let json = br.req.to_json();
        for with_json in [false, true] {
            let name = if with_json {
                format!("{}+json", br.name)
            } else {
                br.name.to_string()
            };
            // Warm-up, calibration and the minimum samples, at the slowest call seen so far.
            let predicted = slowest * (budget.min_samples as u32 + 3);
            if start.elapsed() + predicted.min(budget.time + predicted) > LIMIT {
                emit(&Row {
                    note: Some(format!(
                        "not measured: over the {} s limit per configuration",
                        LIMIT.as_secs()
                    )),
                    ..row(w, n, engine, &name)
                });
                continue;
            }
            let stats = if with_json {
                measure(
                    || {
                        let r = s.build(&json)?;
                        s.decide(&r)
                    },
                    budget,
                )
            } else {
                measure(|| s.decide(req), budget)
            };
            slowest = slowest.max(Duration::from_nanos(stats.median_ns as u64));
            emit(&Row {
                median_ns: Some(stats.median_ns),
                p99_ns: Some(stats.p99_ns),
                samples: stats.samples,
                ..row(w, n, engine, &name)
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The whole run (parent process)

struct Child {
    lines: Vec<String>,
    status: Result<i32, String>,
    stderr: String,
}

fn run_child(cmd: &mut Command, limit: Duration) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Child {
                lines: Vec::new(),
                status: Err(format!("cannot start: {e}")),
                stderr: String::new(),
            };
        }
    };
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let err_reader = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
            s
        })
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Ok(st.code().unwrap_or(-1)),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("killed after {} s", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => break Err(format!("wait failed: {e}")),
        }
    };
    // The reader thread ends when the child's stdout closes (it has exited or been killed).
    let lines = rx.iter().collect();
    let stderr = err_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    Child {
        lines,
        status,
        stderr,
    }
}

fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn run(quick: bool, out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let load_before = load_average();
    let mut rows: Vec<Row> = Vec::new();
    let mut disagreements = Vec::new();
    for kind in Kind::ALL {
        // Engines that failed or ran out of time at a smaller size are not run at larger ones.
        let mut stopped: BTreeMap<EngineKind, String> = BTreeMap::new();
        for n in SIZES {
            for engine in EngineKind::ALL {
                let skip = if let Err(why) = supports(engine, kind) {
                    Some(why.to_string())
                } else if let Some(why) = stopped.get(&engine) {
                    Some(why.clone())
                } else if quick && n == 100_000 && engine != EngineKind::Meshgate {
                    let at_10k = rows
                        .iter()
                        .find(|r| {
                            r.workload == kind.name()
                                && r.rules == 10_000
                                && r.engine == engine.name()
                                && r.request == "last"
                        })
                        .and_then(|r| r.median_ns);
                    match at_10k {
                        Some(ns) if ns <= QUICK_PEER_100K_MAX_NS => None,
                        Some(ns) => Some(format!(
                            "skipped in --quick: {} per decision at 10,000 rules",
                            human_ns(ns)
                        )),
                        None => Some("skipped in --quick".to_string()),
                    }
                } else {
                    None
                };
                if let Some(why) = skip {
                    for r in REQUESTS {
                        rows.push(Row {
                            workload: kind.name().to_string(),
                            rules: n,
                            engine: engine.name().to_string(),
                            request: r.to_string(),
                            median_ns: None,
                            p99_ns: None,
                            samples: 0,
                            note: Some(why.clone()),
                        });
                    }
                    continue;
                }
                eprint!("{kind:>5} {n:>7} rules  {engine:<9}");
                let _ = std::io::stderr().flush();
                let t = Instant::now();
                let mut cmd = Command::new(&me);
                cmd.args(["one", engine.name(), kind.name(), &n.to_string()]);
                if quick {
                    cmd.arg("--quick");
                }
                let child = run_child(&mut cmd, LIMIT + Duration::from_secs(30));
                let mut got: Vec<Row> = child.parse();
                let failure = match &child.status {
                    Ok(0) => None,
                    Ok(code) if *code == EXIT_DISAGREE => {
                        disagreements.push(child.stderr.trim().to_string());
                        Some(
                            "DISAGREES with the required decisions (see the run's error)"
                                .to_string(),
                        )
                    }
                    Ok(code) => Some(format!(
                        "crashed (exit {code}): {}",
                        last_line(&child.stderr)
                    )),
                    Err(e) => Some(e.clone()),
                };
                for r in REQUESTS {
                    if !got.iter().any(|x| x.request == r) {
                        got.push(Row {
                            workload: kind.name().to_string(),
                            rules: n,
                            engine: engine.name().to_string(),
                            request: r.to_string(),
                            median_ns: None,
                            p99_ns: None,
                            samples: 0,
                            note: Some(
                                failure
                                    .clone()
                                    .unwrap_or_else(|| "no figure reported".to_string()),
                            ),
                        });
                    }
                }
                let last = got.iter().find(|r| r.request == "last");
                match last.and_then(|r| r.median_ns) {
                    Some(ns) => eprintln!(
                        " last: {:>10}  ({:.1} s)",
                        human_ns(ns),
                        t.elapsed().as_secs_f64()
                    ),
                    None => eprintln!(" {}", last.and_then(|r| r.note.clone()).unwrap_or_default()),
                }
                // Anything unmeasured (a failure, the time limit) only gets worse with more rules.
                if let Some(note) = got
                    .iter()
                    .find(|r| r.median_ns.is_none())
                    .and_then(|r| r.note.clone())
                {
                    stopped.insert(
                        engine,
                        format!("not run: stopped at {} rules ({note})", thousands(n)),
                    );
                }
                rows.extend(got);
            }
        }
    }

    eprintln!("meshgate extras (compile time, memory, allocations, threads)");
    let mut extras: Vec<crate::extras::Extra> = Vec::new();
    for kind in Kind::ALL {
        let mut cmd = Command::new(sibling("meshgate-bench-alloc"));
        cmd.args(["extras", kind.name()]);
        if quick {
            cmd.arg("--quick");
        }
        let child = run_child(&mut cmd, Duration::from_secs(300));
        extras.extend(child.parse::<crate::extras::Extra>());
        if child.status != Ok(0) {
            eprintln!(
                "extras ({kind}) failed: {:?} {}",
                child.status,
                last_line(&child.stderr)
            );
        }
    }

    let json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
    write(&out.join("summary.json"), &json)?;
    let extras_json = serde_json::to_string_pretty(&extras).map_err(|e| e.to_string())?;
    write(&out.join("meshgate.json"), &extras_json)?;
    let load = format!(
        "load average {load_before} at the start, {} at the end",
        load_average()
    );
    let md = markdown(&rows, &extras, quick, started.elapsed(), &load);
    write(&out.join("summary.md"), &md)?;
    println!("{md}");
    eprintln!(
        "wrote {}, {} and {}",
        out.join("summary.json").display(),
        out.join("summary.md").display(),
        out.join("meshgate.json").display()
    );
    if disagreements.is_empty() {
        Ok(())
    } else {
        Err(format!("engines disagree:\n{}", disagreements.join("\n")))
    }
}

impl Child {
    /// The JSON lines the child printed.
    fn parse<T: for<'de> Deserialize<'de>>(&self) -> Vec<T> {
        self.lines
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `100000` → `100,000`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The 1, 5 and 15 minute load averages (other work on the machine skews every figure).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!(", {:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores{mem}, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The markdown report: one table per workload (medians, ratio to meshgate), notes, and the
/// meshgate measures.
pub fn markdown(
    rows: &[Row],
    extras: &[crate::extras::Extra],
    quick: bool,
    took: Duration,
    load: &str,
) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "Benchmark ({}), {}; {load}; took {:.0} s. Median per decision (ratio to meshgate); `+json` includes building the engine's request from the shared JSON request; `load` is parsing and compiling the rules once.\n",
        if quick { "`cargo xtask bench --quick`" } else { "`cargo xtask bench`" },
        machine(),
        took.as_secs_f64()
    ));
    let mut notes: Vec<String> = Vec::new();
    for kind in Kind::ALL {
        md.push_str(&format!("\n### {kind}\n\n| rules | request |"));
        for e in EngineKind::ALL {
            md.push_str(&format!(" {e} |"));
        }
        md.push_str("\n|---:|---|");
        for _ in EngineKind::ALL {
            md.push_str("---:|");
        }
        md.push('\n');
        for n in SIZES {
            if !rows
                .iter()
                .any(|r| r.workload == kind.name() && r.rules == n)
            {
                continue;
            }
            for req in REQUESTS {
                let get = |e: EngineKind| {
                    rows.iter().find(|r| {
                        r.workload == kind.name()
                            && r.rules == n
                            && r.engine == e.name()
                            && r.request == req
                    })
                };
                let base = get(EngineKind::Meshgate).and_then(|r| r.median_ns);
                md.push_str(&format!("| {} | {req} |", thousands(n)));
                for e in EngineKind::ALL {
                    let cell = match get(e) {
                        Some(Row {
                            median_ns: Some(ns),
                            ..
                        }) => match base {
                            Some(b) if e != EngineKind::Meshgate && b > 0.0 => {
                                format!("{} ({})", human_ns(*ns), ratio(*ns / b))
                            }
                            _ => human_ns(*ns),
                        },
                        Some(Row {
                            note: Some(note), ..
                        }) => {
                            let i = match notes.iter().position(|x| x == note) {
                                Some(i) => i,
                                None => {
                                    notes.push(note.clone());
                                    notes.len() - 1
                                }
                            };
                            format!("— [{}]", i + 1)
                        }
                        _ => "—".to_string(),
                    };
                    md.push_str(&format!(" {cell} |"));
                }
                md.push('\n');
            }
        }
    }
    if !notes.is_empty() {
        md.push_str("\nNotes:\n");
        for (i, n) in notes.iter().enumerate() {
            md.push_str(&format!("{}. {n}\n", i + 1));
        }
    }
    md.push_str(&crate::extras::markdown(extras));
    md
}

fn ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{}x", thousands(r.round() as usize))
    } else if r >= 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.1}x")
    }
}
