//! Feature `tracing`: the default handler's reports as `tracing` events, for programs that
//! collect their logs with a `tracing` subscriber. Layer 1 (reports): uses only
//! `record::report`.

use tracing::subscriber::NoSubscriber;

use crate::record::report::{shown_backtrace, Report, ReportKind};

/// Emits `report` as an event with target `corun` and returns `true`, or returns `false` when
/// no subscriber is installed on this thread (the report then goes to stderr, not nowhere).
///
/// Panics are `ERROR` events, everything else `WARN`. Fields: `kind`, `task`, `task_id`,
/// `spawned_at`, `elapsed` (each only when the report has it), `spawn_backtrace` (a panic's,
/// in debug mode), and the report's message as the event's message.
pub(crate) fn emit(report: &Report) -> bool {
    let subscribed = tracing::dispatcher::get_default(|dispatch| !dispatch.is::<NoSubscriber>());
    if !subscribed {
        return false;
    }
    // The level of a `tracing` event is part of its static metadata: one call site per level.
    macro_rules! event {
        ($level:ident) => {
            tracing::$level!(
                target: "corun",
                kind = %report.kind(),
                task = report.task_name(),
                task_id = report.task_id().map(|id| id.get()),
                spawned_at = report.spawned_at().map(tracing::field::display),
                elapsed = report.elapsed().map(tracing::field::debug),
                spawn_backtrace = shown_backtrace(report).map(tracing::field::display),
                "{}",
                report.message()
            )
        };
    }
    match report.kind() {
        ReportKind::UnretrievedPanic | ReportKind::PanicWhileCancelling => event!(error),
        _ => event!(warn),
    }
    true
}
