//! `meshgate diff`: what changes in behaviour between two versions of a policy set.

use std::path::{Path, PathBuf};

use meshgate_tools::diff::diff;

use crate::{DENIED, FAILED, Format, OK, USAGE, load};

/// A version: one `.mgp` file, or a directory whose `*.mgp` files form the set (sorted).
fn files_of(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read `{}`: {}", path.display(), load::io_reason(&e)))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "mgp"))
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(format!("no `*.mgp` file in `{}`", path.display()));
    }
    Ok(out)
}

pub fn run(old: &Path, new: &Path, format: Format, regions: bool) -> u8 {
    let mut sets = Vec::new();
    for path in [old, new] {
        let files = match files_of(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return USAGE;
            }
        };
        match load::policies(&files) {
            Ok(set) => sets.push(set),
            Err(ds) => {
                load::report_policy_errors(&ds);
                return FAILED;
            }
        }
    }
    #[expect(
        clippy::indexing_slicing,
        reason = "both files loaded above, or it returned"
    )]
    let [a, b] = [&sets[0], &sets[1]];
    let report = diff(a, b);
    match format {
        Format::Json => crate::print_json(&report, true),
        Format::Text => {
            print!("{}", report.to_text());
            if regions && !report.decision_changes.is_empty() {
                println!();
                print!("{}", report.regions_text());
            }
        }
    }
    if report.changes_decisions { DENIED } else { OK }
}
