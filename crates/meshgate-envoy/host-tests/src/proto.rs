//! The protobuf encodings Envoy gives for `metadata` (an `envoy.config.core.v3.Metadata`) and
//! the `google.protobuf.Struct` values in it, built from JSON.
//!
//! Protobuf numbers are doubles, so an integer is exact only up to 2^53: [`exact`] says whether
//! a JSON value survives the trip.

use serde_json::Value;

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn len_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn map_entry(key: &str, value: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    len_field(1, key.as_bytes(), &mut e);
    len_field(2, value, &mut e);
    e
}

/// A `google.protobuf.Value`.
pub fn value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        Value::Null => {
            varint(1 << 3, &mut out);
            varint(0, &mut out);
        }
        Value::Number(n) => {
            varint(2 << 3 | 1, &mut out);
            let f = n.as_f64().unwrap_or(f64::NAN);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::String(s) => len_field(3, s.as_bytes(), &mut out),
        Value::Bool(b) => {
            varint(4 << 3, &mut out);
            varint(u64::from(*b), &mut out);
        }
        Value::Object(_) => len_field(5, &structure(v), &mut out),
        Value::Array(items) => {
            let mut list = Vec::new();
            for i in items {
                len_field(1, &value(i), &mut list);
            }
            len_field(6, &list, &mut out);
        }
    }
    out
}

/// A `google.protobuf.Struct` from a JSON object (anything else: an empty struct).
pub fn structure(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if let Value::Object(fields) = v {
        for (k, f) in fields {
            len_field(1, &map_entry(k, &value(f)), &mut out);
        }
    }
    out
}

/// A struct with one field `key` holding the struct `fields` (how Envoy's JWT filter nests a
/// payload under its `payload_in_metadata` name).
pub fn struct_value_field(key: &str, fields: &Value) -> Vec<u8> {
    structure(&serde_json::json!({ key: fields }))
}

/// An `envoy.config.core.v3.Metadata` whose `filter_metadata` (field 1) maps each namespace to
/// an encoded struct.
pub fn metadata(namespaces: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (ns, s) in namespaces {
        len_field(1, &map_entry(ns, s), &mut out);
    }
    out
}

/// Whether every number in `v` is an integer a double holds exactly.
pub fn exact(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_i64().is_some_and(|i| i.unsigned_abs() <= 1 << 53),
        Value::Array(items) => items.iter().all(exact),
        Value::Object(fields) => fields.values().all(exact),
        _ => true,
    }
}
