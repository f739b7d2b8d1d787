//! One thread per sink takes alerts from its spool in order and hands them over. A failure
//! that may pass (down, 5xx, 429, a timeout) keeps the alert at the head of the queue and is
//! tried again with back-off (or when the sink's `Retry-After` says); a refusal for good is
//! set aside in the spool's `rejected.jsonl`. A failing sink never holds up ingest or the
//! other sinks: each has its own thread and queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::spool::Spool;

/// Why a sink did not take an alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// It may take it later (down, 5xx, 429, timeout): try again after `after`, or the
    /// back-off's next step.
    Retry {
        /// What went wrong, in a line.
        why: String,
        /// What the sink asked for (`Retry-After`).
        after: Option<Duration>,
    },
    /// It never will (a 4xx that is not 408 or 429): the alert is set aside.
    Refused(String),
}

impl Failure {
    /// A failure to try again after the back-off.
    pub fn retry(why: impl Into<String>) -> Self {
        Failure::Retry { why: why.into(), after: None }
    }
}

/// An alert document as the spool holds it; one that is not JSON is refused for good.
pub fn parse_doc(doc: &str) -> Result<serde_json::Value, Failure> {
    serde_json::from_str(doc).map_err(|e| Failure::Refused(format!("not an alert document: {e}")))
}

/// Something alerts go to.
pub trait Sink: Send {
    /// Hands over one alert document (JSON).
    fn send(&mut self, doc: &str) -> Result<(), Failure>;
    /// The least time between two sends (Slack takes one message a second).
    fn min_interval(&self) -> Duration {
        Duration::ZERO
    }
}

/// A sink's state, for the header, the metrics and the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SinkState {
    /// Its last send went through, or it has sent nothing yet.
    #[default]
    Ok,
    /// Its last send failed; retrying.
    Failing,
}

/// What a sink has done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinkView {
    /// The sink as given, with secrets (a webhook's path) left out.
    pub name: String,
    /// Its state.
    pub state: SinkState,
    /// Alerts delivered.
    pub sent: u64,
    /// Sends that failed (each retry counts).
    pub failed: u64,
    /// Alerts refused for good, set aside.
    pub refused: u64,
    /// Alerts waiting in its spool.
    pub spooled: u64,
    /// Its latest error, scrubbed.
    pub last_error: Option<String>,
}

/// The first back-off; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The longest a `Retry-After` is honoured for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// A running delivery thread's handle.
pub struct Worker {
    /// What it has done.
    pub view: Arc<Mutex<SinkView>>,
    /// Its queue.
    pub spool: Arc<Spool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts delivering `spool` to `sink`.
    pub fn start(name: String, mut sink: Box<dyn Sink>, spool: Arc<Spool>) -> Worker {
        let view =
            Arc::new(Mutex::new(SinkView { name: name.clone(), spooled: spool.pending(), ..Default::default() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (v, s, q) = (Arc::clone(&view), Arc::clone(&stop), Arc::clone(&spool));
        let thread =
            std::thread::Builder::new().name(format!("alert {name}")).spawn(move || run(&mut *sink, &q, &v, &s)).ok();
        Worker { view, spool, stop, thread }
    }

    /// Asks the thread to stop and waits for it up to `grace` (an alert being sent finishes
    /// or times out; what is left stays spooled for the next start).
    pub fn stop(mut self, grace: Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.spool.nudge();
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + grace;
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

fn update(view: &Mutex<SinkView>, f: impl FnOnce(&mut SinkView)) {
    f(&mut view.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
}

/// Sleeps `d`, waking early to stop.
fn pause(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
    }
}

fn run(sink: &mut dyn Sink, spool: &Spool, view: &Mutex<SinkView>, stop: &AtomicBool) {
    let mut backoff = FIRST_BACKOFF;
    let mut last_send: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let (doc, next) = match spool.peek(Duration::from_millis(500)) {
            Ok(Some(x)) => x,
            Ok(None) => continue,
            Err(e) => {
                update(view, |v| v.last_error = Some(format!("{e:#}")));
                pause(MAX_BACKOFF, stop);
                continue;
            }
        };
        if let Some(t) = last_send {
            pause(sink.min_interval().saturating_sub(t.elapsed()), stop);
        }
        let name = view.lock().map(|v| v.name.clone()).unwrap_or_default();
        let sent = sink.send(&doc);
        // Counted from the end of a send: a request that took long to arrive must not bring
        // the next one closer than the interval to the receiver.
        last_send = Some(Instant::now());
        match sent {
            Ok(()) => {
                backoff = FIRST_BACKOFF;
                let acked = spool.ack(next);
                update(view, |v| {
                    v.sent += 1;
                    v.state = SinkState::Ok;
                    v.spooled = spool.pending();
                    if let Err(e) = &acked {
                        v.last_error = Some(format!("{e:#}"));
                    }
                });
                if let Err(e) = acked {
                    tracing::error!("alert sink {name}: delivered, but the spool could not move past it: {e:#}");
                }
            }
            Err(Failure::Retry { why, after }) => {
                let wait = after.map_or(backoff, |a| a.min(MAX_RETRY_AFTER));
                tracing::warn!("alert sink {name}: {why}; trying again in {wait:?}");
                update(view, |v| {
                    v.failed += 1;
                    v.state = SinkState::Failing;
                    v.last_error = Some(crate::parse::sanitize::clean_owned(&why));
                });
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause(wait, stop);
            }
            Err(Failure::Refused(why)) => {
                tracing::error!(
                    "alert sink {name}: refused an alert for good ({why}); set aside in its spool's rejected.jsonl"
                );
                let moved = spool.reject(&doc, next);
                update(view, |v| {
                    v.refused += 1;
                    v.spooled = spool.pending();
                    v.last_error = Some(crate::parse::sanitize::clean_owned(&why));
                });
                if let Err(e) = moved {
                    tracing::error!("alert sink {name}: {e:#}");
                    pause(MAX_BACKOFF, stop);
                }
            }
        }
    }
}
