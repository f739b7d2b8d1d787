//! A panic on any thread ends the console. The hook ratatui installs restores the terminal, but
//! the main loop would go on drawing over a dead pipeline (at full CPU, once its channel has
//! hung up). This hook, chained in front of ratatui's, logs the panic, keeps its message and
//! wakes the main loop, which then returns it as the console's error.

use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender, bounded};

/// What the main loop watches.
pub struct PanicWatch {
    rx: Receiver<()>,
    message: Arc<Mutex<Option<String>>>,
}

impl PanicWatch {
    /// Ready (once) when any thread has panicked.
    pub fn receiver(&self) -> &Receiver<()> {
        &self.rx
    }

    /// The first panic's message and place, for the console's closing error.
    pub fn message(&self) -> Option<String> {
        self.message.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Chains a hook in front of the current one (install after `ratatui::try_init`).
pub fn install() -> PanicWatch {
    let (tx, rx): (Sender<()>, Receiver<()>) = bounded(1);
    let message = Arc::new(Mutex::new(None));
    let kept = Arc::clone(&message);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let text = format!("thread '{thread}' panicked{place}: {what}");
        tracing::error!("{text}");
        kept.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(text);
        let _ = tx.try_send(());
        previous(info);
    }));
    PanicWatch { rx, message }
}

/// Fault injection for the end-to-end test, in debug builds only: `TRAILTOP_TEST_PANIC=NAME`
/// makes the thread called NAME panic a moment after it starts.
pub fn injected(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("TRAILTOP_TEST_PANIC").is_ok_and(|v| v == name) {
        std::thread::sleep(std::time::Duration::from_secs(2));
        panic!("injected by TRAILTOP_TEST_PANIC");
    }
    let _ = name;
}
