//! Pivots (access key, session chain, address, around this time), the drill-down's search and
//! the query bars' history and saved queries, driven through the console's state by keys as an
//! analyst presses them, on the real
//! detonation hour in `../shared/datasets/invictus-sigma-aws` (skipped when it is absent,
//! except in CI) and on a generated day. Expected sets come from an independent reading of
//! the JSON with `serde_json::Value`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;
use trailtop::app::pivot::Pivot;
use trailtop::app::state::{AppState, View};
use trailtop::config::action::Action;
use trailtop::config::keymap::Keymap;
use trailtop::model::Threshold;
use trailtop::parse::{ParseOptions, ParseStats, parse_document};
use trailtop::pipeline::{Pipeline, PipelineState, Snapshot};
use trailtop::source::SourceMsg;

mod common;

/// Every record of the documents, as JSON values.
fn records(docs: &[Vec<u8>]) -> Vec<Value> {
    let mut out = Vec::new();
    for d in docs {
        let v: Value = serde_json::from_slice(d).unwrap();
        match v.get("Records").and_then(Value::as_array) {
            Some(r) => out.extend(r.iter().cloned()),
            None => out.push(v),
        }
    }
    out
}

/// The documents through the real pipeline, published once.
fn snapshot(docs: &[Vec<u8>]) -> Arc<Snapshot> {
    let mut st = PipelineState::new(Pipeline { tail_capacity: 100_000, ..Pipeline::in_memory("test") });
    let opts = ParseOptions { keep_raw: true, ..Default::default() };
    for d in docs {
        let (mut events, mut stats) = (Vec::new(), ParseStats::default());
        parse_document(d, &opts, &mut events, &mut stats);
        st.ingest(SourceMsg::Events { source: 0, events, stats, error: None });
    }
    Arc::new(st.publish())
}

/// A generated day, every scenario in it, through the pipeline.
fn generated_day() -> Arc<Snapshot> {
    let mut g = trailtop::generate::Generator::for_total(4, 1_709_510_400, 1, 3000, trailtop::generate::ALL_SCENARIOS);
    let docs: Vec<Vec<u8>> =
        (0..24).flat_map(|_| g.next_hour()).map(|e| serde_json::to_vec(&e.record).unwrap()).collect();
    snapshot(&docs)
}

fn console(snap: Arc<Snapshot>) -> AppState {
    let mut s = AppState::new(Threshold::Contamination(0.01));
    s.on_snapshot(snap);
    s
}

fn press(s: &mut AppState, code: KeyCode, mods: KeyModifiers) -> Vec<trailtop::app::state::Command> {
    let keymap = Keymap::load(None).0;
    s.on_key(KeyEvent::new(code, mods), |l, k| keymap.action_for(l, k))
}

