//! `meshgate explain`: why a request gets its decision.

use std::path::{Path, PathBuf};

use meshgate_tools::explain::explain;

use crate::{DENIED, FAILED, Format, OK, load, requests};

pub fn run(policy: &[PathBuf], request: &Path, format: Format, no_clock: bool) -> u8 {
    let set = match load::policies(policy) {
        Ok(set) => set,
        Err(ds) => {
            load::report_policy_errors(&ds);
            return FAILED;
        }
    };
    load::report_warnings(&set);
    let reqs = match requests::load(request, no_clock) {
        Ok(reqs) => reqs,
        Err(code) => return code,
    };
    let mut all_allowed = true;
    for (i, r) in reqs.iter().enumerate() {
        let e = explain(&set, r);
        all_allowed &= e.allowed;
        match format {
            Format::Json => crate::print_json(&e, false),
            Format::Text => {
                if i > 0 {
                    println!();
                }
                print!("{}", e.to_text());
            }
        }
    }
    if all_allowed { OK } else { DENIED }
}
