//! Istio's value matching, expressed with meshgate patterns.
//!
//! Istio (`pilot/pkg/security/authz/matcher`) reads a value `v` of a string field as:
//! `*` → present and non-empty (regex `.+`; for headers, hosts and methods Envoy's
//! `present_match`, which also holds for an empty value); `*abc` → suffix `abc`; `abc*` → prefix
//! `abc`; anything else → exact. Only a leading or a trailing `*` is a wildcard: a `*` elsewhere is
//! a literal character, which a meshgate glob cannot hold, so such values are refused.
//!
//! meshgate's `*` stops at `/` (spec/language.md §8) while Istio's prefix and suffix do not, so:
//!
//! - prefix `abc` → the globs `abc*` and `abc*/**`. Every string starting with `abc` either has
//!   no `/` after `abc` (first glob) or has one, at whose first occurrence the second glob's `/`
//!   lines up (`*` takes the text up to it, `/**` the rest). Conversely both globs only match
//!   strings starting with `abc`. Exact.
//! - suffix `abc` → the glob `**/*abc`. Let `s` end with `abc`, and let `abc`'s first segment
//!   (up to its first `/`, or all of it) start inside some segment of `s`: the leading `**/`
//!   takes the segments of `s` before that one (or nothing), `*` the part of that segment
//!   before `abc`, and the rest of `abc` lines up literally. Conversely the glob only matches
//!   strings ending with `abc`. Exact.
//!
//! Path templates (`{*}`, `{**}`; Envoy's `uri_template` matcher, which Istio uses when a path
//! contains either) are handled by [`path_template`].

use std::net::IpAddr;

use ipnet::IpNet;

/// One Istio string value, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IstioString {
    /// `*`.
    Present,
    /// `abc*`: the prefix (not empty).
    Prefix(String),
    /// `*abc`: the suffix (not empty).
    Suffix(String),
    /// No wildcard.
    Exact(String),
}

/// Classifies `v` as Istio does; refuses a `*` that Istio would read literally.
pub fn istio_string(v: &str) -> Result<IstioString, String> {
    let m = if v == "*" {
        IstioString::Present
    } else if let Some(s) = v.strip_prefix('*') {
        IstioString::Suffix(s.to_string())
    } else if let Some(p) = v.strip_suffix('*') {
        IstioString::Prefix(p.to_string())
    } else {
        IstioString::Exact(v.to_string())
    };
    let rest = match &m {
        IstioString::Present => "",
        IstioString::Prefix(s) | IstioString::Suffix(s) | IstioString::Exact(s) => s,
    };
    if rest.contains('*') {
        return Err(format!(
            "`{v}` has a `*` that Istio matches literally (only a leading or trailing `*` is a wildcard), and a meshgate pattern cannot hold a literal `*`"
        ));
    }
    Ok(m)
}

/// One meshgate pattern standing for one Istio value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pat {
    /// An exact string (holds no `*`).
    Exact(String),
    /// A glob.
    Glob(String),
    /// Present (and, with `Presence::NonEmpty`, not empty).
    Present,
    /// Matches `glob` and none of `exclude` (globs or exact strings): path templates whose
    /// `{*}` must not be empty or whose middle `{**}` must not be zero segments.
    Excluding {
        /// What must match.
        glob: String,
        /// What must not.
        exclude: Vec<String>,
    },
}

/// Istio's prefix/suffix/exact value → meshgate patterns; `fixed` is prepended to the value
/// (Istio's `spiffe://` for principals) except for `*`, which Istio leaves unprefixed.
pub fn patterns(m: &IstioString, fixed: &str) -> Vec<Pat> {
    match m {
        IstioString::Present => vec![Pat::Present],
        IstioString::Exact(s) => vec![Pat::Exact(format!("{fixed}{s}"))],
        IstioString::Prefix(p) => vec![
            Pat::Glob(format!("{fixed}{p}*")),
            Pat::Glob(format!("{fixed}{p}*/**")),
        ],
        // `fixed` is empty or ends with `/` (`spiffe://`), so `**` stays a whole segment.
        IstioString::Suffix(s) => vec![Pat::Glob(format!("{fixed}**/*{s}"))],
    }
}

