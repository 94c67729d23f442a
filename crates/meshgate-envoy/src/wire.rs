//! Decoding the bytes a proxy returns for a property.
//!
//! Envoy serializes a property value by its type: a string as its bytes, an integer as eight
//! little-endian bytes, a map (such as `node.metadata.LABELS`) in the proxy-wasm "pairs" format
//! (older Envoys: as a serialized `google.protobuf.Struct`), and a protobuf message (such as
//! `metadata`, the dynamic metadata) as its protobuf encoding. Nothing here trusts the bytes: a
//! malformed value is an error or `None`, never a panic.

use std::borrow::Cow;

use meshgate::RequestLimits;
use meshgate::request::{Pairs, Value};

/// The core's ceilings on one map and one list ([`RequestLimits`]).
const MAX_MAP_ENTRIES: usize = RequestLimits::MAX_MAP_ENTRIES;
const MAX_LIST_ITEMS: usize = RequestLimits::MAX_LIST_ITEMS;
/// Deepest nesting accepted while decoding a metadata value: the core's
/// [`RequestLimits::MAX_DEPTH`], counted here per protobuf message (a `Struct` inside a `Value`
/// costs two levels), so a decoded value never nests deeper than the core accepts.
pub const MAX_DEPTH: usize = RequestLimits::MAX_DEPTH;

/// A value that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, WireError> {
    Err(WireError(message.into()))
}

/// An integer property (`destination.port`): eight little-endian bytes.
pub fn int64(bytes: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(bytes).ok().map(i64::from_le_bytes)
}

/// Decoded pairs, borrowing from the serialized bytes.
pub type PairsRef<'b> = Vec<(&'b [u8], &'b [u8])>;

/// The proxy-wasm pairs format: a `u32` count, a `(u32, u32)` size pair per entry, then each key
/// and value followed by a NUL byte. All integers little-endian.
pub fn pairs(bytes: &[u8]) -> Result<PairsRef<'_>, WireError> {
    let count = read_u32(bytes, 0).ok_or_else(|| WireError("pairs: no count".into()))? as usize;
    if count > MAX_MAP_ENTRIES {
        return err(format!("pairs: more than {MAX_MAP_ENTRIES} entries"));
    }
    let mut data = 4usize
        .checked_add(
            count
                .checked_mul(8)
                .ok_or_else(|| WireError("pairs: size".into()))?,
        )
        .ok_or_else(|| WireError("pairs: size".into()))?;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let sizes = i.saturating_mul(8).saturating_add(4);
        let (Some(klen), Some(vlen)) = (
            read_u32(bytes, sizes),
            read_u32(bytes, sizes.saturating_add(4)),
        ) else {
            return err("pairs: truncated sizes");
        };
        let key = take_nul_terminated(bytes, &mut data, klen as usize)?;
        let value = take_nul_terminated(bytes, &mut data, vlen as usize)?;
        out.push((key, value));
    }
    if data != bytes.len() {
        return err("pairs: trailing bytes");
    }
    Ok(out)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    bytes
        .get(at..end)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
}

fn take_nul_terminated<'b>(
    bytes: &'b [u8],
    at: &mut usize,
    len: usize,
) -> Result<&'b [u8], WireError> {
    let end = at
        .checked_add(len)
        .ok_or_else(|| WireError("pairs: size".into()))?;
    let Some(value) = bytes.get(*at..end) else {
        return err("pairs: truncated data");
    };
    if bytes.get(end) != Some(&0) {
        return err("pairs: missing NUL terminator");
    }
    *at = end.saturating_add(1);
    Ok(value)
}

/// A string map property: pairs (current Envoy) or a serialized `google.protobuf.Struct` of
/// strings (older Envoy). Entries whose value is not a string are left out.
pub fn string_map(bytes: &[u8]) -> Result<Vec<(String, String)>, WireError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if let Ok(pairs) = pairs(bytes) {
        return Ok(pairs
            .into_iter()
            .map(|(k, v)| (lossy(k), lossy(v)))
            .collect());
    }
    let fields = decode_struct(bytes, 0)?;
    Ok(fields
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.to_string(), s.to_string())))
        .collect())
}

