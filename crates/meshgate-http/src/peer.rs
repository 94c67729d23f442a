//! What the connection tells about the caller: the TLS peer's identity and the addresses.
//!
//! The TLS layer knows who the peer is; HTTP services see only requests. [`PeerInfo`] is the
//! request extension that carries one to the other: the accept loop (or a TLS acceptor
//! middleware) inserts it into every request of a connection, and the mapping reads it. A
//! request without it has no peer identity and no addresses, so a policy that asks for them
//! does not match (and denies by default).

use std::net::SocketAddr;

/// The connection a request arrived on: insert one into each request's extensions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// The URI SANs of the client certificate, in certificate order; the first is the
    /// caller's `source.principal` (as Envoy reads it). Empty without mutual TLS.
    pub uri_sans: Vec<String>,
    /// The client's address (`source.ip`).
    pub remote_addr: Option<SocketAddr>,
    /// The local address the connection was accepted on (`destination.ip`, `destination.port`).
    pub local_addr: Option<SocketAddr>,
    /// The server name the client asked for (`connection.sni`).
    pub sni: Option<String>,
}

impl PeerInfo {
    /// A connection from `remote_addr` accepted on `local_addr`, without a client certificate.
    pub fn new(remote_addr: Option<SocketAddr>, local_addr: Option<SocketAddr>) -> Self {
        PeerInfo {
            remote_addr,
            local_addr,
            ..PeerInfo::default()
        }
    }

    /// With the client certificate's URI SANs.
    #[must_use]
    pub fn with_uri_sans(mut self, uri_sans: Vec<String>) -> Self {
        self.uri_sans = uri_sans;
        self
    }

    /// With the server name the client asked for.
    #[must_use]
    pub fn with_sni(mut self, sni: Option<String>) -> Self {
        self.sni = sni;
        self
    }

    /// The caller's identity: the first URI SAN.
    pub fn principal(&self) -> Option<&str> {
        self.uri_sans.first().map(String::as_str)
    }

    /// The URI SANs of a DER-encoded X.509 certificate (the end-entity certificate a TLS
    /// library reports for the peer), in certificate order.
    ///
    /// The certificate must already be verified by the TLS layer: this only reads it.
    #[cfg(feature = "x509")]
    pub fn uri_sans_of(der: &[u8]) -> Result<Vec<String>, CertificateError> {
        use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| CertificateError(format!("not a DER X.509 certificate: {e}")))?;
        let san = cert
            .subject_alternative_name()
            .map_err(|e| CertificateError(format!("invalid subjectAltName extension: {e}")))?;
        Ok(san
            .map(|ext| {
                ext.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        GeneralName::URI(uri) => Some((*uri).to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// A client certificate that could not be read.
#[cfg(feature = "x509")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateError(String);

#[cfg(feature = "x509")]
impl std::fmt::Display for CertificateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "x509")]
impl std::error::Error for CertificateError {}

#[cfg(all(test, feature = "x509"))]
mod tests {
    use super::*;

    #[test]
    fn reads_the_uri_sans_of_a_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["frontend.shop".to_string()]).unwrap();
        params.subject_alt_names.push(rcgen::SanType::URI(
            "spiffe://cluster.local/ns/shop/sa/frontend"
                .try_into()
                .unwrap(),
        ));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let sans = PeerInfo::uri_sans_of(cert.der()).unwrap();
        assert_eq!(sans, ["spiffe://cluster.local/ns/shop/sa/frontend"]);
        assert!(PeerInfo::uri_sans_of(b"not a certificate").is_err());
    }
}
