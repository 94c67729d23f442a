//! Reading a request with serde (JSON text, `serde_json::Value`s): a walk over the [`Field`]
//! table that feeds a [`RequestBuilder`].
//!
//! Each section is read as serde reads a struct, so the errors are serde's own: an unknown
//! name is `unknown field `x`, expected one of …` (its path ends with the name), a name given
//! twice is `duplicate field `x`` (its path is the section's), and a value of the wrong type is
//! serde's `invalid type: …, expected …`. Unlike a derived struct, a section is only an object:
//! a list of its fields' values in order (`"source": ["spiffe://…", "shop"]`), which serde's
//! derive would read, is refused, so that no value lands in a field by its position and every
//! binding reads the same shape. A request as a whole must be an object, which
//! [`Request::from_json`](super::Request::from_json) checks first.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::builder::{Given, RequestBuilder};
use super::field::{Field, Kind};
use super::{Auth, Connection, Destination, Http, Request, Source};

impl<'de, 'a> Deserialize<'de> for Request<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut b = RequestBuilder::new();
        Section {
            b: &mut b,
            section: None,
        }
        .deserialize(deserializer)?;
        Ok(b.into_request())
    }
}

/// `Deserialize` for one section alone, read as it is within a request.
macro_rules! section_deserialize {
    ($ty:ident, $field:expr, $($part:ident).+) => {
        impl<'de, 'a> Deserialize<'de> for $ty<'a> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut b = RequestBuilder::new();
                Section {
                    b: &mut b,
                    section: Some($field),
                }
                .deserialize(deserializer)?;
                Ok(b.into_request().$($part).+)
            }
        }
    };
}

section_deserialize!(Source, Field::Source, source);
section_deserialize!(Destination, Field::Destination, destination);
section_deserialize!(Http, Field::Request, request);
section_deserialize!(Auth, Field::Auth, request.auth);
section_deserialize!(Connection, Field::Connection, connection);

/// One section (`None`: the whole request) read into the builder.
struct Section<'b, 'a> {
    b: &'b mut RequestBuilder<'a>,
    section: Option<Field>,
}

impl<'de> DeserializeSeed<'de> for Section<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let name = Field::struct_name(self.section);
        deserializer.deserialize_struct(name, Field::names(self.section), self)
    }
}

impl<'de, 'a> Visitor<'de> for Section<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", Field::struct_name(self.section))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(field) = map.next_key_seed(Key(self.section))? {
            if self.b.is_given(field) {
                return Err(de::Error::duplicate_field(field.name()));
            }
            let given: Given<'a> = match field.kind() {
                Kind::Section => {
                    self.b.section(field).map_err(custom)?;
                    map.next_value_seed(Section {
                        b: &mut *self.b,
                        section: Some(field),
                    })?;
                    continue;
                }
                Kind::Str => Given::Str(Cow::Owned(map.next_value::<String>()?)),
                Kind::Ip => Given::Ip(map.next_value()?),
                Kind::Port => Given::Port(map.next_value()?),
                Kind::Time => Given::Time(map.next_value()?),
                Kind::StrMap => Given::StrMap(map.next_value()?),
                Kind::StrList => Given::StrList(map.next_value()?),
                Kind::ValueMap => Given::ValueMap(map.next_value()?),
            };
            self.b.put(field, given).map_err(custom)?;
        }
        Ok(())
    }
}

fn custom<E: de::Error>(e: super::RequestError) -> E {
    E::custom(e.message)
}

/// A field's name, looked up in its section.
struct Key(Option<Field>);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Field::child(self.0, v).ok_or_else(|| E::unknown_field(v, Field::names(self.0)))
    }
}
