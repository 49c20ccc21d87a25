//! What the loop tells the exception handler: panics nobody retrieved, panics while cancelling,
//! and in debug mode slow polls and tasks cancelled at shutdown or before they ran. Layer 1 (the
//! record, beside the task record): uses only `record::id` and `record::task_ref`. Where reports
//! go when no handler is set: `report_sink.rs`.

use std::any::Any;
use std::backtrace::Backtrace;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use super::id::TaskId;
use super::task_ref::TaskRef;

/// What a [`Report`] is about.
///
/// # Examples
///
/// ```
/// use corun_runtime::ReportKind;
/// assert_eq!(ReportKind::UnretrievedPanic.to_string(), "unretrieved panic");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReportKind {
    /// A task panicked and no handle can retrieve the panic any more (asyncio's "Task exception
    /// was never retrieved"). Always reported.
    UnretrievedPanic,
    /// Dropping a task's future (to cancel it, or after it finished) panicked. Always reported.
    PanicWhileCancelling,
    /// Debug mode: a task was cancelled because the run ended while it was alive.
    CancelledAtShutdown,
    /// Debug mode: one poll held the loop longer than the slow-poll threshold.
    SlowPoll,
    /// Debug mode: a task was cancelled with `Task::cancel` before it was ever polled, so none
    /// of its code ran (asyncio's "coroutine was never awaited").
    NeverPolled,
    /// `to_thread` work was still running when the shutdown timeout ran out. Always reported.
    ThreadWorkOutstanding,
    /// A signal (Ctrl-C, SIGTERM) stopped the run: always reported once the run ends as
    /// interrupted (the main task cancelled, or the shutdown cut short, with what it left
    /// behind); in debug mode also as the signal arrives.
    Signal,
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportKind::UnretrievedPanic => "unretrieved panic",
            ReportKind::PanicWhileCancelling => "panic while cancelling",
            ReportKind::CancelledAtShutdown => "cancelled at shutdown",
            ReportKind::SlowPoll => "slow poll",
            ReportKind::NeverPolled => "never polled",
            ReportKind::ThreadWorkOutstanding => "thread work outstanding",
            ReportKind::Signal => "signal",
        })
    }
}

/// One thing the loop reports to the exception handler (`Config::exception_handler`).
///
/// Without a handler of your own, each report is one line on stderr (its `Display`), followed
/// for a panic in debug mode by the backtrace of the task's spawn on the next lines. With the
/// crate's `tracing` feature and a `tracing` subscriber installed, each report is instead an
/// event with target `corun` (`ERROR` for panics, `WARN` otherwise) and the fields `kind`,
/// `task`, `task_id`, `spawned_at`, `elapsed` and, for a panic in debug mode,
/// `spawn_backtrace`.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use corun_runtime::{Config, ReportKind};
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let sink = seen.clone();
/// Config::new()
///     .exception_handler(move |report| sink.borrow_mut().push(report.kind()))
///     .run(async {
///         drop(corun_runtime::spawn(async { panic!("lost") }));
///         corun_runtime::yield_now().await;
///     });
/// assert_eq!(*seen.borrow(), [ReportKind::UnretrievedPanic]);
/// ```
#[derive(Clone, Debug)]
pub struct Report {
    kind: ReportKind,
    message: String,
    task: Option<(String, TaskId)>,
    spawned_at: Option<&'static Location<'static>>,
    spawn_backtrace: Option<Arc<Backtrace>>,
    elapsed: Option<Duration>,
}

impl Report {
    pub(crate) fn new(kind: ReportKind, message: String) -> Self {
        Report {
            kind,
            message,
            task: None,
            spawned_at: None,
            spawn_backtrace: None,
            elapsed: None,
        }
    }

    pub(crate) fn for_task(kind: ReportKind, task: &TaskRef, message: String) -> Self {
        Report {
            task: Some((task.name().to_owned(), task.id())),
            spawned_at: Some(task.spawned_at()),
            spawn_backtrace: task.spawn_backtrace.clone(),
            ..Report::new(kind, message)
        }
    }

