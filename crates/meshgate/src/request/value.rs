//! Values of JWT claims and context entries: the JSON subset a policy can test.
//!
//! The reader below applies [`RequestBuilder`](super::RequestBuilder)'s rules (no `null`, no
//! floats, 64-bit integers, the ceilings of [`RequestLimits`](crate::RequestLimits)) item by item,
//! so that an error names the exact key or index at fault.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::builder as rules;
use super::pairs::Pairs;

/// A claim or context value: a string, an integer, a boolean, a list, or an object.
///
/// Floating-point numbers and `null` are refused when parsing JSON: no policy can test them, and
/// silently dropping them could let a request slip past a deny rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// A 64-bit integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Cow<'a, [Value<'a>]>),
    /// An object (nested claims).
    Map(Pairs<'a, Value<'a>>),
}

impl<'a> Value<'a> {
    /// A borrowed string value.
    pub const fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    /// Whether this value, read as a string, equals `s`: strings compare as they are,
    /// integers and booleans by their JSON text. Lists and objects never equal a string.
    pub fn str_eq(&self, s: &str) -> bool {
        match self {
            Value::Str(v) => v == s,
            Value::Int(n) => s.parse::<i64>().is_ok_and(|m| m == *n) && !s.starts_with('+'),
            Value::Bool(b) => s == if *b { "true" } else { "false" },
            Value::List(_) | Value::Map(_) => false,
        }
    }

    /// The value as a string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the value's kind, for evaluation errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a boolean",
            Value::List(_) => "a list",
            Value::Map(_) => "an object",
        }
    }
}

impl<'de, 'a> Deserialize<'de> for Value<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor {
            depth: 0,
            lifetime: PhantomData,
        })
    }
}

struct ValueVisitor<'a> {
    depth: usize,
    lifetime: PhantomData<&'a ()>,
}

impl<'de, 'a> serde::de::DeserializeSeed<'de> for ValueVisitor<'a> {
    type Value = Value<'a>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, 'a> Visitor<'de> for ValueVisitor<'a> {
    type Value = Value<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, an integer, a boolean, a list or an object")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        rules::int_value(v).map(Value::Int).map_err(E::custom)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(E::custom(rules::float_value(v)))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Err(E::custom(rules::null_value()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        rules::nested(self.depth).map_err(serde::de::Error::custom)?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueVisitor {
            depth: self.depth.saturating_add(1),
            lifetime: PhantomData,
        })? {
            rules::list_item(items.len()).map_err(serde::de::Error::custom)?;
            items.push(v);
        }
        Ok(Value::List(Cow::Owned(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        rules::nested(self.depth).map_err(serde::de::Error::custom)?;
        let mut entries: Vec<(Cow<'a, str>, Value<'a>)> = Vec::new();
        while let Some(key) = access.next_key::<String>()? {
            rules::object_key(&entries, &key).map_err(serde::de::Error::custom)?;
            let v = access.next_value_seed(ValueVisitor {
                depth: self.depth.saturating_add(1),
                lifetime: PhantomData,
            })?;
            entries.push((Cow::Owned(key), v));
        }
        Ok(Value::Map(Pairs(Cow::Owned(entries))))
    }
}
