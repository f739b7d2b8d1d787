//! End to end: the real binary in a real terminal (tmux). Start on a generated folder, wait
//! for anomalies, drill into a record, filter, quit, and check the terminal was restored.
//! Skips (and says so) where tmux is not installed; `.ci/run` installs it.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("run tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).output();
    }
}

fn wait_for(session: &str, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(needle) {
            return screen;
        }
        assert!(Instant::now() < deadline, "'{needle}' did not appear within {secs} s; screen:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether tmux is here. In CI (`CI=true`) a missing tmux fails the run instead of passing
/// a test that never ran.
fn have_tmux() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "tmux is required in CI (.ci/run installs it)");
    eprintln!("skipped: tmux is not installed");
    false
}

/// Waits until `needle` has left the screen.
fn wait_gone(session: &str, needle: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if !screen.contains(needle) {
            return;
        }
        assert!(Instant::now() < deadline, "'{needle}' still on screen after {secs} s:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn drive_the_console_in_tmux() {
    if !have_tmux() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_trailtop");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("trail");
    let status = Command::new(bin)
        .args(["gen", "--out", data.to_str().unwrap(), "--events", "4000", "--days", "2", "--seed", "3"])
        .status()
        .unwrap();
    assert!(status.success());
    let name = format!("trailtop-e2e-{}", std::process::id());
    let _session = Session(name.clone());
    let cmd = format!(
        "TRAILTOP_DATA_DIR='{}' TERM=xterm-256color '{bin}' '{}'; echo EXITED:$?; sleep 30",
        dir.path().join("data").display(),
        data.display()
    );
    tmux(&["new-session", "-d", "-s", &name, "-x", "120", "-y", "40", &cmd]);
    // Back-filled, then ranked (the first frames come before any data).
    wait_for(&name, "[live", 60);
    let screen = wait_for(&name, "fitted", 60);
    assert!(screen.contains("ranked entity-windows"));
    assert!(!screen.contains("DEMO DATA"), "a folder source is not demo data");
    tmux(&["send-keys", "-t", &name, "Enter"]);
    wait_for(&name, "explanation", 10);
    tmux(&["send-keys", "-t", &name, "Enter"]);
    wait_for(&name, "\"eventVersion\"", 10);
    // Each key waits for the frame of the one before: keys sent ahead of their frames tested
    // the input queue, not the console.
    tmux(&["send-keys", "-t", &name, "Escape"]);
    wait_gone(&name, "\"eventVersion\"", 10);
    tmux(&["send-keys", "-t", &name, "Escape"]);
    wait_gone(&name, "explanation", 10);
    wait_for(&name, "ranked entity-windows", 10);
    tmux(&["send-keys", "-t", &name, "3"]);
    wait_for(&name, "newest first", 10);
    tmux(&["send-keys", "-t", &name, "/", "event:Describe*", "Enter"]);
    let screen = wait_for(&name, "[filter: event:Describe*]", 10);
    let tail_lines: Vec<&str> =
        screen.lines().filter(|l| l.contains(" user/") || l.contains(" assumed-role/")).collect();
    assert!(!tail_lines.is_empty() && tail_lines.iter().all(|l| l.contains("Describe")), "{screen}");
    tmux(&["send-keys", "-t", &name, "q"]);
    let screen = wait_for(&name, "EXITED:0", 10);
    // Back on the normal screen: nothing of the console is left.
    assert!(!screen.contains("ranked entity-windows") && !screen.contains("newest first"), "{screen}");

    // Quitting saved the state; a console started again on the same data dir restores it and
    // says so, and the folder read again is not counted twice.
    let saved: Vec<_> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("state-"))
        .collect();
    assert_eq!(saved.len(), 1, "one state file: {saved:?}");
    let again = format!("{name}-again");
    let _session = Session(again.clone());
    tmux(&["new-session", "-d", "-s", &again, "-x", "120", "-y", "40", &cmd]);
    let screen = wait_for(&again, "principals, model (saved", 60);
    assert!(screen.contains("0 events"), "re-read records are not new events: {screen}");
    wait_for(&again, "fitted", 60);
    tmux(&["send-keys", "-t", &again, "q"]);
    wait_for(&again, "EXITED:0", 10);
}

/// A panic on a background thread used to leave the console drawing at full CPU over a dead
/// pipeline, on a terminal the panic hook had already restored.
#[test]
fn a_panic_on_the_pipeline_thread_ends_the_console_with_a_restored_terminal() {
    if !have_tmux() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_trailtop");
    let dir = tempfile::tempdir().unwrap();
    let name = format!("trailtop-panic-{}", std::process::id());
    let _session = Session(name.clone());
    let err = dir.path().join("stderr");
    let cmd = format!(
        "TRAILTOP_TEST_PANIC=pipeline TRAILTOP_DATA_DIR='{}' TERM=xterm-256color '{bin}' demo 2>'{}'; echo EXITED:$?; sleep 30",
        dir.path().display(),
        err.display()
    );
    tmux(&["new-session", "-d", "-s", &name, "-x", "120", "-y", "40", &cmd]);
    // The injected panic comes two seconds after the pipeline starts.
    let screen = wait_for(&name, "EXITED:", 60);
    assert!(screen.contains("EXITED:1"), "{screen}");
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert!(stderr.contains("thread 'pipeline' panicked"), "{stderr}");
    assert!(
        stderr.contains("Error: thread 'pipeline' panicked") || stderr.contains("Error: the pipeline stopped"),
        "{stderr}"
    );
    // The alternate screen is gone: nothing of the console is left.
    assert!(!screen.contains("DEMO DATA") && !screen.contains("events/min"), "{screen}");
    let log = std::fs::read_to_string(dir.path().join("trailtop.log")).unwrap();
    assert!(log.contains("panicked"), "the panic is in the log too:\n{log}");
}

/// With no terminal at all (`trailtop < /dev/null > file`) the console says what it needs.
#[test]
fn without_a_terminal_the_console_says_so_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trailtop"))
        .arg("demo")
        .env("TRAILTOP_DATA_DIR", dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("needs a terminal") && stderr.contains("trailtop scan"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
