//! Which rules can match which events: nearly every CloudTrail rule names the API calls it is
//! about, so the rules are split by `eventName` and an event is matched only against the
//! rules for its call (and the few that name none). 795 rules then cost about as much as the
//! handful that apply.
//!
//! The analysis is sound, never clever: a rule is filed under a set of calls only when its
//! condition cannot hold for any other call; anything it cannot see through (a negation, a
//! modifier on `eventName`, a keyword search) files it with the rules matched against every
//! event.

use std::collections::BTreeSet;

use rsigma_parser::{
    ConditionExpr, CorrelationCondition, CorrelationRule, Detection, Detections, Modifier, Quantifier, SelectorPattern,
    SigmaRule, SigmaValue, SpecialChar, StringPart,
};

use super::view::is_typed;

/// A call a rule can be about: a lower-cased name, or every name with a lower-cased prefix
/// (`eventName|startswith:` or a trailing `*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Call {
    /// This name.
    Name(String),
    /// Every name starting with this.
    Prefix(String),
}

/// The calls, or `None` for "any call".
type Calls = Option<BTreeSet<Call>>;

/// The calls (`eventName`, lower-cased: Sigma compares case-insensitively) an event must be
/// for `rule` to match it; `None` when it could match any.
pub fn calls(rule: &SigmaRule) -> Calls {
    let d = &rule.detection;
    // Several conditions are alternatives.
    union(d.conditions.iter().map(|c| condition(c, d)))
}

fn condition(c: &ConditionExpr, d: &Detections) -> Calls {
    match c {
        ConditionExpr::And(xs) => intersect(xs.iter().map(|x| condition(x, d))),
        ConditionExpr::Or(xs) => union(xs.iter().map(|x| condition(x, d))),
        // `not X` holds for calls X never names.
        ConditionExpr::Not(_) => None,
        ConditionExpr::Identifier(name) => d.named.get(name).and_then(detection),
        ConditionExpr::Selector { quantifier, pattern } => {
            let picked = d.named.iter().filter(|(k, _)| selects(pattern, k)).map(|(_, v)| detection(v));
            match quantifier {
                Quantifier::All => intersect(picked),
                // `1 of` and `N of`: any one of them may be among those that hold.
                Quantifier::Any | Quantifier::Count(_) => union(picked),
            }
        }
    }
}

/// The calls a named detection requires.
fn detection(det: &Detection) -> Calls {
    match det {
        // Items of a map all hold: any item fixing the call narrows it.
        Detection::AllOf(items) => intersect(items.iter().map(|it| {
            if it.field.name.as_deref() != Some("eventName") {
                return None;
            }
            let prefix = match it.field.modifiers.as_slice() {
                [] => false,
                [Modifier::StartsWith] => true,
                _ => return None,
            };
            let mut calls = BTreeSet::new();
            for v in &it.values {
                let SigmaValue::String(s) = v else { return None };
                calls.insert(match (s.parts.as_slice(), prefix) {
                    ([StringPart::Plain(p)], false) => Call::Name(p.to_lowercase()),
                    ([StringPart::Plain(p)], true)
                    | ([StringPart::Plain(p), StringPart::Special(SpecialChar::WildcardMulti)], false) => {
                        Call::Prefix(p.to_lowercase())
                    }
                    _ => return None,
                });
            }
            Some(calls)
        })),
        Detection::AnyOf(ds) => union(ds.iter().map(detection)),
        _ => None,
    }
}

/// Every part must hold: the calls all the narrowing parts allow (parts that allow any call
/// do not widen it). Names intersect exactly; where prefixes are involved, a side made of
/// names alone is kept, else the first: either holds every call both allow.
fn intersect(parts: impl Iterator<Item = Calls>) -> Calls {
    let names_only = |c: &BTreeSet<Call>| c.iter().all(|c| matches!(c, Call::Name(_)));
    parts.flatten().reduce(|a, b| match (names_only(&a), names_only(&b)) {
        (true, true) => a.intersection(&b).cloned().collect(),
        (_, true) => b,
        _ => a,
    })
}

/// Any part may hold: the calls any of them allows, or any call if one of them allows any.
fn union(mut parts: impl Iterator<Item = Calls>) -> Calls {
    parts.try_fold(BTreeSet::new(), |mut acc, p| {
        acc.extend(p?);
        Some(acc)
    })
}

/// The fields matching `rule` reads, when every one is kept typed: its result then depends on
/// their values alone. `None` when it may read the raw record (a field kept only there, a
/// field reference, a keyword search, an array block). Sound in the same way as [`calls`].
pub fn typed_fields(rule: &SigmaRule) -> Option<Vec<String>> {
    let mut out = BTreeSet::new();
    for d in rule.detection.named.values() {
        fields_of(d, &mut out)?;
    }
    Some(out.into_iter().collect())
}

fn fields_of(d: &Detection, out: &mut BTreeSet<String>) -> Option<()> {
    match d {
        Detection::AllOf(items) => {
            for it in items {
                // A keyword (no field) searches every value; a field reference names a second
                // field in its value.
                let name = it.field.name.as_ref()?;
                if !is_typed(name) || it.field.modifiers.iter().any(|m| matches!(m, Modifier::FieldRef)) {
                    return None;
                }
                out.insert(name.clone());
            }
        }
        Detection::AnyOf(ds) | Detection::And(ds) => ds.iter().try_for_each(|d| fields_of(d, out))?,
        _ => return None,
    }
    Some(())
}

