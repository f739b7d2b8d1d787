//! A record's `requestParameters` in one line for the drill-down's list:
//! `bucketName=logs key=2024/a.gz`, nested keys joined with dots, scrubbed.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// Records larger than this are not summarised (the JSON view shows them whole).
const MAX_RECORD: usize = 64 << 10;

/// `requestParameters` of the raw record as `key=value` pairs, at most `max` characters;
/// `None` when the record has none (or is too large to summarise on the way).
pub fn compact(raw: &str, max: usize) -> Option<String> {
    #[derive(Deserialize)]
    struct Record<'a> {
        #[serde(borrow, rename = "requestParameters")]
        params: Option<&'a RawValue>,
    }
    if raw.len() > MAX_RECORD {
        return None;
    }
    let r: Record = serde_json::from_str(raw).ok()?;
    let v: Value = serde_json::from_str(r.params?.get()).ok()?;
    let mut out = String::new();
    flatten(&v, "", &mut out, max);
    let out = super::sanitize::clean_owned(&out);
    (!out.is_empty()).then(|| crate::text::truncate(&out, max).into_owned())
}

fn flatten(v: &Value, key: &str, out: &mut String, max: usize) {
    if out.len() > max {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                flatten(x, &key, out, max);
            }
        }
        Value::Null => {}
        _ => {
            if !out.is_empty() {
                out.push(' ');
            }
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("{key}={text}"));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_parameters_read_as_dotted_pairs_scrubbed_and_cut() {
        let raw = r#"{"eventName":"PutObject","requestParameters":{"bucketName":"logs","key":"a\u202e.gz","acl":{"grant":["x"]},"n":3,"none":null}}"#;
        assert_eq!(super::compact(raw, 100).as_deref(), Some(r#"bucketName=logs key=a.gz acl.grant=["x"] n=3"#));
        assert_eq!(super::compact(raw, 10).as_deref(), Some("bucketNam…"));
        assert_eq!(super::compact(r#"{"requestParameters":null}"#, 100), None);
        assert_eq!(super::compact("not json", 100), None);
    }
}
