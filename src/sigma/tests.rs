use std::path::{Path, PathBuf};

use super::*;
use crate::parse::{ParseOptions, parse_bytes};

const HEAD: &str = "logsource: {product: aws, service: cloudtrail}\n";

/// Writes `rules` (name, yaml) into a temp folder, nested as a clone of a rule repo is.
fn rule_dir(rules: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, yaml) in rules {
        let p = dir.path().join("rules/cloud").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, yaml).unwrap();
    }
    dir
}

fn events(records: &[serde_json::Value]) -> Vec<Event> {
    let doc = serde_json::json!({ "Records": records });
    let (evs, stats) = parse_bytes(doc.to_string().as_bytes(), &ParseOptions { keep_raw: true, ..Default::default() });
    assert_eq!(stats.invalid, 0);
    evs
}

fn record(name: &str, t: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut r = serde_json::json!({
        "eventVersion": "1.08", "eventTime": t, "eventSource": "signin.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "Mozilla/5.0",
        "eventID": format!("{name}-{t}"), "recipientAccountId": "111111111111",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/alice", "userName": "alice"},
    });
    r.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    r
}

fn titles(rules: &Rules, hits: &[RuleIdx]) -> Vec<String> {
    hits.iter().map(|&i| rules.info(i).title.clone()).collect()
}

#[test]
fn typed_fields_and_nested_raw_fields_both_match() {
    let dir = rule_dir(&[
        (
            "a.yml",
            &format!(
                "title: Key made\nid: r-a\n{HEAD}level: medium\ntags: [attack.persistence, attack.t1098.001]\ndetection:\n  sel: {{eventName: CreateAccessKey, userIdentity.type: IAMUser}}\n  condition: sel\n"
            ),
        ),
        (
            "b.yml",
            &format!(
                "title: Failed login\nid: r-b\n{HEAD}level: low\ndetection:\n  sel: {{eventName: ConsoleLogin, responseElements.ConsoleLogin: Failure}}\n  condition: sel\n"
            ),
        ),
        (
            "c.yml",
            &format!(
                "title: Any denied\nid: r-c\n{HEAD}level: informational\ndetection:\n  sel: {{errorCode|contains: Denied}}\n  condition: sel\n"
            ),
        ),
    ]);
    let (rules, report) = Rules::load(&[dir.path().to_path_buf()], &[], Level::Informational);
    let rules = std::sync::Arc::new(rules);
    assert_eq!((report.files, report.rules, report.problems.len()), (3, 3, 0), "{report:?}");
    let evs = events(&[
        record("CreateAccessKey", "2024-03-04T10:00:00Z", serde_json::json!({})),
        record(
            "ConsoleLogin",
            "2024-03-04T10:01:00Z",
            serde_json::json!({"responseElements": {"ConsoleLogin": "Failure"}}),
        ),
        record(
            "ConsoleLogin",
            "2024-03-04T10:02:00Z",
            serde_json::json!({"responseElements": {"ConsoleLogin": "Success"}}),
        ),
        record("ListUsers", "2024-03-04T10:03:00Z", serde_json::json!({"errorCode": "AccessDenied"})),
    ]);
    let mut m = Matcher::new(std::sync::Arc::clone(&rules));
    let got: Vec<Vec<String>> = evs.iter().map(|e| titles(&rules, &m.hits(e))).collect();
    assert_eq!(got, [vec!["Key made"], vec!["Failed login"], vec![], vec!["Any denied"]]);
    let key = rules.info(m.hits(&evs[0])[0]);
    assert_eq!((key.level, key.techniques.clone()), (Level::Medium, vec!["T1098.001".to_owned()]));
}