/// A service account `ns/sa` or `sa` (in the policy's namespace) → the globs that Istio's regex
/// `spiffe://.+/ns/NS/(.+/|)sa/SA(/.+)?` stands for (`serviceAccountRegex`). The globs also accept
/// an empty trust domain and a trailing `/` after the account, which the regex does not; both
/// are malformed SPIFFE ids that Istio's CA never issues.
pub fn service_account(v: &str, policy_namespace: &str) -> Result<Vec<Pat>, String> {
    let (ns, sa) = v.split_once('/').unwrap_or((policy_namespace, v));
    if ns.is_empty() || sa.is_empty() || sa.contains('/') || v.contains('*') {
        return Err(format!(
            "`{v}` is not a service account: write `NAMESPACE/NAME` or `NAME` without wildcards"
        ));
    }
    Ok(vec![
        Pat::Glob(format!("spiffe://**/ns/{ns}/**/sa/{sa}")),
        Pat::Glob(format!("spiffe://**/ns/{ns}/**/sa/{sa}/**")),
    ])
}

/// Whether `v` is a path template for Istio (it contains `{*}` or `{**}`).
pub fn is_path_template(v: &str) -> bool {
    v.contains("{*}") || v.contains("{**}")
}

/// A path template → a glob plus exclusions, exactly.
///
/// Envoy's `uri_template` (Istio replaces `{*}` by `*` and `{**}` by `**`): `*` matches one or
/// more characters of one segment, `**` zero or more characters including `/`, and must be the
/// last operator. We accept `{**}` only as a whole segment and at most one `{*}` per segment, so
/// every operator sits in a fixed segment counted from the start, and a path that matches has
/// exactly one way to match. Then:
///
/// - `{*}` → `*`, which also matches an empty run; the exclusion is the glob with that `*`
///   removed. It is listed only when the removal leaves no empty segment (`//`), because meshgate
///   denies such paths before any rule anyway (§6.3), which leaves a `{*}` sharing its segment
///   with text, and a `{*}` as the whole last segment (`/a/{*}` must not match `/a/`).
/// - `{**}` as the last segment → `/**`, the same set (`/a/{**}` matches `/a/` but not `/a`).
/// - `{**}` before other segments → `/**/`, which also matches a single `/`: the exclusion is the
///   glob without that segment (`/a/{**}/b` must not match `/a/b`). The exclusion has fewer
///   segments than any path the template matches, so it removes nothing else.
///
/// Envoy's `*` and `**` match only RFC 3986 `pchar`s; a path with other raw characters (space,
/// `"`, `<`, `{`…) is not matched by Envoy but is by the glob.
pub fn path_template(v: &str) -> Result<Pat, String> {
    enum Seg {
        Text(String),
        Star { before: String, after: String },
        DoubleStar,
    }
    let mut segs = Vec::new();
    let mut seen_double = false;
    for part in v.split('/') {
        let seg = if part == "{**}" {
            if seen_double {
                return Err(format!(
                    "`{v}` has two `{{**}}`: Envoy allows `{{**}}` only as the last operator"
                ));
            }
            seen_double = true;
            Seg::DoubleStar
        } else if part.contains("{**}") {
            return Err(format!(
                "`{v}`: a `{{**}}` that shares its segment with other text cannot be written as a meshgate glob"
            ));
        } else if let Some((before, after)) = part.split_once("{*}") {
            if seen_double {
                return Err(format!(
                    "`{v}` has `{{*}}` after `{{**}}`: Envoy allows `{{**}}` only as the last operator"
                ));
            }
            Seg::Star {
                before: before.to_string(),
                after: after.to_string(),
            }
        } else {
            Seg::Text(part.to_string())
        };
        let text_ok = |t: &str| !t.contains(['*', '{', '}']);
        let ok = match &seg {
            Seg::Text(t) => text_ok(t),
            Seg::Star { before, after } => text_ok(before) && text_ok(after),
            Seg::DoubleStar => true,
        };
        if !ok {
            return Err(format!(
                "`{v}` is an invalid or unsupported path template: only `{{*}}` (at most one per segment) and `{{**}}` (a whole segment) may appear, no other `*`, `{{` or `}}`"
            ));
        }
        segs.push(seg);
    }
    let render = |skip_star: Option<usize>, skip_segment: Option<usize>| -> String {
        let mut parts = Vec::new();
        for (i, s) in segs.iter().enumerate() {
            if Some(i) == skip_segment {
                continue;
            }
            parts.push(match s {
                Seg::Text(t) => t.clone(),
                Seg::Star { before, after } if Some(i) == skip_star => format!("{before}{after}"),
                Seg::Star { before, after } => format!("{before}*{after}"),
                Seg::DoubleStar => "**".to_string(),
            });
        }
        parts.join("/")
    };
    let glob = render(None, None);
    let last = segs.len().saturating_sub(1);
    let mut exclude = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        match s {
            Seg::Star { before, after } if !before.is_empty() || !after.is_empty() || i == last => {
                exclude.push(render(Some(i), None));
            }
            Seg::DoubleStar if i != last => exclude.push(render(None, Some(i))),
            _ => {}
        }
    }
    Ok(if exclude.is_empty() {
        Pat::Glob(glob)
    } else {
        Pat::Excluding { glob, exclude }
    })
}

