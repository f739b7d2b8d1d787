//! The filter bar: `field:value` terms, ANDed; `-term` excludes; `*` globs; case-insensitive.
//! Fields: `event`, `principal`, `ip`, `error`, `region`, `source`, `agent`, `rule`, and for
//! windows `sigma` (a Sigma rule's title or level), `technique` (an ATT&CK id of a rule that
//! fired) and `country` (of the window's address, with a GeoIP database). A bare word matches principal, address or event name as a substring.

use crate::model::ScoredRow;
use crate::parse::Event;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: Option<String>,
    pattern: String,
    negate: bool,
}

/// A parsed `/` query: `field:value` terms, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    terms: Vec<Term>,
    /// The text as typed, shown in the footer and offered again when the bar reopens.
    pub text: String,
}

/// `*` matches any run of characters; without a `*` the whole value must match.
pub fn glob(pattern: &str, value: &str) -> bool {
    let (p, v) = (pattern.to_lowercase(), value.to_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == v;
    }
    let mut rest = v.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = rest.get(at + part.len()..).unwrap_or(""),
                None => return false,
            }
        }
    }
    true
}

impl Filter {
    /// Parses `text`: whitespace-separated terms, `-` negates, `field:` names a field, `*` globs.
    pub fn parse(text: &str) -> Filter {
        let terms = text
            .split_whitespace()
            .map(|t| {
                let (negate, t) = match t.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, t),
                };
                match t.split_once(':') {
                    Some((f, v)) => Term { field: Some(f.to_lowercase()), pattern: v.to_owned(), negate },
                    None => Term { field: None, pattern: format!("*{t}*"), negate },
                }
            })
            .collect();
        Filter { terms, text: text.to_owned() }
    }

    /// Whether there are no terms (everything matches).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    fn check(&self, get: impl Fn(&str) -> Option<Vec<String>>) -> bool {
        self.terms.iter().all(|t| {
            let hit = match &t.field {
                Some(f) => match get(f) {
                    Some(values) => values.iter().any(|v| glob(&t.pattern, v)),
                    // A field this kind of item does not have does not exclude it.
                    None => return true,
                },
                None => ["principal", "ip", "event"]
                    .iter()
                    .any(|f| get(f).is_some_and(|vs| vs.iter().any(|v| glob(&t.pattern, v)))),
            };
            hit != t.negate
        })
    }

    /// Whether a record matches every term.
    pub fn matches_event(&self, e: &Event) -> bool {
        self.check(|f| {
            Some(vec![match f {
                "event" | "name" => e.name.to_string(),
                "principal" | "user" => e.principal.to_string(),
                "ip" => e.ip.to_string(),
                "error" => e.error_code.as_deref().unwrap_or("").to_owned(),
                "region" => e.region.to_string(),
                "source" | "service" => e.source.to_string(),
                "agent" | "ua" => e.user_agent.to_string(),
                _ => return None,
            }])
        })
    }

    /// Whether a ranked window matches every term it has a field for.
    pub fn matches_row(&self, r: &ScoredRow) -> bool {
        self.check(|f| match f {
            "principal" | "user" => Some(vec![r.row.principal.clone()]),
            "ip" => Some(vec![r.row.source_ip.clone()]),
            "rule" => Some(if r.rules.is_empty() {
                vec![String::new()]
            } else {
                r.rules.iter().map(|s| s.to_string()).collect()
            }),
            // No hit: no value, so `sigma:*` keeps the windows with one and `-sigma:*` the rest.
            "sigma" => Some(r.signatures.iter().flat_map(|s| [s.title.clone(), s.level.name().to_owned()]).collect()),
            "technique" => Some(r.signatures.iter().flat_map(|s| s.techniques.iter().cloned()).collect()),
            "country" => Some(r.row.country.iter().cloned().collect()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ParseOptions, parse_bytes};

    #[test]
    fn globs() {
        assert!(glob("Get*", "GetObject"));
        assert!(glob("*alice*", "arn:aws:iam::1:user/Alice"));
        assert!(glob("203.0.113.*", "203.0.113.9"));
        assert!(!glob("203.0.113.*", "203.0.114.9"));
        assert!(glob("AccessDenied", "accessdenied"));
        assert!(!glob("Access", "AccessDenied"));
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy"));
    }

    #[test]
    fn terms_and_negation_on_events() {
        let json = r#"{"eventTime":"2024-03-01T10:00:00Z","eventName":"GetObject","sourceIPAddress":"203.0.113.9","errorCode":"AccessDenied","awsRegion":"eu-west-1","userIdentity":{"arn":"arn:aws:iam::1:user/alice"}}"#;
        let ev = parse_bytes(json.as_bytes(), &ParseOptions::default()).0.remove(0);
        assert!(Filter::parse("event:Get* principal:*alice*").matches_event(&ev));
        assert!(Filter::parse("ip:203.0.113.* error:AccessDenied region:eu-*").matches_event(&ev));
        assert!(!Filter::parse("event:Get* -error:AccessDenied").matches_event(&ev));
        assert!(Filter::parse("alice").matches_event(&ev));
        assert!(!Filter::parse("bob").matches_event(&ev));
        assert!(Filter::parse("").matches_event(&ev));
    }

    #[test]
    fn windows_filter_by_sigma_title_level_and_technique() {
        use crate::sigma::{Level, Signature};
        let mut hit = ScoredRow::default();
        hit.signatures.push(Signature {
            id: "4db60cc0-36fb-42b7-9b58-a5b53019fb74".into(),
            title: "CloudTrail Logging Stopped".into(),
            level: Level::High,
            count: 1,
            techniques: vec!["T1562.008".into()],
            habitual: false,
        });
        let quiet = ScoredRow::default();
        let keeps = |q: &str| (Filter::parse(q).matches_row(&hit), Filter::parse(q).matches_row(&quiet));
        assert_eq!(keeps("sigma:*logging*"), (true, false));
        assert_eq!(keeps("sigma:high"), (true, false));
        assert_eq!(keeps("sigma:critical"), (false, false));
        assert_eq!(keeps("technique:T1562*"), (true, false));
        assert_eq!(keeps("technique:t1562.008"), (true, false));
        assert_eq!(keeps("sigma:*"), (true, false));
        assert_eq!(keeps("-sigma:*"), (false, true));
        let mut located = ScoredRow::default();
        located.row.country = Some("HU".into());
        assert!(Filter::parse("country:hu").matches_row(&located) && !Filter::parse("country:hu").matches_row(&quiet));
        assert!(
            !Filter::parse("-country:HU").matches_row(&located) && Filter::parse("-country:HU").matches_row(&quiet)
        );
    }
}
