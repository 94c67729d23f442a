//! `meshgate`: check and evaluate meshgate policies from the command line.
//!
//! Exit codes are part of the interface: see `meshgate --help` and each command's `--help`.

mod diff_cmd;
mod explain_cmd;
mod fmt_cmd;
mod import_cmd;
mod lint_cmd;
mod load;
mod requests;
mod serve_cmd;
mod test_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use meshgate::{Engine, PolicySet};

/// Exit code: success (policy valid, request allowed, tests passed).
const OK: u8 = 0;
/// Exit code: the policy set has errors (or tests failed, or lint found problems).
const FAILED: u8 = 1;
/// Exit code: bad usage or a bad request.
const USAGE: u8 = 2;
/// Exit code of `eval`: the request was denied.
const DENIED: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "meshgate",
    version,
    about = "Check, evaluate and serve meshgate authorization policies",
    long_about = "Check, evaluate and serve meshgate authorization policies (.mgp files).\n\n\
                  Exit codes: 0 success, 1 policy errors, 2 bad usage or bad request, \
                  3 request denied (eval)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate policy files as one policy set and print every error and warning.
    ///
    /// Exit code 0 when the set is valid (warnings allowed), 1 when it has errors.
    Check {
        /// Policy files (.mgp), loaded as one set in the order given.
        #[arg(required = true, value_name = "FILES")]
        files: Vec<PathBuf>,
        /// Output format. `json` prints {"ok": bool, "rules": N, "diagnostics": [...]}.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Decide a request (or a JSON array of requests) against a policy set and print the
    /// decision as JSON, one line per request.
    ///
    /// A request without a `time` is stamped with the current time (so time windows are
    /// evaluated against now), unless --no-clock is given, in which case it has no time and
    /// every time condition is unknown.
    ///
    /// Exit codes: 0 allowed (every request, for an array), 3 denied (any request),
    /// 1 policy errors, 2 bad request or usage.
    Eval {
        /// Policy files (.mgp), loaded as one set in the order given.
        #[arg(long, required = true, num_args = 1.., value_name = "FILES")]
        policy: Vec<PathBuf>,
        /// The request as JSON (a file, or `-` for stdin). A JSON array holds several requests.
        #[arg(long, value_name = "REQ.json")]
        request: PathBuf,
        /// Pretty-print the decision JSON.
        #[arg(long)]
        pretty: bool,
        /// Do not stamp requests that have no `time` with the current time.
        #[arg(long)]
        no_clock: bool,
    },
    /// Run policy tests: `*.test.json` files of named requests and expected decisions.
    ///
    /// PATHS are test files or directories searched recursively (default: `.`). A test file
    /// tests the policies it names in `"policies"` (relative to it), or else every `*.mgp` file
    /// in its directory. Requests in tests are never stamped with the clock.
    ///
    /// Exit code 0 when every test passes, 1 when a test fails or a test or policy file has
    /// errors, 2 when no test file is found.
    Test {
        /// Test files or directories.
        #[arg(value_name = "PATHS")]
        paths: Vec<PathBuf>,
        /// Output format (`json` prints one report with every case's decision).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Report which rules, clauses, grants and conditions the tests exercised.
        #[arg(long)]
        coverage: bool,
        /// Write coverage as an lcov tracefile to this path.
        #[arg(long, value_name = "FILE")]
        lcov: Option<PathBuf>,
    },
    /// Explain a decision: the rules that decided and, for a denial, the nearest allow rules
    /// with exactly the conditions that failed.
    ///
    /// Requests are read and stamped with the clock as by `eval`. Exit codes as for `eval`.
    Explain {
        /// Policy files (.mgp), loaded as one set in the order given.
        #[arg(long, required = true, num_args = 1.., value_name = "FILES")]
        policy: Vec<PathBuf>,
        /// The request as JSON (a file, or `-` for stdin). A JSON array holds several requests.
        #[arg(long, value_name = "REQ.json")]
        request: PathBuf,
        /// Output format (`json`: one explanation object per line).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Do not stamp requests that have no `time` with the current time.
        #[arg(long)]
        no_clock: bool,
    },
    /// Rewrite policy files in the canonical layout, keeping comments.
    ///
    /// With --check, change nothing: list the files that are not formatted and exit 1 if any.
    /// A file that does not parse is reported and left alone (exit 1).
    Fmt {
        /// Policy files (.mgp).
        #[arg(required = true, value_name = "FILES")]
        files: Vec<PathBuf>,
        /// Only check; exit 1 when some file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Warn about valid policies that probably do not do what was meant, each warning with a
    /// stable code: never-matches, empty-time-window, shadowed-by-deny, subsumed-allow,
    /// duplicate-rule, no-subject, broad-path, unused-role, deny-absent-bypass.
    ///
    /// Exit code 0 unless the set has errors (1), or has warnings and --deny-warnings is given
    /// (1).
    Lint {
        /// Policy files (.mgp), loaded as one set in the order given.
        #[arg(required = true, value_name = "FILES")]
        files: Vec<PathBuf>,
        /// Output format (`json`: {"ok": bool, "warnings": N, "diagnostics": [...]}).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 1 when there is any warning (for CI).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Show how the decisions of a policy set change from OLD to NEW: every region of requests
    /// that decides differently, with an example request and both decisions, or "no
    /// behavioural change".
    ///
    /// OLD and NEW are each a policy file or a directory of `*.mgp` files. The regions are
    /// computed from the classes of values the policies name, not by sampling.
    ///
    /// Exit codes: 0 no request changes between allowed and denied (deciding rules may change),
    /// 3 some request does, 1 policy errors, 2 bad usage.
    Diff {
        /// The old version.
        old: PathBuf,
        /// The new version.
        new: PathBuf,
        /// Output format (`json` lists every region).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// In text, also list every region with its conditions and example.
        #[arg(long)]
        regions: bool,
    },
    /// Convert policies of another system into meshgate policy text.
    #[command(subcommand)]
    Import(import_cmd::Source),
    /// Run the authorization server: Envoy ext_authz (gRPC and HTTP) and forward auth for
    /// nginx, Caddy and Traefik, with /metrics, /healthz and /readyz.
    ///
    /// Checks are decided against the policy files, which are reloaded when they change (a
    /// version that does not load is reported and the last good one keeps serving). Every error
    /// denies: until a policy loads every check is answered 503. The bound addresses are printed
    /// on standard error. SIGTERM or SIGINT stops accepting, lets checks in progress finish and
    /// exits 0.
    ///
    /// Exit codes: 0 stopped by a signal, 1 a listener failed, 2 bad usage (an address that
    /// cannot be bound, a decision log that cannot be opened).
    Serve(Box<serve_cmd::Options>),
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people.
    Text,
    /// For machines.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Import(source) => import_cmd::run(source),
        Command::Serve(options) => serve_cmd::run(*options),
        Command::Check { files, format } => check(&files, format),
        Command::Eval {
            policy,
            request,
            pretty,
            no_clock,
        } => eval(&policy, &request, pretty, no_clock),
        Command::Test {
            paths,
            format,
            coverage,
            lcov,
        } => test_cmd::run(&test_cmd::Options {
            paths,
            format,
            coverage,
            lcov,
        }),
        Command::Explain {
            policy,
            request,
            format,
            no_clock,
        } => explain_cmd::run(&policy, &request, format, no_clock),
        Command::Fmt { files, check } => fmt_cmd::run(&files, check),
        Command::Lint {
            files,
            format,
            deny_warnings,
        } => lint_cmd::run(&files, format, deny_warnings),
        Command::Diff {
            old,
            new,
            format,
            regions,
        } => diff_cmd::run(&old, &new, format, regions),
    };
    ExitCode::from(code)
}

fn print_json<T: serde::Serialize + ?Sized>(value: &T, pretty: bool) {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    println!("{}", text.unwrap_or_else(|_| "null".to_string()));
}

fn check(files: &[PathBuf], format: Format) -> u8 {
    let (ok, rules, roles, diagnostics) = match load::policies(files) {
        Ok(set) => (
            true,
            set.rules().len(),
            set.roles().len(),
            set.warnings().to_vec(),
        ),
        Err(ds) => (false, 0, 0, ds),
    };
    match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Report {
                ok: bool,
                rules: usize,
                diagnostics: Vec<meshgate::diagnostic::DiagnosticJson>,
            }
            print_json(
                &Report {
                    ok,
                    rules,
                    diagnostics: load::to_json(&diagnostics),
                },
                true,
            );
        }
        Format::Text => {
            let colour = load::use_colour(true);
            print!("{}", load::render_all(&diagnostics, colour));
            if !diagnostics.is_empty() {
                println!();
            }
            let counts = load::count_summary(&diagnostics);
            let in_files = load::plural(files.len(), "file");
            if ok {
                println!(
                    "ok: {}, {} in {in_files} ({counts})",
                    load::plural(rules, "rule"),
                    load::plural(roles, "role")
                );
            } else {
                println!("error: {counts} in {in_files}");
            }
        }
    }
    if ok { OK } else { FAILED }
}

fn eval(policy: &[PathBuf], request: &std::path::Path, pretty: bool, no_clock: bool) -> u8 {
    let set: PolicySet = match load::policies(policy) {
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
    let engine = Engine::new(&set);
    let mut all_allowed = true;
    for r in &reqs {
        let decision = engine.decide(r);
        all_allowed &= decision.allowed;
        print_json(&decision, pretty);
    }
    if all_allowed { OK } else { DENIED }
}
