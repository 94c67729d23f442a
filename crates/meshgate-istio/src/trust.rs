//! Istio's trust-domain bundle: `meshConfig.trustDomain` and `meshConfig.trustDomainAliases`.
//!
//! Istio treats the identities of every trust domain of the bundle as the same. It does so by
//! rewriting policy values before matching them (`pilot/pkg/security/trustdomain/bundle.go`):
//!
//! - principals (`principals`, `notPrincipals`, `when: source.principal` values and
//!   `notValues`; `ReplaceTrustDomainAliases`): a value of the SPIFFE form `TD/ns/NS/sa/SA`
//!   (exactly five `/`-separated parts, `TD` not `*`) whose `TD` matches some trust domain of the
//!   bundle (exact, `*`, or a prefix or suffix pattern on either side) or is `cluster.local`
//!   becomes one value per trust domain of the bundle: the value itself for a trust domain that
//!   its wildcard `TD` suffix-matches, otherwise the value with `TD` replaced. Other values stay
//!   as they are. `cluster.local` thus points to the bundle: with `trustDomain: td1` and no
//!   aliases, `cluster.local/ns/a/sa/b` matches `td1` only, not `cluster.local`.
//! - trust domains (`trustDomains`, `notTrustDomains`; `ExpandTrustDomainAliases`): a value equal
//!   to a trust domain of the bundle becomes every trust domain of the bundle.
//!
//! `namespaces` and `serviceAccounts` do not depend on the trust domain in Istio (their regexes
//! accept any), so they are left alone. The rewriting is done on the text, before Istio (and the
//! importer) reads `*` wildcards in the values, exactly as Istio orders it.

/// Istio's default trust domain, and the name that stands for the bundle in principals.
pub const CLUSTER_LOCAL: &str = "cluster.local";

/// The trust domain and its aliases, in that order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    domains: Vec<String>,
}

impl Bundle {
    /// `trust_domain` (an empty one is Istio's default, `cluster.local`) then `aliases`.
    pub fn new(trust_domain: &str, aliases: &[String]) -> Bundle {
        let first = if trust_domain.is_empty() {
            CLUSTER_LOCAL
        } else {
            trust_domain
        };
        let mut domains = vec![first.to_string()];
        domains.extend(aliases.iter().cloned());
        Bundle { domains }
    }

    /// The trust domains, the mesh's own first.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// Whether this is Istio's default bundle (`cluster.local`, no aliases), which changes no
    /// value.
    pub fn is_default(&self) -> bool {
        self.domains == [CLUSTER_LOCAL]
    }

    /// The values Istio matches for the principal `value` (`ReplaceTrustDomainAliases`).
    pub fn principals(&self, value: &str) -> Vec<String> {
        let parts: Vec<&str> = value.split('/').collect();
        let (Some(&td), 5) = (parts.first(), parts.len()) else {
            // Not `TD/ns/NS/sa/SA`: "the trust domain is not enforced".
            return vec![value.to_string()];
        };
        if td == "*" || !(string_match(td, &self.domains) || td == CLUSTER_LOCAL) {
            return vec![value.to_string()];
        }
        let rest = value.split_once('/').map_or("", |(_, rest)| rest);
        let mut out: Vec<String> = Vec::new();
        for domain in &self.domains {
            let principal = if suffix_match(domain, td) {
                value.to_string()
            } else {
                format!("{domain}/{rest}")
            };
            if !out.contains(&principal) {
                out.push(principal);
            }
        }
        out
    }

    /// The values Istio matches for the trust domain `value` (`ExpandTrustDomainAliases`, whose
    /// duplicates the caller removes across the field).
    pub fn trust_domains(&self, value: &str) -> Vec<String> {
        if self.domains.iter().any(|d| d == value) {
            self.domains.clone()
        } else {
            vec![value.to_string()]
        }
    }
}

impl Default for Bundle {
    fn default() -> Self {
        Bundle::new(CLUSTER_LOCAL, &[])
    }
}

/// Istio's `stringMatch` in `trustdomain/util.go`: the pattern may be on either side.
fn string_match(a: &str, list: &[String]) -> bool {
    list.iter().any(|s| {
        a == s
            || s == "*"
            || prefix_match(a, s)
            || prefix_match(s, a)
            || suffix_match(a, s)
            || suffix_match(s, a)
    })
}

/// `pattern` is `P*` and `a` starts with `P`.
fn prefix_match(a: &str, pattern: &str) -> bool {
    pattern.strip_suffix('*').is_some_and(|p| a.starts_with(p))
}