/// Bytes as text, with invalid UTF-8 replaced (a value keeps its presence; it can then equal no
/// policy string that it did not already equal).
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The fields of two namespaces of a serialized `envoy.config.core.v3.Metadata` (the `metadata`
/// property): `filter_metadata` is field 1, a map from namespace to `google.protobuf.Struct`.
/// Returns the structs of `first` and `second`, when present (a namespace given twice: the last
/// one, as protobuf maps are read).
pub fn metadata_namespaces(
    bytes: &[u8],
    first: &str,
    second: &str,
) -> Result<[Option<Pairs<'static, Value<'static>>>; 2], WireError> {
    let mut out = [None, None];
    let mut r = Reader::new(bytes);
    while let Some((field, wire)) = r.tag()? {
        if field == 1 && wire == LEN {
            let entry = r.bytes()?;
            let (key, value) = map_entry(entry)?;
            let slot = if key == first.as_bytes() {
                out.get_mut(0)
            } else if key == second.as_bytes() {
                out.get_mut(1)
            } else {
                None
            };
            if let Some(slot) = slot {
                *slot = Some(decode_struct(value.unwrap_or_default(), 0)?);
            }
        } else {
            r.skip(wire)?;
        }
    }
    Ok(out)
}

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// Reads a map entry message: key (field 1, string) and value (field 2, message).
fn map_entry(bytes: &[u8]) -> Result<(&[u8], Option<&[u8]>), WireError> {
    let mut key: &[u8] = &[];
    let mut value = None;
    let mut r = Reader::new(bytes);
    while let Some((field, wire)) = r.tag()? {
        match (field, wire) {
            (1, LEN) => key = r.bytes()?,
            (2, LEN) => value = Some(r.bytes()?),
            _ => r.skip(wire)?,
        }
    }
    Ok((key, value))
}

/// A `google.protobuf.Struct` as claim or context values.
fn decode_struct(bytes: &[u8], depth: usize) -> Result<Pairs<'static, Value<'static>>, WireError> {
    if depth >= MAX_DEPTH {
        return err(format!(
            "metadata is nested more than {MAX_DEPTH} levels deep"
        ));
    }
    let mut fields: Pairs<'static, Value<'static>> = Pairs::default();
    let mut r = Reader::new(bytes);
    while let Some((field, wire)) = r.tag()? {
        if field == 1 && wire == LEN {
            let (key, value) = map_entry(r.bytes()?)?;
            // A `null` field (or one with no value) is absent.
            if let Some(v) = decode_value(value.unwrap_or_default(), depth.saturating_add(1))? {
                let key = String::from_utf8(key.to_vec())
                    .map_err(|_| WireError("metadata key is not UTF-8".into()))?;
                if fields.get(&key).is_none() && fields.len() >= MAX_MAP_ENTRIES {
                    return err(format!(
                        "metadata struct has more than {MAX_MAP_ENTRIES} fields"
                    ));
                }
                fields.insert(key, v);
            }
        } else {
            r.skip(wire)?;
        }
    }
    Ok(fields)
}

/// A `google.protobuf.Value`; `None` for `null` and for a value with no kind set.
fn decode_value(bytes: &[u8], depth: usize) -> Result<Option<Value<'static>>, WireError> {
    if depth >= MAX_DEPTH {
        return err(format!(
            "metadata is nested more than {MAX_DEPTH} levels deep"
        ));
    }
    let mut out = None;
    let mut r = Reader::new(bytes);
    while let Some((field, wire)) = r.tag()? {
        // Fields of a oneof: the last one read wins, as in protobuf.
        out = match (field, wire) {
            (1, VARINT) => {
                r.varint()?;
                None
            }
            (2, I64) => Some(number(f64::from_bits(r.fixed64()?))),
            (3, LEN) => Some(Value::Str(Cow::Owned(
                String::from_utf8(r.bytes()?.to_vec())
                    .map_err(|_| WireError("metadata string is not UTF-8".into()))?,
            ))),
            (4, VARINT) => Some(Value::Bool(r.varint()? != 0)),
            (5, LEN) => Some(Value::Map(decode_struct(
                r.bytes()?,
                depth.saturating_add(1),
            )?)),
            (6, LEN) => Some(decode_list(r.bytes()?, depth.saturating_add(1))?),
            _ => {
                r.skip(wire)?;
                continue;
            }
        };
    }
    Ok(out)
}

/// A `google.protobuf.ListValue` (field 1: repeated `Value`); `null` elements are left out.
fn decode_list(bytes: &[u8], depth: usize) -> Result<Value<'static>, WireError> {
    let mut items = Vec::new();
    let mut r = Reader::new(bytes);
    while let Some((field, wire)) = r.tag()? {
        if field == 1 && wire == LEN {
            if items.len() >= MAX_LIST_ITEMS {
                return err(format!(
                    "metadata list has more than {MAX_LIST_ITEMS} items"
                ));
            }
            if let Some(v) = decode_value(r.bytes()?, depth)? {
                items.push(v);
            }
        } else {
            r.skip(wire)?;
        }
    }
    Ok(Value::List(Cow::Owned(items)))
}

