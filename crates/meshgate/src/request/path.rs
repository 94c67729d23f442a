//! Request paths that cannot be decided safely.
//!
//! A policy matches the path as the proxy saw it, but the workload resolves it: `/api/../admin`
//! matches an allow on `/api/**` and is served as `/admin`. Authorization on such paths has
//! been bypassed in every mesh that matched them raw (Istio's advisories on path
//! normalization), so meshgate does not guess a normalization the workload might not share:
//! a path with a dot segment, an empty segment (`//`), a backslash, or a percent-encoded `.`,
//! `/` or `\` is not evaluated, and the request is denied with an error. Proxies normalize paths
//! before authorization (Envoy's `normalize_path` and `merge_slashes`, which the Envoy filter
//! relies on), so a normal request never meets this.

/// Why `path` (query and fragment already removed) cannot be decided, or `None` when it can.
pub fn abnormality(path: &str) -> Option<&'static str> {
    if path.contains('\\') {
        return Some("a backslash");
    }
    // One pass over the `%`s (most paths have none); what follows each is its escape.
    for escape in path.split('%').skip(1) {
        let code = escape.get(..2).unwrap_or_default();
        if code.eq_ignore_ascii_case("2e") {
            return Some("a percent-encoded `.`");
        }
        if code.eq_ignore_ascii_case("2f") {
            return Some("a percent-encoded `/`");
        }
        if code.eq_ignore_ascii_case("5c") {
            return Some("a percent-encoded `\\`");
        }
    }
    // The first segment is before the leading `/`; the last may be empty (a trailing `/`).
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        // `..;x` is `..` to servlet containers (path parameters).
        let name = segment.split(';').next().unwrap_or(segment);
        if name == "." || name == ".." {
            return Some("a `.` or `..` segment");
        }
        if segment.is_empty() && segments.peek().is_some() {
            return Some("an empty segment (`//`)");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::abnormality;

    #[test]
    fn normal_paths_pass() {
        for p in [
            "/",
            "/api",
            "/api/",
            "/api/v1/x",
            "/a.b/c..d/.e",
            "/%20x",
            "*",
            "",
            "x",
        ] {
            assert_eq!(abnormality(p), None, "{p}");
        }
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for p in [
            "/api/../admin",
            "/api/..",
            "/./api",
            "/api/..;/admin",
            "//admin",
            "/api//x",
            "/api\\..\\admin",
            "/api/%2e%2e/admin",
            "/api/%2E./admin",
            "/admin%2Fx",
            "/admin%5cx",
        ] {
            assert!(abnormality(p).is_some(), "{p}");
        }
    }
}
