//! `trailtop scan` as scripts run it: what it prints, and what its exit code means, when the
//! input is hostile, the reader goes away, or a source cannot be read.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;

fn trailtop() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailtop"));
    // Under cargo's own temporary folder (target/tmp), not /tmp, where one folder a run was left.
    let data = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("trailtop-cli-{}", std::process::id()));
    cmd.env("TRAILTOP_DATA_DIR", data);
    cmd
}

fn generated(events: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = trailtop()
        .args(["gen", "--out", dir.path().to_str().unwrap(), "--events", events, "--days", "2", "--seed", "4"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

/// `scan ... | head -2` printed "Error: Broken pipe" and exited 1; a reader that stops early
/// is not an error (as with ripgrep).
#[test]
fn a_reader_that_closes_the_pipe_ends_the_scan_quietly() {
    let dir = generated("6000");
    for format in ["jsonl", "csv", "table"] {
        let mut child = trailtop()
            .args(["scan", dir.path().to_str().unwrap(), "--all", "--labels-dir", "none", "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty());
        // The pipe's read end is closed here, long before the rows (hundreds of KiB) are out.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert!(!stderr.contains("Broken pipe") && !stderr.contains("Error"), "{format}: {stderr}");
    }
}

/// One record with an absurd eventTime panicked `scan` ("end byte index 16 is out of
/// bounds"); now it is counted invalid and the good records are ranked.
#[test]
fn an_absurd_event_time_is_a_counted_invalid_record() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.json");
    std::fs::write(
        &file,
        r#"{"Records":[{"eventTime":100000000000000000,"eventName":"X","userIdentity":{"arn":"a"}},
        {"eventTime":"-100000000000000","eventName":"X","userIdentity":{"arn":"a"}},
        {"eventTime":"2024-03-01T10:00:00Z","eventName":"Y","eventID":"good","userIdentity":{"arn":"arn:aws:iam::1:user/u"}}]}"#,
    )
    .unwrap();
    let out = trailtop().args(["scan", file.to_str().unwrap(), "--labels-dir", "none", "--stats"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1 events used") && stderr.contains("2 invalid"), "{stderr}");
    assert!(stderr.contains("eventTime"), "the reason is shown: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2024-03-01T10:00"));
}

/// `--window 144115188075855872w` overflowed to a window of zero seconds and divided by it.
#[test]
fn an_absurd_duration_is_a_usage_error() {
    let out = trailtop().args(["scan", ".", "--window", "144115188075855872w"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("too long"), "{stderr}");
}

/// `trailtop scan` with no AWS credentials anywhere (environment, files, instance metadata).
fn scan_without_credentials(data: &std::path::Path) -> Command {
    let mut cmd = common::trailtop_scan(data, "", "");
    cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    cmd
}

/// With no credentials anywhere, the SDK's last attempt (instance metadata) was the message;
/// and the run exited 0 with "0 of 0 flagged", which a cron job reads as "no anomalies".
#[test]
fn no_credentials_say_so_and_the_scan_is_incomplete() {
    let data = tempfile::tempdir().unwrap();
    let out = scan_without_credentials(data.path())
        // Nothing listens here: no request may leave before the credentials are found.
        .args(["s3://bucket/AWSLogs/", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no AWS credentials found: set a profile (--profile)"), "{stderr}");
}

/// `scan x.txt` read nothing and said nothing. A file named on the command line is read
/// whatever its name; a folder without CloudTrail files says so.
#[test]
fn a_named_file_is_read_whatever_its_name_and_an_empty_folder_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.txt");
    std::fs::write(
        &file,
        r#"{"eventTime":"2024-03-01T10:00:00Z","eventName":"Y","eventID":"a","userIdentity":{"arn":"arn:aws:iam::1:user/u"}}"#,
    )
    .unwrap();
    let out = trailtop().args(["scan", file.to_str().unwrap(), "--labels-dir", "none", "--stats"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 files, 1 records, 1 events used"), "{stderr}");
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "x").unwrap();
    let out = trailtop().args(["scan", empty.path().to_str().unwrap(), "--labels-dir", "none"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no CloudTrail files"), "{stderr}");
}

/// The headless path end to end, as a script drives it: `gen` writes thousands of files,
/// `scan --all --format jsonl` accounts for every generated event in its rows and gives each
/// row every field the README lists, and `eval` finds the attacks.
#[test]
fn gen_scan_and_eval_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (out, labels) = (dir.path().join("trail"), dir.path().join("labels.csv"));
    let generated = trailtop()
        .args(["gen", "--out", out.to_str().unwrap(), "--events", "30000", "--days", "7", "--seed", "1"])
        .args(["--labels", labels.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&generated.stderr);
    assert!(said.contains("wrote 30000 events"), "{said}");
    let files = trailtop::source::folder::list_files(&out).len();
    assert!(files >= 3_000, "{files} files");

    let scan = trailtop()
        .args(["scan", out.to_str().unwrap(), "--all", "--format", "jsonl", "--labels-dir", "none", "--stats"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&scan.stderr);
    assert_eq!(scan.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("{files} files, 30000 records, 30000 events used")), "{stderr}");
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&scan.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.iter().map(|r| r["events"].as_u64().unwrap()).sum::<u64>(), 30_000);
    let fields = [
        "rank",
        "score",
        "rank_score",
        "flagged",
        "rules",
        "habitual_rules",
        "reasons",
        "entity",
        "principal",
        "source_ip",
        "window_start",
        "window_end",
        "events",
        "features",
    ];
    let reason_fields =
        ["feature", "value", "contribution", "percentile", "population_p99", "entity_usual", "label", "text"];
    for r in &rows {
        for f in fields {
            assert!(r.get(f).is_some(), "no {f} in {r}");
        }
        for reason in r["reasons"].as_array().unwrap() {
            for f in reason_fields {
                assert!(reason.get(f).is_some(), "no reasons[].{f} in {reason}");
            }
        }
    }
    assert!(rows.iter().any(|r| !r["reasons"].as_array().unwrap().is_empty()));
    // The 1% cut, and beyond it only windows a high rule flagged (`--always-flag high`).
    let cut = rows.len().div_ceil(100);
    assert!(rows.iter().take(cut).all(|r| r["flagged"] == true));
    let high = ["logging-tampering", "iam-persistence", "public-sharing", "console-brute-force"];
    for r in rows.iter().skip(cut).filter(|r| r["flagged"] == true) {
        let rules: Vec<&str> = r["rules"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        let habitual: Vec<&str> = r["habitual_rules"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert!(rules.iter().any(|x| high.contains(x) && !habitual.contains(x)), "flagged beyond the cut: {r}");
    }

    let eval = trailtop()
        .args(["eval", out.to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    // Measured on this seed: ROC-AUC 0.99, 8 of the 10 scenarios flagged.
    assert!(report["roc_auc"].as_f64().unwrap() >= 0.97, "{report}");
    let detected = report["scenarios"].as_array().unwrap().iter().filter(|s| s["detected"] == true).count();
    assert!(detected >= 8, "{report}");
}

/// LookupEvents with no credentials: said so, and the request that never left this machine is
/// not counted against the account's 2 a second.
#[test]
fn lookup_without_credentials_counts_no_requests() {
    let data = tempfile::tempdir().unwrap();
    let out = scan_without_credentials(data.path())
        .args(["lookup://us-east-1", "--endpoint-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no AWS credentials found"), "{stderr}");
    assert!(stderr.contains("us-east-1: 0 requests"), "{stderr}");
}

/// Two instances on one data dir: the second says so and keeps no checkpoint there.
#[test]
fn a_second_instance_on_a_data_dir_says_so() {
    let data = tempfile::tempdir().unwrap();
    let _held = trailtop::sys::lock_data_dir(data.path()).expect("free");
    let file = data.path().join("t.json");
    std::fs::write(
        &file,
        r#"{"eventTime":"2024-03-01T10:00:00Z","eventName":"Y","eventID":"a","userIdentity":{"arn":"u"}}"#,
    )
    .unwrap();
    let out = trailtop()
        .env("TRAILTOP_DATA_DIR", data.path())
        .args(["scan", file.to_str().unwrap(), "--labels-dir", "none"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("another trailtop uses"), "{stderr}");
}

/// `scan -o /dev/null` (as the ingest benchmark runs it) failed with "cannot sync the output
/// file: Invalid argument": a device cannot be fsynced, and need not be.
#[test]
fn output_to_a_device_is_not_synced() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.json");
    std::fs::write(
        &file,
        r#"{"Records":[{"eventTime":"2024-03-01T10:00:00Z","eventName":"Y","eventID":"a","userIdentity":{"arn":"arn:aws:iam::1:user/u"}}]}"#,
    )
    .unwrap();
    let out = trailtop()
        .args(["scan", file.to_str().unwrap(), "--labels-dir", "none", "--format", "jsonl", "--output", "/dev/null"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Shell completions and a man page from the same clap definitions, and a `--help` that says
/// what `--by` and `--theme` take and where the data and config folders are.
#[test]
fn completions_man_page_and_help() {
    for shell in ["bash", "zsh", "fish"] {
        let out = trailtop().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("watch") && text.contains("alert-budget"), "{shell}: {text}");
    }
    let man = trailtop().arg("man").output().unwrap();
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(man.status.success() && text.contains(".TH trailtop 1") && text.contains("watch"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let help = trailtop().env("TRAILTOP_DATA_DIR", dir.path()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for want in ["access-key", "high-contrast", "Data folder", &dir.path().display().to_string(), "Config folder"] {
        assert!(text.contains(want), "{want} in {text}");
    }
}

/// `scan --query` takes the console's filter language: windows with a matching record, ranks
/// of the whole ranking, a misspelled field an error.
#[test]
fn scan_query_keeps_the_windows_with_a_matching_record() {
    let dir = generated("6000");
    let scan = |q: &str| {
        trailtop()
            .args([
                "scan",
                dir.path().to_str().unwrap(),
                "--all",
                "--labels-dir",
                "none",
                "--format",
                "jsonl",
                "--query",
                q,
            ])
            .output()
            .unwrap()
    };
    let out = scan("event:StopLogging");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!rows.is_empty());
    for r in &rows {
        assert!(r["rules"].as_array().unwrap().iter().any(|x| x == "logging-tampering"), "{r}");
    }
    // Ranks are those of the whole ranking.
    let all = trailtop()
        .args(["scan", dir.path().to_str().unwrap(), "--all", "--labels-dir", "none", "--format", "jsonl"])
        .output()
        .unwrap();
    let rank_of: std::collections::HashMap<(String, String), u64> = String::from_utf8_lossy(&all.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|r| ((r["entity"].to_string(), r["window_start"].to_string()), r["rank"].as_u64().unwrap()))
        .collect();
    for r in &rows {
        assert_eq!(rank_of[&(r["entity"].to_string(), r["window_start"].to_string())], r["rank"].as_u64().unwrap());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("--query kept {} of ", rows.len())), "{stderr}");
    let bad = scan("evnt:Stop*");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown field 'evnt:'"));
    // A query the console saved by name.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(config.path().join("queries.toml"), "[saved]\ntamper = \"event:StopLogging\"\n").unwrap();
    let named = trailtop()
        .env("TRAILTOP_CONFIG_HOME", config.path())
        .args(["scan", dir.path().to_str().unwrap(), "--all", "--labels-dir", "none", "--format", "jsonl"])
        .args(["--query", "@tamper"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&named.stdout), String::from_utf8_lossy(&out.stdout));
}