/// Protobuf numbers are doubles. A whole number in the 64-bit range is an integer (JWT `exp`,
/// `iat`, levels); anything else is its decimal text, so it still compares as a string.
fn number(n: f64) -> Value<'static> {
    // 2^63 is exactly representable; every double below it and at or above -2^63 fits i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_finite() && n.fract() == 0.0 && (-LIMIT..LIMIT).contains(&n) {
        Value::Int(n as i64)
    } else {
        Value::Str(Cow::Owned(n.to_string()))
    }
}

/// A protobuf wire-format reader over a byte slice.
struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    /// The next field number and wire type, or `None` at the end.
    fn tag(&mut self) -> Result<Option<(u64, u8)>, WireError> {
        if self.at >= self.bytes.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let field = tag >> 3;
        if field == 0 {
            return err("metadata: field number 0");
        }
        Ok(Some((field, (tag & 7) as u8)))
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.bytes.get(self.at) else {
                return err("metadata: truncated varint");
            };
            self.at = self.at.saturating_add(1);
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        err("metadata: varint longer than ten bytes")
    }

    fn fixed64(&mut self) -> Result<u64, WireError> {
        let b = self.take(8)?;
        <[u8; 8]>::try_from(b)
            .map(u64::from_le_bytes)
            .map_err(|_| WireError("metadata: truncated fixed64".into()))
    }

    fn bytes(&mut self) -> Result<&'b [u8], WireError> {
        let len = usize::try_from(self.varint()?)
            .map_err(|_| WireError("metadata: length too large".into()))?;
        self.take(len)
    }

    fn take(&mut self, len: usize) -> Result<&'b [u8], WireError> {
        let end = self
            .at
            .checked_add(len)
            .ok_or_else(|| WireError("metadata: length too large".into()))?;
        let Some(b) = self.bytes.get(self.at..end) else {
            return err("metadata: truncated field");
        };
        self.at = end;
        Ok(b)
    }

    fn skip(&mut self, wire: u8) -> Result<(), WireError> {
        match wire {
            VARINT => self.varint().map(|_| ()),
            I64 => self.take(8).map(|_| ()),
            LEN => self.bytes().map(|_| ()),
            I32 => self.take(4).map(|_| ()),
            other => err(format!("metadata: unsupported wire type {other}")),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Test encoders: the minimum of the protobuf wire format and the pairs format.
    pub(crate) mod enc {
        pub fn varint(mut v: u64, out: &mut Vec<u8>) {
            while v >= 0x80 {
                out.push((v as u8) | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        }
        pub fn len_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
            varint(field << 3 | 2, out);
            varint(bytes.len() as u64, out);
            out.extend_from_slice(bytes);
        }
        pub fn entry(key: &str, value: &[u8]) -> Vec<u8> {
            let mut e = Vec::new();
            len_field(1, key.as_bytes(), &mut e);
            len_field(2, value, &mut e);
            e
        }
        pub fn string(s: &str) -> Vec<u8> {
            let mut v = Vec::new();
            len_field(3, s.as_bytes(), &mut v);
            v
        }
        pub fn number(n: f64) -> Vec<u8> {
            let mut v = vec![2 << 3 | 1];
            v.extend_from_slice(&n.to_bits().to_le_bytes());
            v
        }
        pub fn boolean(b: bool) -> Vec<u8> {
            vec![4 << 3, u8::from(b)]
        }
        pub fn null() -> Vec<u8> {
            vec![1 << 3, 0]
        }
        pub fn structure(fields: &[(&str, Vec<u8>)]) -> Vec<u8> {
            let mut s = Vec::new();
            for (k, v) in fields {
                len_field(1, &entry(k, v), &mut s);
            }
            s
        }
        pub fn struct_value(fields: &[(&str, Vec<u8>)]) -> Vec<u8> {
            wrap_struct(&structure(fields))
        }
        pub fn wrap_struct(encoded: &[u8]) -> Vec<u8> {
            let mut v = Vec::new();
            len_field(5, encoded, &mut v);
            v
        }
        pub fn list_value(items: &[Vec<u8>]) -> Vec<u8> {
            let mut l = Vec::new();
            for i in items {
                len_field(1, i, &mut l);
            }
            let mut v = Vec::new();
            len_field(6, &l, &mut v);
            v
        }
        pub fn metadata(namespaces: &[(&str, Vec<u8>)]) -> Vec<u8> {
            let mut m = Vec::new();
            for (ns, s) in namespaces {
                len_field(1, &entry(ns, s), &mut m);
            }
            m
        }
        pub fn pairs(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
            let mut out = (entries.len() as u32).to_le_bytes().to_vec();
            for (k, v) in entries {
                out.extend_from_slice(&(k.len() as u32).to_le_bytes());
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            }
            for (k, v) in entries {
                out.extend_from_slice(k);
                out.push(0);
                out.extend_from_slice(v);
                out.push(0);
            }
            out
        }
    }

    #[test]
    fn pairs_round_trip_and_malformed_pairs_are_errors() {
        let bytes = enc::pairs(&[(b"app", b"web"), (b"tier", b"")]);
        assert_eq!(
            pairs(&bytes).unwrap(),
            [(&b"app"[..], &b"web"[..]), (&b"tier"[..], &b""[..])]
        );
        for bad in [
            &bytes[..bytes.len() - 1],
            &bytes[..3],
            &[1, 0, 0, 0][..],
            &[255, 255, 255, 255][..],
        ] {
            assert!(pairs(bad).is_err(), "{bad:?}");
        }
        let mut no_nul = bytes.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert!(pairs(&no_nul).is_err());
        let mut trailing = bytes;
        trailing.push(0);
        assert!(pairs(&trailing).is_err());
    }

    #[test]
    fn string_maps_come_as_pairs_or_as_a_struct() {
        let p = enc::pairs(&[(b"app", b"web")]);
        assert_eq!(string_map(&p).unwrap(), [("app".into(), "web".into())]);
        let s = enc::structure(&[("app", enc::string("web")), ("n", enc::number(1.0))]);
        assert_eq!(string_map(&s).unwrap(), [("app".into(), "web".into())]);
        assert_eq!(string_map(b"").unwrap(), []);
        assert!(string_map(&[0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn integers_are_eight_little_endian_bytes() {
        assert_eq!(int64(&8443i64.to_le_bytes()), Some(8443));
        assert_eq!(int64(&[1, 2, 3]), None);
    }

    #[test]
    fn metadata_structs_decode_to_typed_values() {
        let claims = enc::structure(&[
            ("iss", enc::string("https://issuer")),
            ("level", enc::number(3.0)),
            ("score", enc::number(0.5)),
            ("big", enc::number(1e30)),
            ("ok", enc::boolean(true)),
            ("gone", enc::null()),
            (
                "groups",
                enc::list_value(&[enc::string("a"), enc::null(), enc::number(2.0)]),
            ),
            (
                "realm_access",
                enc::struct_value(&[("roles", enc::list_value(&[enc::string("x")]))]),
            ),
        ]);
        let jwt = enc::structure(&[("payload", enc::wrap_struct(&claims))]);
        let ctx = enc::structure(&[("risk", enc::number(-2.0))]);
        let md = enc::metadata(&[("other", vec![]), ("jwt", jwt), ("ctx", ctx)]);
        let [jwt, ctx] = metadata_namespaces(&md, "jwt", "ctx").unwrap();
        let jwt = jwt.unwrap();
        let Some(Value::Map(claims)) = jwt.get("payload") else {
            panic!("{jwt:?}")
        };
        assert_eq!(claims.get("iss"), Some(&Value::str("https://issuer")));
        assert_eq!(claims.get("level"), Some(&Value::Int(3)));
        assert_eq!(claims.get("score"), Some(&Value::str("0.5")));
        assert!(matches!(claims.get("big"), Some(Value::Str(_))));
        assert_eq!(claims.get("ok"), Some(&Value::Bool(true)));
        assert_eq!(claims.get("gone"), None);
        assert_eq!(
            claims.get("groups"),
            Some(&Value::List(Cow::Owned(vec![
                Value::str("a"),
                Value::Int(2)
            ])))
        );
        assert!(matches!(claims.get("realm_access"), Some(Value::Map(m)) if m.len() == 1));
        assert_eq!(ctx.unwrap().get("risk"), Some(&Value::Int(-2)));
        let [none, _] = metadata_namespaces(b"", "jwt", "ctx").unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn malformed_or_hostile_metadata_is_an_error() {
        for bad in [
            &[0x0a, 0x05, 0x01][..],
            &[0x08][..],
            &[0x0b][..],
            &[0x00][..],
        ] {
            assert!(metadata_namespaces(bad, "a", "b").is_err(), "{bad:?}");
        }
        // Nesting deeper than the limit.
        let mut v = enc::string("x");
        for _ in 0..MAX_DEPTH {
            v = enc::struct_value(&[("k", v)]);
        }
        let md = enc::metadata(&[("a", enc::structure(&[("k", v)]))]);
        let e = metadata_namespaces(&md, "a", "b").unwrap_err();
        assert!(e.0.contains("nested"), "{e}");
    }
}
