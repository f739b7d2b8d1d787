use std::sync::Arc;

use super::decide::{DecideConfig, Decider};
use super::doc::Trigger;
use super::*;
use crate::features::FeatureRow;
use crate::features::rules::{DATA_EGRESS, LOGGING_TAMPERING};
use crate::model::ScoredRow;
use crate::pipeline::{Snapshot, SourceView};
use crate::source::SourceStatus;

const H: i64 = 1_709_251_200;

fn row(entity: &str, start: i64, rank_score: f64, flagged: bool, rules: u16) -> ScoredRow {
    ScoredRow {
        row: FeatureRow {
            entity: entity.into(),
            principal: entity.into(),
            source_ip: "203.0.113.9".into(),
            window_start: start,
            window_end: start + 3600,
            events: 4,
            rules,
            ..Default::default()
        },
        rank_score,
        flagged,
        rules: crate::features::rules::rule_ids(rules),
        ..Default::default()
    }
}

fn snap(rows: Vec<ScoredRow>, newest: i64, status: SourceStatus) -> Snapshot {
    Snapshot {
        rows: Arc::new(rows),
        sources: vec![SourceView {
            name: "in".into(),
            status,
            newest_event: Some(newest),
            events: 10,
            last_error: None,
            note: None,
            counts: Default::default(),
        }],
        ..Default::default()
    }
}

fn triggers(d: &mut Decider, s: &Snapshot, now: i64) -> Vec<(usize, Trigger)> {
    d.decide(s, now).into_iter().map(|x| (x.row, x.trigger)).collect()
}

#[test]
fn a_flagged_window_alerts_once_it_closes_and_a_high_rule_at_once() {
    let mut d = Decider::open(DecideConfig::default(), None);
    let open = vec![row("alice", H, 0.8, true, 0), row("bob", H, 0.9, false, LOGGING_TAMPERING)];
    // Both windows are still open (the newest event is inside them): only the rule alerts.
    assert_eq!(triggers(&mut d, &snap(open.clone(), H + 1800, SourceStatus::Live), 0), vec![(1, Trigger::HighRule)]);
    // Closed: the flagged one alerts; the rule's window does not again.
    assert_eq!(triggers(&mut d, &snap(open, H + 3600, SourceStatus::Live), 10), vec![(0, Trigger::Flagged)]);
}

#[test]
fn flags_wait_for_the_back_fill_and_a_finished_source_closes_every_window() {
    let mut d = Decider::open(DecideConfig::default(), None);
    let rows = vec![row("alice", H, 0.8, true, 0)];
    let busy = SourceStatus::Backfilling { done: 1, total: 9 };
    assert!(d.decide(&snap(rows.clone(), H + 7200, busy), 0).is_empty(), "the ranking still moves");
    // A single file read to its end: its last window is closed too.
    assert_eq!(triggers(&mut d, &snap(rows, H + 60, SourceStatus::Finished), 1), vec![(0, Trigger::Flagged)]);
}

#[test]
fn a_window_alerts_again_only_when_it_rises_by_the_margin_or_a_new_rule_fires() {
    let cfg = DecideConfig { dedupe_secs: 0, ..Default::default() };
    let mut d = Decider::open(cfg, None);
    let at = |score, rules| snap(vec![row("alice", H, score, true, rules)], H + 3600, SourceStatus::Live);
    assert_eq!(triggers(&mut d, &at(0.70, 0), 0), vec![(0, Trigger::Flagged)]);
    assert!(d.decide(&at(0.75, 0), 1).is_empty(), "under the margin");
    assert_eq!(triggers(&mut d, &at(0.81, 0), 2), vec![(0, Trigger::Rose)]);
    assert_eq!(triggers(&mut d, &at(0.81, DATA_EGRESS), 3), vec![(0, Trigger::NewRule)]);
    assert!(d.decide(&at(0.81, DATA_EGRESS), 4).is_empty());
}

