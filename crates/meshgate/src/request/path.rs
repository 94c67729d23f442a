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
///
/// Runs on every decision, so it reads bytes: the checks (and so which reason is given when
/// several apply) come in this order: a backslash, then the `%` escapes left to right, then the
/// segments left to right.
pub fn abnormality(path: &str) -> Option<&'static str> {
    let bytes = path.as_bytes();
    if bytes.contains(&b'\\') {
        return Some("a backslash");
    }
    for (i, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'%') {
        let code = bytes
            .get(i.saturating_add(1)..i.saturating_add(3))
            .unwrap_or_default();
        let reason = match code.to_ascii_lowercase().as_slice() {
            b"2e" => "a percent-encoded `.`",
            b"2f" => "a percent-encoded `/`",
            b"5c" => "a percent-encoded `\\`",
            _ => continue,
        };
        return Some(reason);
    }
    // Segments follow each `/`; the text before the first `/` is not one, and the last may be
    // empty (a trailing `/`).
    let mut rest = {
        let i = bytes.iter().position(|&b| b == b'/')?;
        bytes.get(i.saturating_add(1)..).unwrap_or_default()
    };
    loop {
        let (segment, next) = match rest.iter().position(|&b| b == b'/') {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                Some(rest.get(i.saturating_add(1)..).unwrap_or_default()),
            ),
            None => (rest, None),
        };
        // `..;x` is `..` to servlet containers (path parameters).
        let name = segment.split(|&b| b == b';').next().unwrap_or(segment);
        if name == b"." || name == b".." {
            return Some("a `.` or `..` segment");
        }
        match next {
            Some(_) if segment.is_empty() => return Some("an empty segment (`//`)"),
            Some(next) => rest = next,
            None => return None,
        }
    }
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

    /// The straightforward reading of the rules, which the byte loop must agree with.
    fn oracle(path: &str) -> Option<&'static str> {
        if path.contains('\\') {
            return Some("a backslash");
        }
        for escape in path.split('%').skip(1) {
            let code = escape.get(..2).unwrap_or_default().to_ascii_lowercase();
            match code.as_str() {
                "2e" => return Some("a percent-encoded `.`"),
                "2f" => return Some("a percent-encoded `/`"),
                "5c" => return Some("a percent-encoded `\\`"),
                _ => {}
            }
        }
        let mut segments = path.split('/').skip(1).peekable();
        while let Some(segment) = segments.next() {
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

    proptest::proptest! {
        #[test]
        fn agrees_with_the_oracle(path in "[/.;%2eEfF5cCa\\\\é]{0,12}") {
            proptest::prop_assert_eq!(abnormality(&path), oracle(&path), "{:?}", path);
        }
    }
}
