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

use rsigma_parser::{ConditionExpr, Detection, Detections, Quantifier, SelectorPattern, SigmaRule, SigmaValue};

/// Lower-cased call names, or `None` for "any call".
type Calls = Option<BTreeSet<String>>;

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
            if it.field.name.as_deref() != Some("eventName") || !it.field.modifiers.is_empty() {
                return None;
            }
            let mut names = BTreeSet::new();
            for v in &it.values {
                match v {
                    SigmaValue::String(s) => names.insert(s.as_plain()?.to_lowercase()),
                    _ => return None,
                };
            }
            Some(names)
        })),
        Detection::AnyOf(ds) => union(ds.iter().map(detection)),
        _ => None,
    }
}

/// Every part must hold: the calls all the narrowing parts allow (parts that allow any call
/// do not widen it).
fn intersect(parts: impl Iterator<Item = Calls>) -> Calls {
    parts.flatten().reduce(|a, b| a.intersection(&b).cloned().collect())
}

/// Any part may hold: the calls any of them allows, or any call if one of them allows any.
fn union(mut parts: impl Iterator<Item = Calls>) -> Calls {
    parts.try_fold(BTreeSet::new(), |mut acc, p| {
        acc.extend(p?);
        Some(acc)
    })
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
        c.map(|s| s.into_iter().collect())
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
        // Wildcards and modifiers are not names.
        assert_eq!(r("  a: {eventName: 'Delete*'}\n  condition: a\n"), None);
        assert_eq!(r("  a: {eventName|startswith: Delete}\n  condition: a\n"), None);
        // A list of maps is OR: every branch must name calls.
        assert_eq!(
            r("  a:\n    - {eventName: A}\n    - {eventName: B}\n  condition: a\n"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(r("  a:\n    - {eventName: A}\n    - {userAgent: x}\n  condition: a\n"), None);
    }
}