/// `pattern` is `*S` and `a` ends with `S`.
fn suffix_match(a: &str, pattern: &str) -> bool {
    pattern.strip_prefix('*').is_some_and(|s| a.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(td: &str, aliases: &[&str]) -> Bundle {
        Bundle::new(
            td,
            &aliases.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        )
    }

    fn replace(b: &Bundle, principals: &[&str]) -> Vec<String> {
        principals.iter().flat_map(|p| b.principals(p)).collect()
    }

    /// The cases of Istio's `TestReplaceTrustDomainAliases`.
    #[test]
    fn principals_as_istio_replaces_them() {
        let cases: &[(Bundle, &[&str], &[&str])] = &[
            (
                bundle("cluster.local", &[]),
                &["cluster.local/ns/foo/sa/bar"],
                &["cluster.local/ns/foo/sa/bar"],
            ),
            (bundle("cluster.local", &[]), &["*"], &["*"]),
            (
                bundle("cluster.local", &[]),
                &["*/ns/foo/sa/bar"],
                &["*/ns/foo/sa/bar"],
            ),
            (
                bundle("td2", &["td1"]),
                &["td1/ns/foo/sa/bar"],
                &["td2/ns/foo/sa/bar", "td1/ns/foo/sa/bar"],
            ),
            (
                bundle("td1", &["cluster.local"]),
                &["cluster.local/ns/foo/sa/bar", "cluster.local/ns/yyy/sa/zzz"],
                &[
                    "td1/ns/foo/sa/bar",
                    "cluster.local/ns/foo/sa/bar",
                    "td1/ns/yyy/sa/zzz",
                    "cluster.local/ns/yyy/sa/zzz",
                ],
            ),
            (
                bundle("td1", &["cluster.local"]),
                &["*/ns/foo/sa/bar", "*sa/zzz", "*"],
                &["*/ns/foo/sa/bar", "*sa/zzz", "*"],
            ),
            (
                bundle("td2", &["td1", "cluster.local"]),
                &["cluster.local/ns/foo/sa/bar", "td1/ns/yyy/sa/zzz"],
                &[
                    "td2/ns/foo/sa/bar",
                    "td1/ns/foo/sa/bar",
                    "cluster.local/ns/foo/sa/bar",
                    "td2/ns/yyy/sa/zzz",
                    "td1/ns/yyy/sa/zzz",
                    "cluster.local/ns/yyy/sa/zzz",
                ],
            ),
            (
                bundle("td2", &["foo-td1", "cluster.local"]),
                &["*-td1/ns/foo/sa/bar"],
                &[
                    "td2/ns/foo/sa/bar",
                    "*-td1/ns/foo/sa/bar",
                    "cluster.local/ns/foo/sa/bar",
                ],
            ),
            (
                bundle("td1", &["td2"]),
                &["some-td/ns/foo/sa/bar"],
                &["some-td/ns/foo/sa/bar"],
            ),
            (
                bundle("td1", &["td2", "some-td"]),
                &["some-td/ns/foo/sa/bar"],
                &[
                    "td1/ns/foo/sa/bar",
                    "td2/ns/foo/sa/bar",
                    "some-td/ns/foo/sa/bar",
                ],
            ),
            (
                bundle("new-td", &["td2", "td3"]),
                &["td1/ns/some-ns/sa/some-sa", "td2/ns/foo/sa/bar"],
                &[
                    "td1/ns/some-ns/sa/some-sa",
                    "new-td/ns/foo/sa/bar",
                    "td2/ns/foo/sa/bar",
                    "td3/ns/foo/sa/bar",
                ],
            ),
        ];
        for (b, input, expected) in cases {
            assert_eq!(replace(b, input), *expected, "{b:?} {input:?}");
        }
    }

    #[test]
    fn cluster_local_points_to_the_bundle() {
        // Without aliases, `cluster.local` is replaced by the mesh's trust domain, not kept.
        assert_eq!(
            bundle("td1", &[]).principals("cluster.local/ns/a/sa/b"),
            ["td1/ns/a/sa/b"]
        );
        // Prefix and suffix values keep their wildcard after the replacement.
        assert_eq!(
            bundle("td1", &["td0"]).principals("td0/ns/a/sa/b*"),
            ["td1/ns/a/sa/b*", "td0/ns/a/sa/b*"]
        );
        // A wildcard trust domain that matches the bundle's is replaced too, so its `*`
        // (literal for Istio's matcher) goes away, or is kept where it suffix-matches.
        assert_eq!(
            bundle("td1", &[]).principals("td*/ns/a/sa/b"),
            ["td1/ns/a/sa/b"]
        );
        assert_eq!(
            bundle("td1", &["foobar"]).principals("*bar/ns/foo/sa/x"),
            ["td1/ns/foo/sa/x", "*bar/ns/foo/sa/x"]
        );
        assert_eq!(
            bundle("td1", &["foobar"]).principals("*-td/ns/foo/sa/x"),
            ["*-td/ns/foo/sa/x"]
        );
        // Istio's `trust-domain-aliases-in-source-principal`: kept once for the two trust
        // domains it suffix-matches, replaced for the third.
        assert_eq!(
            bundle("new-td", &["old-td", "some-trustdomain"])
                .principals("*-td/ns/foo/sa/prefix-td"),
            [
                "*-td/ns/foo/sa/prefix-td",
                "some-trustdomain/ns/foo/sa/prefix-td"
            ]
        );
        // Not five parts: as is.
        assert_eq!(
            bundle("td1", &[]).principals("cluster.local/ns/a/sa/b/c"),
            ["cluster.local/ns/a/sa/b/c"]
        );
        assert_eq!(bundle("", &[]), Bundle::default());
        assert!(Bundle::default().is_default());
        assert!(!bundle("td1", &[]).is_default());
    }

    #[test]
    fn trust_domains_expand_to_the_bundle() {
        let b = bundle("td1", &["td0"]);
        assert_eq!(b.trust_domains("td0"), ["td1", "td0"]);
        assert_eq!(b.trust_domains("td1"), ["td1", "td0"]);
        assert_eq!(b.trust_domains("other"), ["other"]);
        // Only an exact trust domain of the bundle; `cluster.local` is not special here.
        assert_eq!(b.trust_domains("td*"), ["td*"]);
        assert_eq!(b.trust_domains("cluster.local"), ["cluster.local"]);
    }
}