/// An Istio IP block (an address or a CIDR; host bits are ignored, as Envoy's `CidrRange`
/// does) → meshgate's notation.
pub fn ip_block(v: &str) -> Result<String, String> {
    if v.contains('/') {
        let net: IpNet = v
            .parse()
            .map_err(|_| format!("`{v}` is not a CIDR range"))?;
        Ok(net.trunc().to_string())
    } else {
        let ip: IpAddr = v
            .parse()
            .map_err(|_| format!("`{v}` is not an IP address"))?;
        Ok(ip.to_string())
    }
}

/// An Istio port (decimal, 0..=65535).
pub fn port(v: &str) -> Result<u16, String> {
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{v}` is not a port number"));
    }
    v.parse::<u16>()
        .map_err(|_| format!("`{v}` is not a port number (0 to 65535)"))
}

/// Whether meshgate's `method` matcher takes `v` as it is (an upper-case method name).
pub fn plain_method(v: &str) -> bool {
    let mut chars = v.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_strings() {
        assert_eq!(istio_string("*"), Ok(IstioString::Present));
        assert_eq!(istio_string("a*"), Ok(IstioString::Prefix("a".into())));
        assert_eq!(istio_string("*a"), Ok(IstioString::Suffix("a".into())));
        assert_eq!(istio_string("a"), Ok(IstioString::Exact("a".into())));
        assert!(istio_string("a*b").is_err());
        assert!(istio_string("*a*").is_err());
        assert!(istio_string("**").is_err());
    }

    #[test]
    fn prefix_and_suffix_globs() {
        assert_eq!(
            patterns(&IstioString::Prefix("/api/".into()), ""),
            vec![Pat::Glob("/api/*".into()), Pat::Glob("/api/*/**".into())]
        );
        assert_eq!(
            patterns(&IstioString::Suffix(".png".into()), ""),
            vec![Pat::Glob("**/*.png".into())]
        );
        assert_eq!(
            patterns(
                &IstioString::Exact("cluster.local/ns/a/sa/b".into()),
                "spiffe://"
            ),
            vec![Pat::Exact("spiffe://cluster.local/ns/a/sa/b".into())]
        );
        assert_eq!(
            patterns(&IstioString::Suffix("/sa/b".into()), "spiffe://"),
            vec![Pat::Glob("spiffe://**/*/sa/b".into())]
        );
    }

    #[test]
    fn templates() {
        assert_eq!(path_template("/a/{**}"), Ok(Pat::Glob("/a/**".into())));
        assert_eq!(
            path_template("/a/{*}"),
            Ok(Pat::Excluding {
                glob: "/a/*".into(),
                exclude: vec!["/a/".into()]
            })
        );
        assert_eq!(path_template("/a/{*}/b"), Ok(Pat::Glob("/a/*/b".into())));
        assert_eq!(
            path_template("/{**}/path/template"),
            Ok(Pat::Excluding {
                glob: "/**/path/template".into(),
                exclude: vec!["/path/template".into()]
            })
        );
        assert_eq!(
            path_template("/v/{*}.m4s"),
            Ok(Pat::Excluding {
                glob: "/v/*.m4s".into(),
                exclude: vec!["/v/.m4s".into()]
            })
        );
        assert!(path_template("/{**}/{*}").is_err());
        assert!(path_template("/{**}.mpd").is_err());
        assert!(path_template("/{*}{*}").is_err());
        assert!(path_template("/{name}/{*}").is_err());
        assert!(path_template("/*/{*}").is_err());
    }

    #[test]
    fn ips_and_ports() {
        assert_eq!(ip_block("10.1.2.3/8"), Ok("10.0.0.0/8".into()));
        assert_eq!(ip_block("1.2.3.4"), Ok("1.2.3.4".into()));
        assert!(ip_block("1.2.3").is_err());
        assert_eq!(port("080"), Ok(80));
        assert!(port("65536").is_err());
        assert!(port("-1").is_err());
        assert!(plain_method("GET"));
        assert!(!plain_method("get"));
        assert!(!plain_method("method-prefix-"));
    }
}
