//! `meshgate fmt`: the canonical layout, in place or as a check.

use std::path::PathBuf;

use meshgate_tools::fmt::format_source;

use crate::{FAILED, OK, load};

pub fn run(files: &[PathBuf], check: bool) -> u8 {
    let mut code = OK;
    let colour = load::use_colour(false);
    for path in files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error[io]: cannot read `{name}`: {}", load::io_reason(&e));
                code = FAILED;
                continue;
            }
        };
        let formatted = match format_source(&text, &name) {
            Ok(f) => f,
            Err(ds) => {
                eprint!("{}", load::render_all(&ds.0, colour));
                eprintln!("error: cannot format `{name}`: it does not parse");
                code = FAILED;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if check {
            println!("{name}: not formatted");
            print!("{}", first_difference(&text, &formatted));
            code = FAILED;
        } else if let Err(e) = std::fs::write(path, &formatted) {
            eprintln!("error[io]: cannot write `{name}`: {}", load::io_reason(&e));
            code = FAILED;
        } else {
            println!("formatted {name}");
        }
    }
    code
}

/// The first line that differs, before and after, to show what `--check` objects to.
fn first_difference(old: &str, new: &str) -> String {
    let (mut a, mut b) = (old.lines(), new.lines());
    let mut line = 1usize;
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => line = line.saturating_add(1),
            (x, y) => {
                return format!(
                    "  line {line}:\n  - {}\n  + {}\n",
                    x.unwrap_or("(end of file)"),
                    y.unwrap_or("(end of file)")
                );
            }
        }
    }
}