/// Types `text` into the bar open, after clearing what it holds.
fn type_in(s: &mut AppState, text: &str) {
    for _ in 0..40 {
        press(s, KeyCode::Backspace, KeyModifiers::NONE);
    }
    for c in text.chars() {
        press(s, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

/// Types `text` into the bar open and presses Enter.
fn typed(s: &mut AppState, text: &str) -> Vec<trailtop::app::state::Command> {
    type_in(s, text);
    press(s, KeyCode::Enter, KeyModifiers::NONE)
}

/// Selects the anomaly row whose principal ends with `suffix` and opens it.
fn open_window(s: &mut AppState, suffix: &str) {
    let pos = s.lists.anomalies.iter().position(|&i| s.snap.rows[i].row.principal.ends_with(suffix)).unwrap();
    s.cursors[View::Anomalies].row = pos;
    s.update(Action::Open);
}

fn ids(s: &AppState) -> BTreeSet<String> {
    s.detail.as_ref().unwrap().events.iter().map(|e| e.id.to_string()).collect()
}

fn id_of(r: &Value) -> String {
    r["eventID"].as_str().unwrap().to_owned()
}

#[test]
fn pivots_on_the_detonation_hour_reach_what_the_records_say() {
    let Some(dir) = common::shared("datasets/invictus-sigma-aws/CloudTrail") else { return };
    let docs: Vec<Vec<u8>> =
        std::fs::read_dir(&dir).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
    let all = records(&docs);
    let mut s = console(snapshot(&docs));

    // A session Stratus assumed from the IAM user, and the AssumeRole that made it.
    let session = all
        .iter()
        .find_map(|r| {
            let arn = r["responseElements"]["assumedRoleUser"]["arn"].as_str()?;
            (arn.contains("stratus-red-team") && all.iter().any(|x| x["userIdentity"]["arn"] == arn))
                .then(|| arn.to_owned())
        })
        .expect("a Stratus session that acted");
    let creator = all
        .iter()
        .filter(|r| r["responseElements"]["assumedRoleUser"]["arn"] == session.as_str())
        .max_by_key(|r| r["eventTime"].as_str().unwrap().to_owned())
        .unwrap();
    let user = creator["userIdentity"]["arn"].as_str().unwrap().to_owned();
    let suffix = session.rsplit('/').next().unwrap().to_owned();
    open_window(&mut s, &suffix);
    let window_ids = ids(&s);

    // Session chain: the session's records, the user's, and the call between them.
    s.update(Action::PivotSession);
    let d = s.detail.as_ref().unwrap();
    assert_eq!(d.pivot.as_ref().unwrap().pivot, Pivot::Session(session.clone()));
    let expected: BTreeSet<String> = all
        .iter()
        .filter(|r| r["userIdentity"]["arn"] == session.as_str() || r["userIdentity"]["arn"] == user.as_str())
        .map(id_of)
        .collect();
    assert_eq!(ids(&s), expected);
    assert!(ids(&s).contains(&id_of(creator)));
    let summary = d.pivot.as_ref().unwrap().summary.join("\n");
    assert!(summary.contains(&format!("← AssumeRole {}", &creator["eventTime"].as_str().unwrap()[..10])), "{summary}");
    assert!(summary.contains("user/bert-jan"), "{summary}");

    // Esc comes back to the window, as it was.
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    let d = s.detail.as_ref().unwrap();
    assert!(d.row.is_some() && d.pivot.is_none());
    assert_eq!(ids(&s), window_ids);

    // Access key: everything signed with the selected record's key.
    let key = s.detail.as_ref().unwrap().events[0].access_key.clone().unwrap().to_string();
    press(&mut s, KeyCode::Char('K'), KeyModifiers::SHIFT);
    let expected: BTreeSet<String> =
        all.iter().filter(|r| r["userIdentity"]["accessKeyId"] == key.as_str()).map(id_of).collect();
    assert_eq!(ids(&s), expected);
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);

    // Address: every record from it, and each principal with its first and last record.
    let ip = s.detail.as_ref().unwrap().events[0].ip.to_string();
    press(&mut s, KeyCode::Char('A'), KeyModifiers::SHIFT);
    let from: Vec<&Value> = all.iter().filter(|r| r["sourceIPAddress"] == ip.as_str()).collect();
    assert_eq!(ids(&s), from.iter().map(|r| id_of(r)).collect());
    let mut principals: BTreeMap<String, (String, String)> = BTreeMap::new();
    for r in &from {
        let Some(p) = r["userIdentity"]["arn"].as_str() else { continue };
        let t = r["eventTime"].as_str().unwrap().to_owned();
        let e = principals.entry(p.to_owned()).or_insert((t.clone(), t.clone()));
        (e.0, e.1) = (e.0.clone().min(t.clone()), e.1.clone().max(t));
    }
    let summary = s.detail.as_ref().unwrap().pivot.as_ref().unwrap().summary.join("\n");
    for (p, (first, last)) in &principals {
        let short = p.splitn(6, ':').nth(5).unwrap();
        // `2023-07-10T12:05:01Z` reads `07-10 12:05:01 – 07-10 12:09:44` under the principal.
        let span = format!("{} {} – {} {}", &first[5..10], &first[11..19], &last[5..10], &last[11..19]);
        assert!(summary.contains(&format!("  {short}\n      {span}")), "{short} {span} in\n{summary}");
    }
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);

    // Around this time: every principal's records within ten minutes of the selected one.
    let at = s.detail.as_ref().unwrap().events[0].time;
    press(&mut s, KeyCode::Char('T'), KeyModifiers::SHIFT);
    let near: BTreeSet<String> = all
        .iter()
        .filter(|r| {
            let t = chrono::DateTime::parse_from_rfc3339(r["eventTime"].as_str().unwrap()).unwrap().timestamp();
            (t - at).abs() <= 600
        })
        .map(id_of)
        .collect();
    assert_eq!(ids(&s), near);
    assert!(near.len() > window_ids.len(), "around this time reaches other principals");
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    assert!(s.detail.is_none(), "Esc walks back out of the drill-down");
}

#[test]
fn search_moves_between_matching_records_and_keeps_the_rest_listed() {
    let mut s = console(generated_day());
    s.update(Action::Open);
    let listed = s.detail.as_ref().unwrap().events.len();
    // The top window of the generated day is a defence evasion: three of its calls delete.
    let want: Vec<usize> = {
        let d = s.detail.as_ref().unwrap();
        (0..listed).filter(|&i| d.events[i].name.starts_with("Delete")).collect()
    };
    assert!(want.len() >= 3, "three deletions to find");
    press(&mut s, KeyCode::Char('f'), KeyModifiers::CONTROL);
    typed(&mut s, "event:Delete*");
    let d = s.detail.as_ref().unwrap();
    assert_eq!((d.sel, d.events.len()), (want[0], listed), "the first match is selected and nothing is hidden");
    assert_eq!(s.notice.as_deref(), Some(format!("match 1 of {}", want.len()).as_str()));
    press(&mut s, KeyCode::Char('n'), KeyModifiers::NONE);
    assert_eq!(s.detail.as_ref().unwrap().sel, want[1]);
    press(&mut s, KeyCode::Char('N'), KeyModifiers::SHIFT);
    press(&mut s, KeyCode::Char('N'), KeyModifiers::SHIFT);
    assert_eq!(s.detail.as_ref().unwrap().sel, *want.last().unwrap(), "N wraps to the last match");

    // A filter given inside a pivot holds in the drill-down Esc returns to.
    press(&mut s, KeyCode::Char('A'), KeyModifiers::SHIFT);
    press(&mut s, KeyCode::Char('/'), KeyModifiers::NONE);
    typed(&mut s, "event:Delete*");
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    let d = s.detail.as_ref().unwrap();
    assert!(d.row.is_some() && d.events.len() == want.len(), "{} records", d.events.len());
    assert!(d.events.iter().all(|e| e.name.starts_with("Delete")));
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    assert!(s.filter.is_empty(), "Esc in the list clears the filter");
    s.update(Action::Open);
    // From the list, "around this time" is the window's span and ten minutes either side.
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    assert!(s.detail.is_none());
    let row = s.selected_row().unwrap().row.clone();
    press(&mut s, KeyCode::Char('T'), KeyModifiers::SHIFT);
    let half = (row.window_end - row.window_start) / 2;
    let want = Pivot::Around { at: row.window_start + half, span: half + 600 };
    assert_eq!(s.detail.as_ref().unwrap().pivot.as_ref().unwrap().pivot, want);
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    s.update(Action::Open);
    // Every pivot finds something from the top window of the generated day.
    for key in ['K', 'S', 'A', 'T'] {
        press(&mut s, KeyCode::Char(key), KeyModifiers::SHIFT);
        let d = s.detail.as_ref().unwrap();
        assert!(d.pivot.is_some() && !d.events.is_empty(), "pivot {key}");
        press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    }
}

#[test]
fn queries_are_recalled_with_up_and_saved_by_name() {
    use trailtop::app::state::{Command, Mode};
    let mut s = console(generated_day());
    let all = s.lists.anomalies.len();
    let key = |s: &mut AppState, code: KeyCode| press(s, code, KeyModifiers::NONE);
    key(&mut s, KeyCode::Char('/'));
    let cmds = typed(&mut s, "@tamper=event:StopLogging");
    let tampered = s.lists.anomalies.len();
    assert!(tampered > 0 && tampered < all, "{tampered} of {all}");
    assert_eq!(s.notice.as_deref(), Some("saved as @tamper"));
    let [Command::SaveQueries(q)] = &cmds[..] else { panic!("{cmds:?}") };
    assert_eq!(q.saved["tamper"], "event:StopLogging");
    assert_eq!(q.history[0], "@tamper=event:StopLogging");

    // Another query, then Up brings the earlier one back, Down the newer, Down again nothing.
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "event:ConsoleLogin");
    key(&mut s, KeyCode::Char('/'));
    type_in(&mut s, "region:eu");
    let bar = |s: &AppState| match &s.mode {
        Mode::Filter(i) => i.value().to_owned(),
        other => panic!("{other:?}"),
    };
    key(&mut s, KeyCode::Up);
    assert_eq!(bar(&s), "event:ConsoleLogin");
    key(&mut s, KeyCode::Up);
    assert_eq!(bar(&s), "@tamper=event:StopLogging");
    key(&mut s, KeyCode::Down);
    assert_eq!(bar(&s), "event:ConsoleLogin");
    key(&mut s, KeyCode::Down);
    assert_eq!(bar(&s), "region:eu", "what was being typed comes back");
    key(&mut s, KeyCode::Down);
    assert_eq!(bar(&s), "region:eu", "Down with nothing recalled leaves the line alone");

    // The name applies the saved query; an unknown one is said in the bar.
    typed(&mut s, "@tamperx");
    assert!(s.notice.as_deref().unwrap().contains("no saved query named tamperx; saved: tamper"));
    key(&mut s, KeyCode::Backspace);
    key(&mut s, KeyCode::Enter);
    assert_eq!((s.lists.anomalies.len(), s.filter.text.as_str()), (tampered, "@tamper"));
}
