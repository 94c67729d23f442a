//! `meshgate test`: run policy test files, optionally with coverage. The running is the
//! tools crate's (`meshgate_tools::testing::run_paths_with`); this prints it.

use std::path::PathBuf;

use meshgate_tools::testing::{self, FileEvent, RunError, SuiteReport};

use crate::{FAILED, Format, OK, USAGE, load};

/// Options of `meshgate test`.
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub coverage: bool,
    pub lcov: Option<PathBuf>,
}

pub fn run(opts: &Options) -> u8 {
    let text = opts.format == Format::Text;
    let colour = load::use_colour(true);
    // Each file is printed as soon as it has run.
    let mut print_file = |event: FileEvent<'_>| {
        if !text {
            return;
        }
        match event {
            FileEvent::Suite(report) => print_suite(report),
            FileEvent::Error(e) => {
                if !e.diagnostics.is_empty() {
                    print!("{}", load::render_all(&e.diagnostics, colour));
                }
                println!("error: {}\n", e.message);
            }
        }
    };
    let collect = opts.coverage || opts.lcov.is_some();
    let report = testing::run_paths_with(
        &opts.paths,
        collect,
        &mut |paths| load::policies(paths),
        &mut print_file,
    );
    let mut report = match report {
        Ok(r) => r,
        // A missing path is worded as the search's I/O error.
        Err(RunError::Missing(_)) => {
            eprintln!("error: cannot search for test files: no such file or directory");
            return USAGE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return USAGE;
        }
    };
    if let (Some(path), Some(coverage)) = (&opts.lcov, &report.coverage)
        && let Err(e) = std::fs::write(path, coverage.to_lcov())
    {
        eprintln!(
            "error: cannot write `{}`: {}",
            path.display(),
            load::io_reason(&e)
        );
        return USAGE;
    }
    if !opts.coverage {
        // Collected only for `--lcov`.
        report.coverage = None;
    }
    match opts.format {
        Format::Json => crate::print_json(&report, true),
        Format::Text => {
            print_failures(&report.suites);
            let status = if report.ok { "ok" } else { "FAILED" };
            let errs = if report.errors.is_empty() {
                String::new()
            } else {
                format!("; {}", load::plural(report.errors.len(), "file error"))
            };
            println!(
                "test result: {status}. {} passed; {} failed{errs}",
                report.passed, report.failed
            );
            if let Some(c) = &report.coverage {
                println!();
                print!("{}", c.to_text());
            }
        }
    }
    if report.ok { OK } else { FAILED }
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
