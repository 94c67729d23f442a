//! `meshgate test`: run policy test files, optionally with coverage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use meshgate::PolicySet;
use meshgate::tools::coverage::{Coverage, CoverageReport};
use meshgate::tools::testing::{self, SuiteReport, TestSuite, files};
use serde::Serialize;

use crate::{FAILED, Format, OK, USAGE, load};

/// A test file or policy set that could not be used.
#[derive(Serialize)]
struct FileError {
    file: String,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<meshgate::diagnostic::DiagnosticJson>,
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    passed: usize,
    failed: usize,
    suites: Vec<SuiteReport>,
    errors: Vec<FileError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<CoverageReport>,
}

/// Options of `meshgate test`.
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub coverage: bool,
    pub lcov: Option<PathBuf>,
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

pub fn run(opts: &Options) -> u8 {
    let paths = if opts.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        opts.paths.clone()
    };
    let test_files = match files::discover(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "error: cannot search for test files: {}",
                load::io_reason(&e)
            );
            return USAGE;
        }
    };
    if test_files.is_empty() {
        let where_ = paths
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ");
        eprintln!(
            "error: no test files (`*{}`) found in {where_}",
            files::SUFFIX
        );
        return USAGE;
    }
    let mut sets: BTreeMap<Vec<PathBuf>, Result<PolicySet, Vec<meshgate::Diagnostic>>> =
        BTreeMap::new();
    let mut coverage = (opts.coverage || opts.lcov.is_some()).then(Coverage::new);
    let mut suites = Vec::new();
    let mut errors = Vec::new();
    let text = opts.format == Format::Text;
    let colour = load::use_colour(true);
    for file in &test_files {
        let name = display(file);
        let suite = match std::fs::read_to_string(file) {
            Err(e) => Err(format!("cannot read `{name}`: {}", load::io_reason(&e))),
            Ok(json) => {
                TestSuite::from_json(&json, &name).map_err(|e| format!("invalid test file {e}"))
            }
        };
        let suite = match suite {
            Ok(s) => s,
            Err(message) => {
                if text {
                    println!("error: {message}\n");
                }
                errors.push(FileError {
                    file: name,
                    message,
                    diagnostics: Vec::new(),
                });
                continue;
            }
        };
        let policies = match files::policies_for(file, &suite) {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => {
                let message = format!(
                    "no policy files for `{name}`: it names none and its directory has no `*.mgp` file"
                );
                if text {
                    println!("error: {message}\n");
                }
                errors.push(FileError {
                    file: name,
                    message,
                    diagnostics: Vec::new(),
                });
                continue;
            }
            Err(e) => {
                let message = format!(
                    "cannot list the policies next to `{name}`: {}",
                    load::io_reason(&e)
                );
                if text {
                    println!("error: {message}\n");
                }
                errors.push(FileError {
                    file: name,
                    message,
                    diagnostics: Vec::new(),
                });
                continue;
            }
        };
        let set = sets
            .entry(policies.clone())
            .or_insert_with(|| load::policies(&policies));
        let set = match set {
            Ok(set) => set,
            Err(ds) => {
                let names: Vec<String> = policies
                    .iter()
                    .map(|p| format!("`{}`", p.display()))
                    .collect();
                let message = format!(
                    "the policies of `{name}` ({}) have {}",
                    names.join(", "),
                    load::count_summary(ds)
                );
                if text {
                    print!("{}", load::render_all(ds, colour));
                    println!("error: {message}\n");
                }
                errors.push(FileError {
                    file: name,
                    message,
                    diagnostics: load::to_json(ds),
                });
                continue;
            }
        };
        if let Some(cov) = coverage.as_mut() {
            cov.add_set(set);
        }
        let report = testing::run(set, &suite, coverage.as_mut());
        if text {
            print_suite(&report);
        }
        suites.push(report);
    }
    let passed: usize = suites.iter().map(|s| s.passed).sum();
    let failed: usize = suites.iter().map(|s| s.failed).sum();
    let ok = failed == 0 && errors.is_empty();
    let coverage = coverage.map(|c| c.report());
    if let (Some(path), Some(report)) = (&opts.lcov, &coverage) {
        if let Err(e) = std::fs::write(path, report.to_lcov()) {
            eprintln!(
                "error: cannot write `{}`: {}",
                path.display(),
                load::io_reason(&e)
            );
            return USAGE;
        }
    }
    match opts.format {
        Format::Json => {
            let report = Report {
                ok,
                passed,
                failed,
                suites,
                errors,
                coverage: coverage.filter(|_| opts.coverage),
            };
            crate::print_json(&report, true);
        }
        Format::Text => {
            print_failures(&suites);
            let status = if ok { "ok" } else { "FAILED" };
            let errs = if errors.is_empty() {
                String::new()
            } else {
                format!("; {}", load::plural(errors.len(), "file error"))
            };
            println!("test result: {status}. {passed} passed; {failed} failed{errs}");
            if let Some(c) = coverage.filter(|_| opts.coverage) {
                println!();
                print!("{}", c.to_text());
            }
        }
    }
    if ok { OK } else { FAILED }
}

fn print_suite(r: &SuiteReport) {
    let policies = r.policies.join(", ");
    println!(
        "running {} from {} (policies: {policies})",
        load::plural(r.cases.len(), "test"),
        r.file
    );
    for c in &r.cases {
        println!(
            "test {} ... {}",
            c.name,
            if c.passed { "ok" } else { "FAILED" }
        );
    }
    println!();
}

fn print_failures(suites: &[SuiteReport]) {
    let failed: Vec<(&SuiteReport, &testing::CaseReport)> = suites
        .iter()
        .flat_map(|s| s.cases.iter().filter(|c| !c.passed).map(move |c| (s, c)))
        .collect();
    if failed.is_empty() {
        return;
    }
    println!("failures:\n");
    for (s, c) in &failed {
        println!("---- {} ({}) ----", c.name, s.file);
        for f in &c.failures {
            println!("{f}");
        }
        println!("decision: {}\n", c.decision);
    }
    println!("failures:");
    for (s, c) in &failed {
        println!("    {} ({})", c.name, s.file);
    }
    println!();
}
