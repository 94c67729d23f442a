//! `meshgate import istio`: Istio AuthorizationPolicy YAML → meshgate policy text.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Subcommand;

use crate::{FAILED, OK, USAGE};

/// What to import.
#[derive(Subcommand, Debug)]
pub enum Source {
    /// Convert Istio AuthorizationPolicy resources (YAML files with one or more documents, or
    /// the `kind: List` of `kubectl get authorizationpolicies -A -o yaml`) into one meshgate
    /// policy that decides as Istio does (spec/istio.md).
    ///
    /// Every generated rule has a comment naming its source (`namespace/name`, rule index,
    /// file and line). Warnings go to stderr. CUSTOM, `provider`, `targetRef(s)` and other
    /// unsupported input are errors naming the resource and the field.
    ///
    /// Exit codes: 0 converted, 1 errors in the input, 2 bad usage or unreadable files.
    Istio {
        /// YAML files, read in the order given (`-` for stdin).
        #[arg(required = true, value_name = "FILES")]
        files: Vec<PathBuf>,
        /// Write the policy to FILE instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Istio's root namespace (`meshConfig.rootNamespace`): its policies apply mesh-wide.
        #[arg(long, value_name = "NS", default_value = "istio-system")]
        root_namespace: String,
        /// The mesh's trust domain (`meshConfig.trustDomain`). A principal `cluster.local/…` in
        /// a policy stands for it and its aliases, as in Istio.
        #[arg(long, value_name = "TD", default_value = "cluster.local")]
        trust_domain: String,
        /// A trust domain alias (`meshConfig.trustDomainAliases`; repeat for several):
        /// principals and trust domains naming one trust domain of the mesh match them all.
        #[arg(long = "trust-domain-alias", value_name = "TD")]
        trust_domain_aliases: Vec<String>,
    },
}

pub fn run(source: Source) -> u8 {
    let Source::Istio {
        files,
        output,
        root_namespace,
        trust_domain,
        trust_domain_aliases,
    } = source;
    let options = meshgate_istio::ImportOptions {
        root_namespace,
        trust_domain,
        trust_domain_aliases,
    };
    if let Err(e) = options.validate() {
        eprintln!("error: {e}");
        return USAGE;
    }
    let mut sources = Vec::new();
    for f in &files {
        let text = if f.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(f)
        };
        match text {
            Ok(t) => sources.push((f.display().to_string(), t)),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", f.display());
                return USAGE;
            }
        }
    }
    match meshgate_istio::import(&sources, &options) {
        Ok(imported) => {
            for w in &imported.warnings {
                eprint!("{}", w.render());
            }
            let written = match &output {
                Some(path) => std::fs::write(path, &imported.policy),
                None => std::io::stdout().write_all(imported.policy.as_bytes()),
            };
            if let Err(e) = written {
                eprintln!("error: cannot write the policy: {e}");
                return USAGE;
            }
            OK
        }
        Err(errors) => {
            for e in &errors {
                eprint!("{}", e.render());
            }
            eprintln!("{} error(s); nothing written", errors.len());
            FAILED
        }
    }
}