/// Whether counting a rule's matches for `c` reads a field the parsed record does not keep
/// typed (its group-by fields, aliases, or the field a value count counts).
pub fn correlation_reads_raw(c: &CorrelationRule) -> bool {
    let counted = match &c.condition {
        CorrelationCondition::Threshold { field, .. } => field.iter().flatten().any(|f| !is_typed(f)),
        CorrelationCondition::Extended(_) => false,
    };
    counted || !c.aliases.is_empty() || c.group_by.iter().any(|f| !is_typed(f))
}

/// Sigma's selector patterns: `them` (every detection not starting with `_`) or a name with a
/// trailing `*`.
fn selects(pattern: &SelectorPattern, name: &str) -> bool {
    match pattern {
        SelectorPattern::Them => !name.starts_with('_'),
        SelectorPattern::Pattern(p) => match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == p,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> SigmaRule {
        rsigma_parser::parse_sigma_yaml(yaml).unwrap().rules.remove(0)
    }

    fn names(c: Calls) -> Option<Vec<String>> {
        c.map(|s| {
            s.into_iter()
                .map(|c| match c {
                    Call::Name(n) => n,
                    Call::Prefix(p) => format!("{p}*"),
                })
                .collect()
        })
    }

    #[test]
    fn a_rule_is_filed_under_its_calls_only_when_nothing_else_can_match() {
        let head = "title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n";
        let r = |body: &str| names(calls(&rule(&format!("{head}{body}"))));
        let one =
            "  sel: {eventSource: iam.amazonaws.com, eventName: [CreateUser, CreateAccessKey]}\n  condition: sel\n";
        assert_eq!(r(one), Some(vec!["createaccesskey".into(), "createuser".into()]));
        // A filter narrows nothing; a negated selection cannot file the rule anywhere.
        let filtered =
            "  sel: {eventName: GetObject}\n  filter: {eventName: PutObject}\n  condition: sel and not filter\n";
        assert_eq!(r(filtered), Some(vec!["getobject".into()]));
        assert_eq!(r("  filter: {eventName: PutObject}\n  condition: not filter\n"), None);
        // Either selection may hold: both calls, or any call if one of them names none.
        let either = "  a: {eventName: A}\n  b: {eventName: B}\n  condition: a or b\n";
        assert_eq!(r(either), Some(vec!["a".into(), "b".into()]));
        assert_eq!(r("  a: {eventName: A}\n  b: {errorCode: X}\n  condition: 1 of them\n"), None);
        assert_eq!(r("  a: {eventName: A}\n  b: {errorCode: X}\n  condition: all of them\n"), Some(vec!["a".into()]));
        // A trailing wildcard or `startswith` is a prefix; other wildcards and modifiers are
        // not names.
        assert_eq!(r("  a: {eventName: 'Delete*'}\n  condition: a\n"), Some(vec!["delete*".into()]));
        assert_eq!(r("  a: {eventName|startswith: Delete}\n  condition: a\n"), Some(vec!["delete*".into()]));
        assert_eq!(r("  a: {eventName: '*Delete'}\n  condition: a\n"), None);
        assert_eq!(r("  a: {eventName|endswith: Delete}\n  condition: a\n"), None);
        assert_eq!(r("  a: {eventName|contains: Delete}\n  condition: a\n"), None);
        // A prefix and a name: the name alone can hold.
        assert_eq!(
            r("  a: {eventName: 'Delete*'}\n  b: {eventName: DeleteTrail}\n  condition: a and b\n"),
            Some(vec!["deletetrail".into()])
        );
        // A list of maps is OR: every branch must name calls.
        assert_eq!(
            r("  a:\n    - {eventName: A}\n    - {eventName: B}\n  condition: a\n"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(r("  a:\n    - {eventName: A}\n    - {userAgent: x}\n  condition: a\n"), None);
    }

    #[test]
    fn a_rule_reads_the_raw_record_unless_every_field_it_reads_is_typed() {
        let head = "title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n";
        let r = |body: &str| typed_fields(&rule(&format!("{head}{body}"))).is_none();
        assert!(!r(
            "  a: {eventName: A, userIdentity.arn|re: '.+:assumed-role/aws:.+', errorCode: X}\n  condition: a\n"
        ));
        assert!(!r("  a:\n    - {eventType: AwsServiceEvent}\n    - {userAgent|contains: kali}\n  condition: a\n"));
        assert!(r("  a: {eventName: A, requestParameters.userName: x}\n  condition: a\n"));
        assert!(r(
            "  a: {eventName: A}\n  f: {userIdentity.arn|fieldref: requestParameters.userName}\n  condition: a and not f\n"
        ));
        assert!(r("  a:\n    - evil\n  condition: a\n"));
        let fields = typed_fields(&rule(&format!(
            "{head}  a: {{eventName: A, errorCode: X}}\n  b: {{userAgent|contains: k}}\n  condition: a or b\n"
        )));
        assert_eq!(fields, Some(vec!["errorCode".into(), "eventName".into(), "userAgent".into()]));
    }
}
