//! `meshgate lint`: warnings about valid policies that probably do not mean what they say.

use std::path::PathBuf;

use meshgate_tools::lint::lint;
use serde::Serialize;

use crate::{FAILED, Format, OK, load};

#[derive(Serialize)]
struct Report {
    ok: bool,
    warnings: usize,
    diagnostics: Vec<meshgate::diagnostic::DiagnosticJson>,
}

pub fn run(files: &[PathBuf], format: Format, deny_warnings: bool) -> u8 {
    let (loaded, diagnostics) = match load::policies(files) {
        Ok(set) => {
            let mut ds = set.warnings().to_vec();
            ds.extend(lint(&set));
            ds.sort_by_key(|d| (d.span().file, d.span().start));
            (true, ds)
        }
        Err(ds) => (false, ds),
    };
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity() == meshgate::Severity::Warning)
        .count();
    let ok = loaded && !(deny_warnings && warnings > 0);
    match format {
        Format::Json => {
            let report = Report {
                ok,
                warnings,
                diagnostics: load::to_json(&diagnostics),
            };
            crate::print_json(&report, true);
        }
        Format::Text => {
            print!("{}", load::render_all(&diagnostics, load::use_colour(true)));
            if !diagnostics.is_empty() {
                println!();
            }
            let in_files = load::plural(files.len(), "file");
            if !loaded {
                println!("error: {} in {in_files}", load::count_summary(&diagnostics));
            } else if warnings == 0 {
                println!("ok: no warnings in {in_files}");
            } else if deny_warnings {
                println!(
                    "error: {} in {in_files} (denied by --deny-warnings)",
                    load::plural(warnings, "warning")
                );
            } else {
                println!("{} in {in_files}", load::plural(warnings, "warning"));
            }
        }
    }
    if ok { OK } else { FAILED }
}
