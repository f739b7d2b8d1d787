//! The filter bar: `field:value` terms, ANDed; `-term` excludes; `*` globs; case-insensitive.
//! Fields: `event`, `principal`, `ip`, `error`, `region`, `source`, `agent`, `rule`, and for
//! windows `sigma` (a Sigma rule's title or level), `technique` (an ATT&CK id of a rule that
//! fired) and `country` (of the window's address, with a GeoIP database). A bare word matches
//! principal, address or event name as a substring. A window matches a record's field when
//! one of its records does (`event:Stop*` keeps the windows that stopped something); a field
//! the filter does not know is an error, not a term that matches everything.

use crate::features::vocab::{Kind, Vocab};
use crate::model::ScoredRow;
use crate::parse::Event;

/// Every field a term may name, with its aliases.
pub const FIELDS: &[&str] = &[
    "event",
    "name",
    "principal",
    "user",
    "ip",
    "error",
    "region",
    "source",
    "service",
    "agent",
    "ua",
    "rule",
    "sigma",
    "technique",
    "country",
];

/// A time term: `after:T`, `before:T` or `around:T±D` (T: `2023-07-10T12:05Z`, with seconds,
/// or a date; D: `90s`, `10m`, `2h`, `1d`), as a half-open span of Unix seconds.
fn time_span(field: &str, value: &str) -> Option<Result<(i64, i64), String>> {
    let at = |t: &str| -> Result<i64, String> {
        let t = t.trim();
        let full = match t.len() {
            10 => format!("{t}T00:00:00Z"),
            17 if t.ends_with('Z') => format!("{}:00Z", t.trim_end_matches('Z')),
            16 => format!("{t}:00Z"),
            _ => t.to_owned(),
        };
        crate::parse::time::parse_event_time(&full)
            .filter(|_| full.contains('-'))
            .ok_or_else(|| format!("'{}' is not a time like 2023-07-10T12:05Z", crate::parse::sanitize::clean(t)))
    };
    Some(match field {
        "after" => at(value).map(|t| (t, i64::MAX)),
        "before" => at(value).map(|t| (i64::MIN, t)),
        "around" => {
            let (t, d) = value.split_once('±').or_else(|| value.split_once("+-")).unwrap_or((value, "5m"));
            let split = d.find(|c: char| !c.is_ascii_digit()).unwrap_or(d.len());
            let (n, unit) = d.split_at(split);
            let mult = match unit {
                "" | "s" => Some(1),
                "m" => Some(60),
                "h" => Some(3600),
                "d" => Some(86_400),
                _ => None,
            };
            match n.parse::<i64>().ok().zip(mult) {
                // Both ends in: "within 5 minutes" of it.
                Some((n, m)) => {
                    at(t).map(|t| (t.saturating_sub(n.saturating_mul(m)), t.saturating_add(n.saturating_mul(m) + 1)))
                }
                None => Err(format!("'{}' is not a span like 10m", crate::parse::sanitize::clean(d))),
            }
        }
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: Option<String>,
    pattern: String,
    negate: bool,
    /// A time term's span, `[from, to)`.
    span: Option<(i64, i64)>,
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
    /// Parses `text`: whitespace-separated terms, `-` negates, `field:` names a field, `*`
    /// globs. A field it does not know is an error naming the ones it does.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let terms = text
            .split_whitespace()
            .map(|t| {
                let (negate, t) = match t.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, t),
                };
                match t.split_once(':') {
                    Some((f, v)) => {
                        let field = f.to_lowercase();
                        if let Some(span) = time_span(&field, v) {
                            return Ok(Term { field: Some(field), pattern: String::new(), negate, span: Some(span?) });
                        }
                        if !FIELDS.contains(&field.as_str()) {
                            return Err(format!(
                                "unknown field '{}:' (fields: event, principal, ip, error, region, source, agent, rule, sigma, technique, country; after:, before:, around:)",
                                crate::parse::sanitize::clean(f)
                            ));
                        }
                        Ok(Term { field: Some(field), pattern: v.to_owned(), negate, span: None })
                    }
                    None => Ok(Term { field: None, pattern: format!("*{t}*"), negate, span: None }),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Filter { terms, text: text.to_owned() })
    }

    /// Whether there are no terms (everything matches).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether every term holds for an item spanning `[from, to)` whose fields `get` gives.
    fn check(&self, (from, to): (i64, i64), get: impl Fn(&str) -> Option<Vec<String>>) -> bool {
        self.terms.iter().all(|t| {
            if let Some((a, b)) = t.span {
                return (from < b && to > a) != t.negate;
            }
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
        self.check((e.time, e.time.saturating_add(1)), |f| {
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

    /// Whether a ranked window matches every term: a record's field through the values its
    /// records had (their words in `vocab`).
    pub fn matches_row(&self, r: &ScoredRow, vocab: &Vocab) -> bool {
        let words = |kind, hashes: &[u64]| Some(vocab.words(kind, hashes).map(str::to_owned).collect::<Vec<_>>());
        let w = &r.row.words;
        self.check((r.row.window_start, r.row.window_end), |f| match f {
            "principal" | "user" => Some(vec![r.row.principal.clone()]),
            "ip" => Some(vec![r.row.source_ip.clone()]),
            "event" | "name" => words(Kind::Name, &r.row.names),
            "source" | "service" => words(Kind::Source, &w.sources),
            "agent" | "ua" => words(Kind::Agent, &w.agents),
            "region" => words(Kind::Region, &w.regions),
            // A window without errors has the empty one, as a record without one does.
            "error" => words(Kind::Error, &w.errors).map(|v| if v.is_empty() { vec![String::new()] } else { v }),
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
        assert!(Filter::parse("event:Get* principal:*alice*").unwrap().matches_event(&ev));
        assert!(Filter::parse("ip:203.0.113.* error:AccessDenied region:eu-*").unwrap().matches_event(&ev));
        assert!(!Filter::parse("event:Get* -error:AccessDenied").unwrap().matches_event(&ev));
        assert!(Filter::parse("alice").unwrap().matches_event(&ev));
        assert!(!Filter::parse("bob").unwrap().matches_event(&ev));
        assert!(Filter::parse("").unwrap().matches_event(&ev));
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
        let keeps = |q: &str| {
            (
                Filter::parse(q).unwrap().matches_row(&hit, &Vocab::default()),
                Filter::parse(q).unwrap().matches_row(&quiet, &Vocab::default()),
            )
        };
        assert_eq!(keeps("sigma:*logging*"), (true, false));
        assert_eq!(keeps("sigma:high"), (true, false));
        assert_eq!(keeps("sigma:critical"), (false, false));
        assert_eq!(keeps("technique:T1562*"), (true, false));
        assert_eq!(keeps("technique:t1562.008"), (true, false));
        assert_eq!(keeps("sigma:*"), (true, false));
        assert_eq!(keeps("-sigma:*"), (false, true));
        let mut located = ScoredRow::default();
        located.row.country = Some("HU".into());
        assert!(
            Filter::parse("country:hu").unwrap().matches_row(&located, &Vocab::default())
                && !Filter::parse("country:hu").unwrap().matches_row(&quiet, &Vocab::default())
        );
        assert!(
            !Filter::parse("-country:HU").unwrap().matches_row(&located, &Vocab::default())
                && Filter::parse("-country:HU").unwrap().matches_row(&quiet, &Vocab::default())
        );
    }
}

#[cfg(test)]
mod windows {
    use super::*;
    use crate::features::FeatureConfig;
    use crate::parse::{ParseOptions, parse_bytes};

    fn record(name: &str, error: Option<&str>, agent: &str) -> String {
        let err = error.map(|e| format!(r#","errorCode":"{e}""#)).unwrap_or_default();
        format!(
            r#"{{"eventTime":"2024-03-01T10:00:00Z","eventName":"{name}","eventSource":"cloudtrail.amazonaws.com","awsRegion":"eu-west-1","userAgent":"{agent}","sourceIPAddress":"203.0.113.9","userIdentity":{{"arn":"arn:aws:iam::1:user/{name}"}}{err}}}"#
        )
    }

    /// Two windows through the real feature store: one stopped a trail and was denied, the
    /// other only read.
    fn rows() -> (Vec<ScoredRow>, std::sync::Arc<Vocab>) {
        let mut store = crate::features::FeatureStore::new(FeatureConfig::default());
        for doc in [record("StopLogging", Some("AccessDenied"), "kali"), record("GetObject", None, "aws-cli/2")] {
            let ev = parse_bytes(doc.as_bytes(), &ParseOptions::default()).0.remove(0);
            store.add(&ev);
        }
        let rows = store.rows().into_iter().map(|row| ScoredRow { row, ..Default::default() }).collect();
        (rows, store.vocab())
    }

    /// `/event:Stop*` or `/error:AccessDenied` on the anomaly list kept every window: a
    /// window had no event names to match, and a field it lacked did not exclude it.
    #[test]
    fn windows_keep_only_those_with_a_matching_record() {
        let (rows, vocab) = rows();
        let kept = |q: &str| -> Vec<String> {
            let f = Filter::parse(q).unwrap();
            rows.iter().filter(|r| f.matches_row(r, &vocab)).map(|r| r.row.principal.clone()).collect()
        };
        let stop = vec!["arn:aws:iam::1:user/StopLogging".to_owned()];
        let get = vec!["arn:aws:iam::1:user/GetObject".to_owned()];
        assert_eq!(kept("event:Stop*"), stop);
        assert_eq!(kept("error:AccessDenied"), stop);
        assert_eq!(kept("-error:AccessDenied"), get);
        assert_eq!(kept("agent:kali"), stop);
        assert_eq!(kept("source:cloudtrail* event:Get*"), get);
        assert_eq!(kept("region:us-*"), Vec::<String>::new());
        assert_eq!(kept("error:"), get, "a window without errors has the empty one");
    }

    /// `evnt:Get*` was taken as a term on a field nothing has, and matched everything.
    #[test]
    fn an_unknown_field_is_an_error() {
        let e = Filter::parse("evnt:Get* ip:1.2.3.4").unwrap_err();
        assert!(e.contains("unknown field 'evnt:'") && e.contains("event"), "{e}");
        assert!(Filter::parse("-bogus:x").is_err());
        assert!(Filter::parse("EVENT:Get* name:x user:y service:z ua:a").is_ok(), "fields and aliases, any case");
        // A colon in a bare value is a field too; an address with a port says so.
        assert!(Filter::parse("203.0.113.9:443").is_err());
    }
}

#[cfg(test)]
mod times {
    use super::*;
    use crate::parse::{ParseOptions, parse_bytes};

    fn at(time: &str) -> Event {
        let json = format!(
            r#"{{"eventTime":"{time}","eventName":"GetObject","userIdentity":{{"arn":"arn:aws:iam::1:user/a"}}}}"#
        );
        parse_bytes(json.as_bytes(), &ParseOptions::default()).0.remove(0)
    }

    #[test]
    fn after_before_and_around_keep_records_and_windows_in_time() {
        let (early, late) = (at("2023-07-10T12:00:00Z"), at("2023-07-10T12:20:00Z"));
        let keeps = |q: &str| {
            let f = Filter::parse(q).unwrap();
            (f.matches_event(&early), f.matches_event(&late))
        };
        assert_eq!(keeps("after:2023-07-10T12:10Z"), (false, true));
        assert_eq!(keeps("before:2023-07-10T12:10Z"), (true, false));
        assert_eq!(keeps("around:2023-07-10T12:05Z±10m"), (true, false));
        assert_eq!(keeps("around:2023-07-10T12:15:00Z+-5m"), (false, true));
        assert_eq!(keeps("-after:2023-07-10"), (false, false), "both are after midnight");
        assert_eq!(keeps("after:2023-07-10T12:00 event:Get*"), (true, true), "the span's start is in it");
        // A window matches when it overlaps the span.
        let mut w = ScoredRow::default();
        (w.row.window_start, w.row.window_end) = (early.time - 600, early.time + 3000);
        let vocab = Vocab::default();
        assert!(Filter::parse("around:2023-07-10T12:45Z±1m").unwrap().matches_row(&w, &vocab));
        assert!(!Filter::parse("after:2023-07-10T13:00Z").unwrap().matches_row(&w, &vocab));
        // Mistakes are said.
        assert!(Filter::parse("after:yesterday").unwrap_err().contains("not a time"));
        assert!(Filter::parse("around:2023-07-10T12:05Z±10y").unwrap_err().contains("not a span"));
    }
}
