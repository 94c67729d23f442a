//! Envoy's `x-forwarded-client-cert` (XFCC) header: the client certificate a proxy in front
//! saw, when TLS ends at that proxy rather than here.
//!
//! The header is a comma-separated list of elements, one per proxy that forwarded the request
//! (each appends one); an element is `;`-separated `Key=Value` pairs (`By`, `Hash`, `Cert`,
//! `Chain`, `Subject`, `URI`, `DNS`), and a value holding `,`, `;` or `=` is double-quoted
//! with `\"` and `\\` escapes. The **last** element is the one the nearest proxy wrote: its
//! `URI` values are the URI SANs of the certificate that proxy's own client presented.
//!
//! Anyone can send the header, so it means something only when every path to this service
//! goes through a proxy that sets it (Envoy's `forward_client_cert_details: SANITIZE_SET` or
//! `APPEND_FORWARD`): the mapping reads it only when configured to trust it. A header that does
//! not parse is an error, which denies.

/// The URI SANs of the last element of an XFCC header value, in order (empty when that element
/// has no `URI`).
pub fn last_uri_sans(header: &str) -> Result<Vec<String>, XfccError> {
    let elements = parse(header)?;
    let last = elements
        .last()
        .ok_or_else(|| XfccError("empty header".to_string()))?;
    Ok(last
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("uri"))
        .map(|(_, v)| v.clone())
        .collect())
}

/// An XFCC header that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XfccError(String);

impl std::fmt::Display for XfccError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid `x-forwarded-client-cert`: {}", self.0)
    }
}

impl std::error::Error for XfccError {}

type Element = Vec<(String, String)>;

/// Every element, each as its key-value pairs in order.
fn parse(header: &str) -> Result<Vec<Element>, XfccError> {
    let mut elements = Vec::new();
    let mut element = Element::new();
    let mut chars = header.chars().peekable();
    loop {
        // A key: up to `=`.
        let mut key = String::new();
        let mut equals = false;
        for c in chars.by_ref() {
            if c == '=' {
                equals = true;
                break;
            }
            if matches!(c, ',' | ';' | '"') {
                return Err(XfccError(format!("`{c}` in a key")));
            }
            key.push(c);
        }
        let key = key.trim().to_string();
        if key.is_empty() || !equals {
            return Err(XfccError(format!("`{key}` is not a `Key=Value` pair")));
        }
        // A value: quoted, or up to the next `;` or `,`.
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err(XfccError("unterminated escape".to_string())),
                    },
                    Some(c) => value.push(c),
                    None => return Err(XfccError("unterminated quoted value".to_string())),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ';' || c == ',' {
                    break;
                }
                if c == '"' {
                    return Err(XfccError("a quote inside an unquoted value".to_string()));
                }
                value.push(c);
                chars.next();
            }
        }
        element.push((key, value));
        match chars.next() {
            Some(';') => {}
            Some(',') => elements.push(std::mem::take(&mut element)),
            None => {
                elements.push(element);
                return Ok(elements);
            }
            Some(c) => return Err(XfccError(format!("`{c}` after a quoted value"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_envoy_examples() {
        // From Envoy's documentation of the header.
        let h = r#"By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com"#;
        assert_eq!(last_uri_sans(h).unwrap(), ["http://testclient.lyft.com"]);
        let two = "By=spiffe://cluster.local/ns/a/sa/gw;URI=spiffe://cluster.local/ns/web/sa/old,By=spiffe://cluster.local/ns/a/sa/b;Hash=ab;URI=spiffe://cluster.local/ns/shop/sa/frontend;DNS=x";
        assert_eq!(
            last_uri_sans(two).unwrap(),
            ["spiffe://cluster.local/ns/shop/sa/frontend"],
            "the last element is the nearest proxy's"
        );
        assert_eq!(last_uri_sans("By=a;Hash=b").unwrap(), Vec::<String>::new());
        assert_eq!(
            last_uri_sans(r#"URI="spiffe://x/ns/a\"b/sa/c";URI=spiffe://y"#).unwrap(),
            [r#"spiffe://x/ns/a"b/sa/c"#, "spiffe://y"]
        );
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            "",
            "URI",
            "=x",
            "URI=\"unterminated",
            "URI=\"a\"b",
            "URI=a\"b",
            "URI=a;;URI=b",
            "URI=a,",
        ] {
            assert!(last_uri_sans(bad).is_err(), "{bad:?}");
        }
    }
}