/// Suzaku's correlations name the rules they count by title, which the engine does not
/// resolve: "unknown rule reference: Failed Console Login" until titles were mapped to ids.
#[test]
fn a_correlation_counting_a_rule_by_title_fires_on_the_event_that_completes_it() {
    let corr = format!(
        "title: Many failed\nid: c-1\n{HEAD}level: high\ncorrelation:\n  type: event_count\n  rules: [Failed login]\n  group-by: [sourceIPAddress]\n  timespan: 5m\n  condition: {{gte: 3}}\n  generate: false\n---\ntitle: Failed login\nid: r-b\n{HEAD}level: low\ndetection:\n  sel: {{eventName: ConsoleLogin, responseElements.ConsoleLogin: Failure}}\n  condition: sel\n"
    );
    let dir = rule_dir(&[("corr.yml", &corr)]);
    // The counted rule is below the level asked for: it stays, as the correlation needs it.
    let (rules, report) = Rules::load(&[dir.path().to_path_buf()], &[], Level::Medium);
    let rules = std::sync::Arc::new(rules);
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!((report.rules, report.correlations), (1, 1));
    let fail =
        |t: &str| record("ConsoleLogin", t, serde_json::json!({"responseElements": {"ConsoleLogin": "Failure"}}));
    let evs = events(&[fail("2024-03-04T10:00:00Z"), fail("2024-03-04T10:01:00Z"), fail("2024-03-04T10:02:00Z")]);
    let mut m = Matcher::new(std::sync::Arc::clone(&rules));
    let got: Vec<Vec<String>> = evs.iter().map(|e| titles(&rules, &m.hits(e))).collect();
    assert_eq!(got.last().unwrap(), &vec!["Many failed".to_owned()], "{got:?}");
    // Also with `generate: true`: below the level asked for, the counted rule is no hit.
    let dir = rule_dir(&[("corr.yml", &corr.replace("generate: false", "generate: true"))]);
    let rules = std::sync::Arc::new(Rules::load(&[dir.path().to_path_buf()], &[], Level::Medium).0);
    let mut m = Matcher::new(std::sync::Arc::clone(&rules));
    let got: Vec<Vec<String>> = evs.iter().map(|e| titles(&rules, &m.hits(e))).collect();
    assert_eq!(got, [vec![], vec![], vec!["Many failed".to_owned()]]);
    assert!(got[..2].iter().all(|g| !g.contains(&"Many failed".to_owned())), "{got:?}");
}

#[test]
fn ignored_low_and_broken_rules_are_counted_with_reasons() {
    let dir = rule_dir(&[
        (
            "keep.yml",
            &format!(
                "title: Keep\nid: k-1\n{HEAD}level: high\ndetection:\n  sel: {{eventName: A}}\n  condition: sel\n"
            ),
        ),
        (
            "noisy.yml",
            &format!(
                "title: Noisy\nid: N-2\n{HEAD}level: high\ndetection:\n  sel: {{eventName: B}}\n  condition: sel\n"
            ),
        ),
        (
            "low.yml",
            &format!("title: Low\nid: l-3\n{HEAD}level: low\ndetection:\n  sel: {{eventName: C}}\n  condition: sel\n"),
        ),
        (
            "win.yml",
            "title: Windows\nid: w-4\nlogsource: {product: windows}\nlevel: high\ndetection:\n  sel: {Image: x}\n  condition: sel\n",
        ),
        ("broken.yml", "title: [unclosed\n"),
        ("notes.txt", "not a rule"),
    ]);
    let ignore = dir.path().join("ignore.txt");
    std::fs::write(&ignore, "# noisy\nn-2 # too many hits\n").unwrap();
    let (rules, report) = Rules::load(&[dir.path().to_path_buf()], &[ignore], Level::Medium);
    assert_eq!(report.files, 5);
    assert_eq!((report.rules, report.ignored, report.below_level, report.other_logs), (1, 1, 1, 1), "{report:?}");
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(report.problems[0].0.ends_with("broken.yml"));
    assert_eq!(rules.len(), 1);
}

#[test]
fn techniques_come_from_attack_tags() {
    assert_eq!(technique("attack.t1078.004").as_deref(), Some("T1078.004"));
    assert_eq!(technique("attack.T1530").as_deref(), Some("T1530"));
    assert_eq!(technique("attack.persistence"), None);
    assert_eq!(technique("attack.t"), None);
    assert_eq!(technique("cve.2021.1"), None);
}

fn shared_sigma() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigma");
    if p.is_dir() {
        return Some(p);
    }
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{} is absent: CI must have it", p.display());
    eprintln!("skipped: {} is absent (it exists on the team's machines and in CI)", p.display());
    None
}

