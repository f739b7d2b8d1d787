//! A parsed record as Sigma sees it. The fields rules test most (`eventName`, `eventSource`,
//! `errorCode`, `userAgent`, `eventType`, the identity's ARN, type, key and issuer type) are
//! read from the typed record; any other path (`requestParameters.*`, `responseElements.*`, …)
//! from the raw JSON, parsed once and only when a rule asks.

use std::borrow::Cow;
use std::cell::OnceCell;

use rsigma_eval::{Event as SigmaEvent, EventValue, JsonEvent};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::parse::{ArnKept, Event};

/// The paths [`View`] answers from the typed record: the index needs no raw record for a rule
/// that reads only these.
const TYPED: &[&str] = &[
    "eventID",
    "eventSource",
    "eventName",
    "eventType",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "userIdentity.type",
    "userIdentity.arn",
    "userIdentity.accessKeyId",
    "userIdentity.userName",
    "userIdentity.sessionContext.sessionIssuer.type",
];

/// Whether `path` is read from the typed record.
pub fn is_typed(path: &str) -> bool {
    TYPED.contains(&path)
}

/// One record, for the rule engine.
pub struct View<'a> {
    ev: &'a Event,
    /// The record's top-level keys, each pointing at its unparsed value: a rule reading
    /// `sessionContext.sessionIssuer.type` parses that path, not the whole record.
    top: OnceCell<Option<Entries<'a>>>,
    /// The whole record, for what the paths cannot reach (arrays, keyword searches).
    raw: OnceCell<Option<Value>>,
}

impl<'a> View<'a> {
    /// `ev` as a Sigma event.
    pub fn new(ev: &'a Event) -> Self {
        View { ev, top: OnceCell::new(), raw: OnceCell::new() }
    }

    /// The value at a dotted path through objects, parsing only the objects on the way.
    /// `None` inside means absent; `None` outside means the path crosses something else (an
    /// array, an escaped key) and the whole record must answer.
    fn path(&self, path: &str) -> Option<Option<EventValue<'static>>> {
        if path.contains(['[', '\\', '*']) {
            return None;
        }
        let top =
            self.top.get_or_init(|| self.ev.raw.as_deref().and_then(|r| serde_json::from_str(r).ok())).as_ref()?;
        let mut parts = path.split('.');
        let first = parts.next()?;
        let Some(mut at) = top.0.iter().find(|(k, _)| *k == first).map(|(_, v)| *v) else { return Some(None) };
        for key in parts {
            let entries: Entries = serde_json::from_str(at.get()).ok()?;
            match entries.0.into_iter().find(|(k, _)| *k == key) {
                Some((_, v)) => at = v,
                None => return Some(None),
            }
        }
        let leaf: Value = serde_json::from_str(at.get()).ok()?;
        if leaf.is_array() {
            return None;
        }
        Some(Some(owned(EventValue::from(&leaf))))
    }

    fn raw(&self) -> Option<JsonEvent<'_>> {
        self.raw
            .get_or_init(|| self.ev.raw.as_deref().and_then(|r| serde_json::from_str(r).ok()))
            .as_ref()
            .map(JsonEvent::borrow)
    }

    /// The typed field at `path`: `Some(None)` when the record has none, `None` when the path is
    /// not one kept typed (or, for the ARN, was not kept as it came). Only fields kept exactly
    /// as they came are answered here; the paths are [`TYPED`]'s.
    pub(super) fn typed(&self, path: &str) -> Option<Option<&str>> {
        let e = self.ev;
        Some(match path {
            "eventID" => Some(&*e.id),
            "eventSource" => Some(&*e.source),
            "eventName" => Some(&*e.name),
            "awsRegion" => Some(&*e.region),
            "sourceIPAddress" => Some(&*e.ip),
            "userAgent" => Some(&*e.user_agent),
            "errorCode" => e.error_code.as_deref(),
            "errorMessage" => e.error_message.as_deref(),
            "userIdentity.type" => Some(&*e.identity_type),
            "userIdentity.accessKeyId" => e.access_key.as_deref(),
            "userIdentity.userName" => e.user_name.as_deref(),
            "userIdentity.arn" => match e.arn {
                ArnKept::Absent => None,
                ArnKept::AsPrincipal => Some(&*e.principal),
                // Only the raw record has it as it came; without one, the cleaned principal is
                // the nearest there is.
                ArnKept::Altered if e.raw.is_some() => return None,
                ArnKept::Altered => Some(&*e.principal),
            },
            "userIdentity.sessionContext.sessionIssuer.type" => e.issuer_type.as_deref(),
            "eventType" => e.event_type.as_deref(),
            _ => return None,
        })
    }
}

impl SigmaEvent for View<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        match self.typed(path) {
            // An empty typed field is one the record did not have.
            Some(v) => v.filter(|s| !s.is_empty()).map(|s| EventValue::Str(Cow::Borrowed(s))),
            None => match self.path(path) {
                Some(v) => v,
                // The JSON event borrows from the value this view holds; copy it out.
                None => self.raw()?.get_field(path).map(owned),
            },
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.raw().is_some_and(|r| r.any_string_value(pred))
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.raw()
            .map_or_else(Vec::new, |r| r.all_string_values().into_iter().map(|s| Cow::Owned(s.into_owned())).collect())
    }

    fn to_json(&self) -> Value {
        self.raw().map_or(Value::Null, |r| r.to_json())
    }
}

fn owned(v: EventValue<'_>) -> EventValue<'static> {
    match v {
        EventValue::Str(s) => EventValue::Str(Cow::Owned(s.into_owned())),
        EventValue::Int(n) => EventValue::Int(n),
        EventValue::Float(f) => EventValue::Float(f),
        EventValue::Bool(b) => EventValue::Bool(b),
        EventValue::Null => EventValue::Null,
        EventValue::Array(xs) => EventValue::Array(xs.into_iter().map(owned).collect()),
        EventValue::Map(kv) => {
            EventValue::Map(kv.into_iter().map(|(k, v)| (Cow::Owned(k.into_owned()), owned(v))).collect())
        }
    }
}

/// An object's entries in order, each value unparsed: a record has a few dozen keys, so a
/// scan beats hashing them, and nothing below them is parsed.
struct Entries<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Entries<'de>, M::Error> {
                let mut v = Vec::with_capacity(m.size_hint().unwrap_or(24));
                while let Some(entry) = m.next_entry::<&'de str, &'de RawValue>()? {
                    v.push(entry);
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ParseOptions, parse_bytes};

    #[test]
    fn the_typed_list_names_exactly_the_paths_answered_from_the_typed_record() {
        let rec = r#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventName":"X","eventSource":"s",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s"}}]}"#;
        let ev = parse_bytes(rec.as_bytes(), &ParseOptions::default()).0.remove(0);
        let view = View::new(&ev);
        for path in TYPED {
            assert!(view.typed(path).is_some(), "{path} is listed but not answered");
        }
        for path in ["requestParameters.userName", "userIdentity.principalId", "eventTime", "recipientAccountId"] {
            assert!(view.typed(path).is_none() && !is_typed(path), "{path}");
        }
    }
}
