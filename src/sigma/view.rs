//! A parsed record as Sigma sees it. The fields rules test most (`eventName`, `eventSource`,
//! `errorCode`, `userAgent`, the identity's type and key) are read from the typed record; any
//! other path (`requestParameters.*`, `responseElements.*`, `userIdentity.arn`, …) from the
//! raw JSON, parsed once and only when a rule asks.

use std::borrow::Cow;
use std::cell::OnceCell;

use rsigma_eval::{Event as SigmaEvent, EventValue, JsonEvent};
use serde_json::Value;

use crate::parse::Event;

/// One record, for the rule engine.
pub struct View<'a> {
    ev: &'a Event,
    raw: OnceCell<Option<Value>>,
}

impl<'a> View<'a> {
    /// `ev` as a Sigma event.
    pub fn new(ev: &'a Event) -> Self {
        View { ev, raw: OnceCell::new() }
    }

    fn raw(&self) -> Option<JsonEvent<'_>> {
        self.raw
            .get_or_init(|| self.ev.raw.as_deref().and_then(|r| serde_json::from_str(r).ok()))
            .as_ref()
            .map(JsonEvent::borrow)
    }

    /// The typed field at `path`: `Some(None)` when the record has none, `None` when the path is
    /// not one kept typed. Only fields kept exactly as they came are answered here.
    fn typed(&self, path: &str) -> Option<Option<&str>> {
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
            _ => return None,
        })
    }
}

impl SigmaEvent for View<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        match self.typed(path) {
            // An empty typed field is one the record did not have.
            Some(v) => v.filter(|s| !s.is_empty()).map(|s| EventValue::Str(Cow::Borrowed(s))),
            // The JSON event borrows from the value this view holds; copy it out.
            None => self.raw()?.get_field(path).map(owned),
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