#[test]
fn alerts_of_one_entity_and_rules_fold_within_the_period() {
    let mut d = Decider::open(DecideConfig::default(), None);
    let w = |start| row("alice", start, 0.8, true, DATA_EGRESS);
    let s = snap(vec![w(H), w(H + 3600), w(H + 7200)], H + 4 * 3600, SourceStatus::Live);
    let first = d.decide(&s, 1000);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].folded, 0);
    // An hour later another window of the same entity and rule: it reports the two folded.
    let s2 = snap(vec![w(H), w(H + 3600), w(H + 7200), w(H + 3 * 3600)], H + 5 * 3600, SourceStatus::Live);
    let next = d.decide(&s2, 1000 + 3600);
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].row, next[0].folded), (3, 2));
    // Another entity is its own group.
    let s3 = snap(vec![row("bob", H, 0.8, true, DATA_EGRESS)], H + 5 * 3600, SourceStatus::Live);
    assert_eq!(d.decide(&s3, 1000 + 3601).len(), 1);
}

#[test]
fn windows_older_than_a_day_before_the_newest_event_do_not_alert() {
    let mut d = Decider::open(DecideConfig::default(), None);
    let rows = vec![row("alice", H, 0.9, true, LOGGING_TAMPERING), row("bob", H + 86_400, 0.9, true, 0)];
    // Weeks of history read at a first start: its last day alerts, the rest is for the console.
    let s = snap(rows, H + 86_400 + 3600 + 1, SourceStatus::Live);
    assert_eq!(triggers(&mut d, &s, 0), vec![(1, Trigger::Flagged)]);
}

#[test]
fn a_window_a_false_positive_covers_does_not_alert() {
    let mut d = Decider::open(DecideConfig::default(), None);
    let mut r = row("alice", H, 0.9, true, 0);
    r.suppressed = true;
    assert!(d.decide(&snap(vec![r], H + 3600, SourceStatus::Live), 0).is_empty());
}

#[test]
fn the_ledger_survives_a_restart_and_ids_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.json");
    let s = snap(vec![row("alice", H, 0.8, true, 0)], H + 3600, SourceStatus::Live);
    let mut d = Decider::open(DecideConfig::default(), Some(path.clone()));
    let first = d.decide(&s, 0);
    // Not saved (a crash before the spool took it): decided again, with the same id.
    let again = Decider::open(DecideConfig::default(), Some(path.clone())).decide(&s, 0);
    assert_eq!(first, again);
    d.save().unwrap();
    assert!(Decider::open(DecideConfig::default(), Some(path.clone())).decide(&s, 0).is_empty());
    // A damaged ledger is set aside: alerts may repeat, nothing is lost.
    std::fs::write(&path, b"{not json").unwrap();
    assert_eq!(Decider::open(DecideConfig::default(), Some(path)).decide(&s, 0).len(), 1);
}

#[test]
fn the_spool_resumes_after_a_restart_and_drops_a_line_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let q = spool::Spool::open(dir.path()).unwrap();
    q.push(&["{\"a\":1}".into(), "{\"a\":2}".into(), "{\"a\":3}".into()]).unwrap();
    let (doc, next) = q.peek(std::time::Duration::ZERO).unwrap().unwrap();
    assert_eq!(doc, "{\"a\":1}");
    q.ack(next).unwrap();
    drop(q);
    // A crash in the middle of an append leaves half a line.
    let mut f = std::fs::OpenOptions::new().append(true).open(dir.path().join("queue.jsonl")).unwrap();
    std::io::Write::write_all(&mut f, b"{\"a\":4").unwrap();
    let q = spool::Spool::open(dir.path()).unwrap();
    assert_eq!(q.pending(), 2);
    let (doc, next) = q.peek(std::time::Duration::ZERO).unwrap().unwrap();
    assert_eq!(doc, "{\"a\":2}");
    q.reject(&doc, next).unwrap();
    let (doc, next) = q.peek(std::time::Duration::ZERO).unwrap().unwrap();
    assert_eq!(doc, "{\"a\":3}");
    q.ack(next).unwrap();
    // All delivered: the queue is emptied, and what is pushed next is read from its start.
    assert_eq!(std::fs::metadata(dir.path().join("queue.jsonl")).unwrap().len(), 0);
    q.push(&["{\"a\":5}".into()]).unwrap();
    assert_eq!(q.peek(std::time::Duration::ZERO).unwrap().unwrap().0, "{\"a\":5}");
    let rejected = std::fs::read_to_string(dir.path().join(spool::REJECTED)).unwrap();
    assert_eq!(rejected, "{\"a\":2}\n");
}

