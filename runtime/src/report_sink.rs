//! Where reports go when no exception handler is set: stderr, or `tracing` events with the
//! `tracing` feature (`tracing_events.rs`). Layer 1 (reports): uses only `record::report` and
//! `tracing_events`.

use crate::record::report::{shown_backtrace, Report};

/// What `Config::exception_handler` stores, and the context calls.
pub(crate) type Handler = std::rc::Rc<dyn Fn(&Report)>;

/// Hands `report` to `handler`, or to [`default_handler`] when none is configured (kept as
/// `None` so that the default costs no allocation per run).
pub(crate) fn hand_to(handler: Option<&Handler>, report: &Report) {
    match handler {
        Some(handler) => handler(report),
        None => default_handler(report),
    }
}

/// The handler used when none is configured: one line on stderr, followed for a panic by the
/// spawn backtrace when there is one (debug mode). With the `tracing` feature, a `tracing` event
/// instead whenever a subscriber is installed.
pub(crate) fn default_handler(report: &Report) {
    #[cfg(feature = "tracing")]
    if crate::tracing_events::emit(report) {
        return;
    }
    match shown_backtrace(report) {
        Some(backtrace) => eprintln!("{report}\n  the task was spawned from:\n{backtrace}"),
        None => eprintln!("{report}"),
    }
}
