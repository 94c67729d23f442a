//! Checking a request against [`RequestLimits`].
//!
//! [`RequestBuilder`](super::RequestBuilder) already refuses what no configuration may allow
//! (maps and lists beyond [`RequestLimits::MAX_MAP_ENTRIES`] and
//! [`RequestLimits::MAX_LIST_ITEMS`], values nested more than [`RequestLimits::MAX_DEPTH`]
//! levels); this walks the request once for the configurable limits, which are at most those
//! ceilings in effect. [`RequestBuilder::finish`](super::RequestBuilder::finish) and
//! [`Request::from_json_with`] call it.

use std::borrow::Cow;

use super::{Pairs, Request, RequestError, Value};
use crate::limits::RequestLimits;

impl Request<'_> {
    /// Checks the request against `limits`, naming the first field that exceeds one.
    pub fn check_limits(&self, limits: &RequestLimits) -> Result<(), RequestError> {
        let check = Check { limits };
        let s = &self.source;
        for (field, value) in [
            ("source.principal", &s.principal),
            ("source.namespace", &s.namespace),
            ("source.service_account", &s.service_account),
            ("source.trust_domain", &s.trust_domain),
            ("destination.service", &self.destination.service),
            ("destination.namespace", &self.destination.namespace),
            ("request.method", &self.request.method),
            ("request.path", &self.request.path),
            ("request.host", &self.request.host),
            ("request.auth.principal", &self.request.auth.principal),
            ("request.auth.presenter", &self.request.auth.presenter),
            ("connection.sni", &self.connection.sni),
        ] {
            if let Some(v) = value {
                check.string(field, v)?;
            }
        }
        check.pairs("source.labels", &s.labels, limits.max_labels, "max_labels")?;
        let labels = &self.destination.labels;
        check.pairs(
            "destination.labels",
            labels,
            limits.max_labels,
            "max_labels",
        )?;
        let headers = &self.request.headers;
        check.pairs(
            "request.headers",
            headers,
            limits.max_headers,
            "max_headers",
        )?;
        if let Some(audiences) = &self.request.auth.audiences {
            check.count(
                "request.auth.audiences",
                audiences.len(),
                limits.max_list_items,
                "max_list_items",
            )?;
            for a in audiences.iter() {
                check.string("request.auth.audiences", a)?;
            }
        }
        check.values("request.auth.claims", &self.request.auth.claims)?;
        check.values("context", &self.context)
    }
}

struct Check<'l> {
    limits: &'l RequestLimits,
}

impl Check<'_> {
    fn fail(field: &str, message: String) -> Result<(), RequestError> {
        Err(RequestError {
            field: field.to_string(),
            message: format!("`{field}`: {message}"),
        })
    }

    fn count(&self, field: &str, n: usize, max: usize, name: &str) -> Result<(), RequestError> {
        if n > max {
            return Self::fail(
                field,
                format!("{n} entries exceed `RequestLimits::{name}` ({max})"),
            );
        }
        Ok(())
    }

    fn string(&self, field: &str, s: &str) -> Result<(), RequestError> {
        let max = self.limits.max_string_bytes;
        if s.len() > max {
            let n = s.len();
            return Self::fail(
                field,
                format!("a string of {n} bytes exceeds `RequestLimits::max_string_bytes` ({max})"),
            );
        }
        Ok(())
    }

    fn pairs(
        &self,
        field: &str,
        pairs: &Pairs<'_, Cow<'_, str>>,
        max: usize,
        name: &str,
    ) -> Result<(), RequestError> {
        self.count(field, pairs.len(), max, name)?;
        for (k, v) in pairs.iter() {
            self.string(field, k)?;
            self.string(field, v)?;
        }
        Ok(())
    }

    /// Claims or context: every object and list at any depth, every key and string. The
    /// reader bounds the depth at 16, so the recursion is bounded too.
    fn values(&self, field: &str, pairs: &Pairs<'_, Value<'_>>) -> Result<(), RequestError> {
        let max = self.limits.max_map_entries;
        self.count(field, pairs.len(), max, "max_map_entries")?;
        for (k, v) in pairs.iter() {
            self.string(field, k)?;
            self.value(field, v)?;
        }
        Ok(())
    }

    fn value(&self, field: &str, v: &Value<'_>) -> Result<(), RequestError> {
        match v {
            Value::Str(s) => self.string(field, s),
            Value::Int(_) | Value::Bool(_) => Ok(()),
            Value::List(items) => {
                let max = self.limits.max_list_items;
                self.count(field, items.len(), max, "max_list_items")?;
                items.iter().try_for_each(|item| self.value(field, item))
            }
            Value::Map(pairs) => self.values(field, pairs),
        }
    }
}
