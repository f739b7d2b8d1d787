//! Entry points for the fuzz targets in `fuzz/` and for the test that replays their seed
//! corpus (`tests/fuzz_seeds.rs`): each takes arbitrary bytes and must neither panic nor
//! hang. They drive what attacker-controlled or hand-edited input reaches: the record parser
//! (in every accepted shape, gzipped or not), the filter language, theme and keymap files, and
//! the labels file.

use crate::parse::{Event, ParseOptions, parse_bytes};

/// A small cap, so that a fuzzed gzip bomb costs milliseconds, not a gigabyte.
const FUZZ_CAP: u64 = 4 << 20;

/// Bytes as a CloudTrail file or S3 object: inflated when gzip (by content), parsed, and every
/// event's display fields formatted as the console and `scan` format them.
pub fn record(data: &[u8]) {
    let opts =
        ParseOptions { keep_raw: true, max_record_bytes: 1 << 20, max_file_bytes: FUZZ_CAP, ..Default::default() };
    let events = crate::source::file::with_decoded(data, FUZZ_CAP, |bytes, _| {
        let (events, stats) = parse_bytes(bytes, &opts);
        assert!(stats.records >= events.len() as u64);
        events
    });
    for e in &events {
        touch(e);
    }
}

fn touch(e: &Event) {
    let _ = crate::parse::time::format_utc(e.time, "%Y-%m-%dT%H:%M:%S");
    let _ = crate::parse::time::rfc3339(e.time);
    let _ = crate::text::truncate(&e.principal, 24);
    let _ = crate::text::short_principal(&e.principal);
    let _ = crate::text::neutralize_csv(&e.user_agent);
    let _ = crate::features::rules::event_rules(e);
    // Scrubbed at parse: nothing hostile is left in what is displayed.
    for s in [&*e.principal, &*e.name, &*e.user_agent, &*e.ip] {
        assert_eq!(crate::parse::sanitize::clean(s), s, "a display field left parse unscrubbed");
    }
}

/// Text typed at the `/` prompt, matched against a record and a ranked row.
pub fn filter(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // An unknown field is an error, said; anything else is a filter.
    let f = crate::app::filter::Filter::parse(&text).unwrap_or_default();
    let doc = br#"{"eventTime":"2024-03-01T10:00:00Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2","errorCode":"AccessDenied","userIdentity":{"arn":"arn:aws:iam::1:user/alice"}}"#;
    let (events, _) = parse_bytes(doc, &ParseOptions::default());
    for e in &events {
        let _ = f.matches_event(e);
    }
    let row = crate::model::ScoredRow { rules: vec!["logging-tampering"], ..Default::default() };
    let _ = f.matches_row(&row, &Default::default());
    // The glob matcher directly, with the input split into pattern and value.
    let (p, v) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i));
    let _ = crate::app::filter::glob(p, v);
}

/// A user theme file, with a parent chain that may name itself or shipped themes.
pub fn theme(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let read = |name: &str| if name == "fuzzed.toml" { Ok(text.clone()) } else { Err(format!("no {name}")) };
    for palette in [crate::config::theme::Palette::TrueColor, crate::config::theme::Palette::Ansi16] {
        let (theme, _) = crate::config::theme::Theme::load_with("fuzzed.toml", palette, read);
        for role in crate::config::theme::Role::ALL {
            let _ = theme.fg(role);
        }
        let _ = theme.selection();
    }
}

/// A user keymap file merged over the defaults; then every key looked up.
pub fn keymap(data: &[u8]) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let (mut map, _) = crate::config::keymap::Keymap::load(None);
    let _ = map.merge(&String::from_utf8_lossy(data));
    for code in [KeyCode::Char('j'), KeyCode::Char('q'), KeyCode::Enter, KeyCode::Esc, KeyCode::F(5)] {
        for mods in [KeyModifiers::NONE, KeyModifiers::CONTROL, KeyModifiers::SHIFT | KeyModifiers::ALT] {
            for layer in [crate::config::action::Layer::Normal, crate::config::action::Layer::Mark] {
                let _ = map.action_for(layer, &KeyEvent::new(code, mods));
            }
        }
    }
    // What the footer, titles and help ask of it.
    for b in map.bindings.clone() {
        let _ = (map.keys_for(b.action), map.key_for(b.action), crate::config::action::Layer::of(&b.context));
    }
}

/// A labels file: read, put in force, listed and exported as the `labels` command does.
pub fn labels(data: &[u8]) {
    let Ok((lines, _)) = crate::model::feedback::read_lines(data, "fuzzed") else { return };
    let fb = crate::model::feedback::Feedback::from_lines(lines, 1_709_251_200);
    let mut sink = Vec::new();
    let _ = crate::headless::labels::list(&mut sink, &fb);
    let _ = crate::headless::labels::export_jsonl(&mut sink, &fb);
    let _ = crate::headless::labels::export_csv(&mut sink, &fb);
    let row = crate::features::FeatureRow { entity: "e".into(), window_start: 1_709_251_200, ..Default::default() };
    let _ = fb.verdict_for(&row);
    let _ = fb.expected_rules(&row);
}

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// The targets by name, for the seed replay and the bench script.
pub const TARGETS: &[(&str, Target)] =
    &[("record", record), ("filter", filter), ("theme", theme), ("keymap", keymap), ("labels", labels)];