#[test]
fn sinks_parse_and_show_no_secret() {
    let slack = SinkSpec::parse("slack+https://hooks.slack.com/services/T000/B000/XXXXSECRET").unwrap();
    assert_eq!(slack.shown(), "slack+https://hooks.slack.com/…");
    let hook = SinkSpec::parse("https://user:pw@example.com/hook?token=abc").unwrap();
    assert_eq!(hook.shown(), "https://example.com/…");
    assert!(SinkSpec::parse("http://example.com/hook").is_err(), "plain http leaves the machine");
    assert!(SinkSpec::parse("http://127.0.0.1:8080/hook").is_ok());
    assert!(
        SinkSpec::parse("http://127.0.0.1.evil.example/hook").is_ok() == loopback("http://127.0.0.1.evil.example/")
    );
    assert_eq!(
        SinkSpec::parse("sns://arn:aws:sns:eu-west-1:123456789012:alerts").unwrap(),
        SinkSpec::Sns("arn:aws:sns:eu-west-1:123456789012:alerts".into())
    );
    assert!(SinkSpec::parse("sns://alerts").is_err());
    assert!(
        matches!(SinkSpec::parse("syslog+tcp://siem:6514").unwrap(), SinkSpec::Syslog(syslog::Transport::Tcp(a)) if a == "siem:6514")
    );
    assert!(SinkSpec::parse("syslog+udp://siem").is_err());
    assert!(matches!(SinkSpec::parse("syslog+unix:///dev/log").unwrap(), SinkSpec::Syslog(syslog::Transport::Unix(_))));
    assert_eq!(SinkSpec::parse("file:///var/log/a.jsonl").unwrap(), SinkSpec::File("/var/log/a.jsonl".into()));
    let err = SinkSpec::parse("ftp://x/secretpath").unwrap_err().to_string();
    assert!(!err.contains("secretpath"), "{err}");
}

/// Log content picks principals: nothing of it reaches a chat as a link, a mention or a
/// control sequence.
#[test]
fn the_summary_and_the_slack_message_carry_no_link_mention_or_control() {
    let mut r = row("arn:aws:iam::1:user/<!channel> http://evil.example/\x1b[31m", H, 0.96, true, LOGGING_TAMPERING);
    r.row.place = Some("Budapest, HU".into());
    let top = vec![doc::NameCount { name: "StopLogging".into(), count: 2 }];
    let made = doc::Made { id: "00ff".into(), trigger: Trigger::HighRule, folded: 0, at: H, top_events: top };
    let v = doc::document(&r, made);
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.starts_with("trailtop high: user/<!channel> http:⁄⁄evil.example/"), "{summary}");
    assert!(
        summary.contains("(Budapest, HU), 2024-03-01 00:00–01:00 UTC, 4 events (StopLogging ×2); logging-tampering")
    );
    assert!(!summary.contains('\x1b') && !summary.contains("://"), "{summary}");
    assert_eq!(v["alert_id"], "00ff");
    assert_eq!(v["trigger"], "high-rule");
    assert_eq!(v["rules"][0], "logging-tampering");
    let m = http::slack_message(&v);
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("&lt;!channel&gt;") && !text.contains('<'), "{text}");
    let blocks = m["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert!(blocks.iter().flat_map(|b| b.to_string().chars().collect::<Vec<_>>()).all(|c| c != '\x1b'));
    let all = m.to_string();
    assert!(!all.contains("mrkdwn"), "log content only ever in plain_text: {all}");
    assert!(all.contains("StopLogging ×2") && all.contains("Rules: logging-tampering"), "{all}");
}

#[test]
fn a_syslog_message_is_rfc5424_with_the_alert_as_structured_data() {
    let r = row("arn:aws:iam::1:user/a\"li]ce", H, 0.96, true, LOGGING_TAMPERING);
    let made = doc::Made { id: "00ff".into(), trigger: Trigger::HighRule, folded: 0, at: H, top_events: vec![] };
    let v = doc::document(&r, made);
    let f = ::syslog::Formatter5424 { hostname: Some("host".into()), pid: 7, ..syslog::formatter() };
    let m = String::from_utf8(syslog::message(&f, &v)).unwrap();
    // facility auth (4) × 8 + severity err (3) = 35.
    assert!(m.starts_with("<35>1 "), "{m}");
    assert!(m.contains(" host trailtop 7 1 [trailtop@32473 "), "{m}");
    assert!(m.contains(r#"alert_id="00ff""#) && m.contains(r#"principal="arn:aws:iam::1:user/a\"li\]ce""#), "{m}");
    assert!(m.ends_with("a high-severity rule fired"), "{m}");
}