    pub(crate) fn with_elapsed(mut self, elapsed: Duration) -> Self {
        self.elapsed = Some(elapsed);
        self
    }

    /// What the report is about.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(report: &corun_runtime::Report) {
    /// if report.kind() == corun_runtime::ReportKind::SlowPoll { /* ... */ }
    /// # }
    /// ```
    pub fn kind(&self) -> ReportKind {
        self.kind
    }

    /// What happened, in words (for a panic, its message).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(report: &corun_runtime::Report) {
    /// eprintln!("{}", report.message());
    /// # }
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The name of the task concerned, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(report: &corun_runtime::Report) {
    /// let task = report.task_name().unwrap_or("<no task>");
    /// # }
    /// ```
    pub fn task_name(&self) -> Option<&str> {
        self.task.as_ref().map(|(name, _)| name.as_str())
    }

    /// The id of the task concerned, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(report: &corun_runtime::Report) {
    /// if let Some(id) = report.task_id() { eprintln!("task #{id}"); }
    /// # }
    /// ```
    pub fn task_id(&self) -> Option<TaskId> {
        self.task.as_ref().map(|(_, id)| *id)
    }

    /// Where the task concerned was spawned, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(report: &corun_runtime::Report) {
    /// if let Some(at) = report.spawned_at() { eprintln!("spawned at {at}"); }
    /// # }
    /// ```
    pub fn spawned_at(&self) -> Option<&'static Location<'static>> {
        self.spawned_at
    }

    /// The stack of the code that spawned the task concerned, captured at spawn in debug mode
    /// only (capturing costs microseconds per spawn). `None` outside debug mode, for reports
    /// about no task, and for the main task and tasks spawned from other threads.
    ///
    /// The default handler prints it on the lines after the report's own for panics
    /// ([`ReportKind::UnretrievedPanic`], [`ReportKind::PanicWhileCancelling`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use corun_runtime::{Config, ReportKind};
    ///
    /// let traces = Rc::new(RefCell::new(Vec::new()));
    /// let sink = traces.clone();
    /// Config::new()
    ///     .debug(true)
    ///     .exception_handler(move |report| {
    ///         if report.kind() == ReportKind::UnretrievedPanic {
    ///             sink.borrow_mut().push(report.spawn_backtrace().map(|bt| bt.to_string()));
    ///         }
    ///     })
    ///     .run(async {
    ///         drop(corun_runtime::spawn(async { panic!("lost") }));
    ///         corun_runtime::yield_now().await;
    ///     });
    /// assert!(traces.borrow()[0].is_some());
    /// ```
    pub fn spawn_backtrace(&self) -> Option<&Backtrace> {
        self.spawn_backtrace.as_deref()
    }

    /// How long the thing reported took (a slow poll, the wait for threads), if it applies.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(report: &corun_runtime::Report) {
    /// if let Some(took) = report.elapsed() { eprintln!("took {took:?}"); }
    /// # }
    /// ```
    pub fn elapsed(&self) -> Option<Duration> {
        self.elapsed
    }
}

/// One line: `corun: <kind>: task 'name' (#id, spawned at file:line): message [took …]`.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "corun: {}: ", self.kind)?;
        if let Some((name, id)) = &self.task {
            write!(f, "task '{name}' (#{id}")?;
            if let Some(at) = self.spawned_at {
                write!(f, ", spawned at {at}")?;
            }
            f.write_str("): ")?;
        }
        f.write_str(&self.message)?;
        if let Some(elapsed) = self.elapsed {
            write!(f, " (took {elapsed:?})")?;
        }
        Ok(())
    }
}

/// The spawn backtrace the default handler shows with `report`: a panic's, in debug mode.
pub(crate) fn shown_backtrace(report: &Report) -> Option<&Backtrace> {
    match report.kind {
        ReportKind::UnretrievedPanic | ReportKind::PanicWhileCancelling => report.spawn_backtrace(),
        _ => None,
    }
}

/// The message of a panic payload, as the default panic hook would print it.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
