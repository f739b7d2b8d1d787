//! Deserializers that accept whatever type a field turns up with.
//!
//! Real CloudTrail (and the tools that re-export it) is loose about types: `readOnly` is a bool
//! in S3 files and a string in LookupEvents, `eventTime` can be a number, a data lake may null
//! anything. A field of the wrong type must cost that field, never the record.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A scalar as text: strings borrowed where possible, numbers and bools formatted,
/// null, objects and arrays dropped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t: Text<'de> = d.deserialize_any(TextVisitor)?;
        Ok(t)
    }
}

/// An object field that may turn up as anything else: only a JSON object is kept (as its raw
/// text, parsed later by whoever needs it); null, strings, numbers and arrays become `None`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Object<'a>(pub Option<&'a serde_json::value::RawValue>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Object<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: &'de serde_json::value::RawValue = serde::Deserialize::deserialize(d)?;
        Ok(Object(raw.get().starts_with('{').then_some(raw)))
    }
}

impl<'a> Object<'a> {
    /// Parses the object into `T`; a shape that does not fit gives `T::default()`.
    pub fn parse<T: serde::Deserialize<'a> + Default>(&self) -> T {
        self.0.and_then(|r| serde_json::from_str(r.get()).ok()).unwrap_or_default()
    }

    pub fn text(&self) -> Option<&'a str> {
        self.0.map(|r| r.get())
    }
}

/// The text, scrubbed (see [`clean`](super::sanitize::clean)); empty when absent or not text.
pub(super) fn boxed(t: &Text) -> Box<str> {
    boxed_opt(t).unwrap_or_default()
}

/// The text, scrubbed, when it is there.
pub(super) fn boxed_opt(t: &Text) -> Option<Box<str>> {
    t.as_str().map(|s| super::sanitize::clean(s).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct T<'a> {
        #[serde(borrow, default)]
        v: Text<'a>,
        #[serde(borrow, default)]
        o: Object<'a>,
    }

    #[test]
    fn any_type_is_accepted() {
        for (json, want) in [
            (r#"{"v":"x"}"#, Some("x")),
            (r#"{"v":true}"#, Some("true")),
            (r#"{"v":12}"#, Some("12")),
            (r#"{"v":null}"#, None),
            (r#"{"v":{"a":[1,2]}}"#, None),
            (r#"{"v":[1,"a"]}"#, None),
            (r#"{}"#, None),
        ] {
            let t: T = serde_json::from_str(json).unwrap();
            assert_eq!(t.v.as_str(), want, "{json}");
        }
    }

    #[test]
    fn objects_only_when_objects() {
        let t: T = serde_json::from_str(r#"{"o":{"a":1}}"#).unwrap();
        assert_eq!(t.o.text(), Some(r#"{"a":1}"#));
        for json in [r#"{"o":"s"}"#, r#"{"o":null}"#, r#"{"o":[1]}"#, r#"{"o":3}"#] {
            let t: T = serde_json::from_str(json).unwrap();
            assert!(t.o.text().is_none(), "{json}");
        }
    }
}