/// The 795 real rules (SigmaHQ and Suzaku): every one loads or is reported with a reason,
/// and the five correlations load with the rules they count.
#[test]
fn every_shared_rule_loads_or_is_reported() {
    let Some(dir) = shared_sigma() else { return };
    let (rules, report) = Rules::load(std::slice::from_ref(&dir), &[], Level::Informational);
    assert_eq!(report.files, 795, "{report:?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.correlations, 5);
    // Suzaku's correlation files carry the rule they count as a second document; one of
    // them is also a rule file of its own.
    assert_eq!((report.rules + report.other_logs + report.copies, report.copies), (797, 1));
    assert_eq!(rules.len(), report.rules + report.correlations);
    let ignore = dir.join("suzaku/config/aws_ignore_rule_list.txt");
    let (_, with_ignore) = Rules::load(&[dir], &[ignore], Level::Informational);
    assert!(with_ignore.ignored > 0 && with_ignore.problems.is_empty(), "{with_ignore:?}");
}

/// The index by call and the view of parsed records change nothing: the same hits as one
/// engine holding every rule over the whole JSON records, on the real detonation hour (2,900
/// records).
#[test]
fn the_index_by_call_matches_what_one_engine_matches() {
    let Some(dir) = shared_sigma() else { return };
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/invictus-sigma-aws/CloudTrail");
    let (rules, _) = Rules::load(std::slice::from_ref(&dir), &[], Level::Informational);
    let (all, _) = load::collect(&[dir], &[], Level::Informational);
    let mut one = rsigma_eval::Engine::new();
    for r in &all.rules {
        one.add_rule(r).unwrap();
    }
    // Parsed as scan parses them: the raw record is kept only for the calls whose rules read
    // it. Every rule that matched the records needs no raw record to know it.
    let calls = rules.raw_calls().expect("no shared rule about every call reads the raw record");
    let opts = ParseOptions { raw_calls: Some(Arc::new(calls)), ..Default::default() };
    let (mut n, mut memo) = (0, memo::Memo::default());
    for f in std::fs::read_dir(data).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let whole = parse_bytes(&bytes, &ParseOptions { keep_raw: true, ..Default::default() }).0;
        for (ev, full) in parse_bytes(&bytes, &opts).0.iter().zip(&whole) {
            let view = view::View::new(ev);
            // Answers remembered across records are the engine's answers too.
            let mut detected = rules.detect(ev, &view, &mut memo);
            // Copies of one rule (by id) are loaded once.
            detected.dedup();
            // Against the engine's own JSON event over the whole record: the view's typed
            // fields and parsed paths change nothing either.
            let whole: serde_json::Value = serde_json::from_str(full.raw.as_deref().unwrap()).unwrap();
            let json = rsigma_eval::JsonEvent::borrow(&whole);
            assert_eq!(detected, rules.indexes(&one.evaluate(&json)), "{}", ev.name);
            n += 1;
        }
    }
    assert_eq!(n, 2_900);
}

/// A service that assumes a role every hour hit SigmaHQ's medium "AWS STS AssumeRole" in
/// every window and was lifted in every one; a rule an entity hits habitually is shown, not
/// ranked, as the built-in rules are.
#[test]
fn a_rule_an_entity_hits_habitually_adds_nothing_to_its_rank() {
    let yaml = format!(
        "title: Assume\nid: a-1\n{HEAD}level: medium\ndetection:\n  sel: {{eventName: AssumeRole}}\n  condition: sel\n"
    );
    let dir = rule_dir(&[("assume.yml", &yaml)]);
    let rules = Rules::load(&[dir.path().to_path_buf()], &[], Level::Informational).0;
    let idx = rules.index_of("a-1").unwrap();
    let mut hits = WindowHits::default();
    for h in 0..5 {
        hits.add(h * 3600, "svc", &[idx]);
    }
    hits.add(4 * 3600, "new", &[idx]);
    let medium = Level::Medium.weight();
    let windows = |entity: &'static str, starts: Vec<i64>| starts.into_iter().map(move |w| (w, entity));
    let habits =
        Starts::new(windows("svc", (0..5).map(|h| h * 3600).collect()).chain(windows("new", vec![4 * 3600])), &hits);
    // Its first three windows have fewer than three earlier hits: ranked.
    assert_eq!(hits.weight(&rules, (2 * 3600, "svc"), &habits), medium);
    assert_eq!(habits.before("svc", 2 * 3600), [0, 3600]);
    // From the fourth: habitual, shown so.
    assert_eq!(hits.weight(&rules, (4 * 3600, "svc"), &habits), 0.0);
    assert!(hits.list(&rules, (4 * 3600, "svc"), &habits)[0].habitual);
    // `scan` says so too.
    let out = hits.out(&rules, (4 * 3600, "svc"), &habits);
    assert!(serde_json::to_string(&out).unwrap().contains(r#""habitual":true"#));
    assert_eq!(habits.before("nobody", 7200), [] as [i64; 0]);
    // Four hits among many more quiet windows are not a habit (under a tenth of them).
    let quiet = windows("svc", (0..40).map(|h| h * 3600 - 40 * 3600).chain((0..5).map(|h| h * 3600)).collect());
    let many = Starts::new(quiet, &hits);
    assert_eq!(hits.weight(&rules, (4 * 3600, "svc"), &many), medium);
    // Another entity's habit is not this one's.
    assert_eq!(hits.weight(&rules, (4 * 3600, "new"), &habits), medium);
}
