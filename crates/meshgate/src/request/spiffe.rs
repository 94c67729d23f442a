//! SPIFFE ids: `spiffe://TRUST_DOMAIN/PATH`, with the Kubernetes convention
//! `/ns/NAMESPACE/sa/SERVICE_ACCOUNT` that Istio, Linkerd and Consul follow.

/// The parts of a SPIFFE id, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiffeId<'a> {
    /// The trust domain, e.g. `cluster.local`.
    pub trust_domain: &'a str,
    /// The path after the trust domain, starting with `/` (may be empty).
    pub path: &'a str,
    /// The namespace, when the path is `/ns/NS/sa/SA`.
    pub namespace: Option<&'a str>,
    /// The service account, when the path is `/ns/NS/sa/SA`.
    pub service_account: Option<&'a str>,
}

impl<'a> SpiffeId<'a> {
    /// Parses `id`; `None` unless it is `spiffe://` followed by a non-empty trust domain.
    pub fn parse(id: &'a str) -> Option<SpiffeId<'a>> {
        let rest = id.strip_prefix("spiffe://")?;
        let (trust_domain, path) = match rest.find('/') {
            Some(i) => (rest.get(..i)?, rest.get(i..)?),
            None => (rest, ""),
        };
        if trust_domain.is_empty() {
            return None;
        }
        // Exactly `/ns/NS/sa/SA`, both non-empty, nothing after (`SA` has no `/`).
        let kubernetes = path
            .strip_prefix("/ns/")
            .and_then(|r| r.split_once('/'))
            .and_then(|(ns, r)| Some((ns, r.strip_prefix("sa/")?)))
            .filter(|(ns, sa)| !ns.is_empty() && !sa.is_empty() && !sa.contains('/'));
        let (namespace, service_account) = match kubernetes {
            Some((ns, sa)) => (Some(ns), Some(sa)),
            None => (None, None),
        };
        Some(SpiffeId {
            trust_domain,
            path,
            namespace,
            service_account,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_ids() {
        let id = SpiffeId::parse("spiffe://cluster.local/ns/shop/sa/frontend").unwrap();
        assert_eq!(id.trust_domain, "cluster.local");
        assert_eq!(id.namespace, Some("shop"));
        assert_eq!(id.service_account, Some("frontend"));
    }

    #[test]
    fn other_paths_have_no_namespace() {
        let id = SpiffeId::parse("spiffe://example.org/workload/a").unwrap();
        assert_eq!(id.namespace, None);
        assert!(SpiffeId::parse("spiffe:///ns/a/sa/b").is_none());
        assert!(SpiffeId::parse("https://x").is_none());
        assert_eq!(
            SpiffeId::parse("spiffe://td/ns/a/sa/b/extra")
                .unwrap()
                .namespace,
            None
        );
    }
}
