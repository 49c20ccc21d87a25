//! What the loop tells the exception handler: panics nobody retrieved, panics while cancelling,
//! and in debug mode slow polls and tasks cancelled at shutdown.

use std::any::Any;
use std::fmt;
use std::panic::Location;
use std::time::Duration;

use crate::task::{Header, TaskId};

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
    /// `to_thread` work was still running when the shutdown timeout ran out. Always reported.
    ThreadWorkOutstanding,
    /// A signal (Ctrl-C, SIGTERM) asked the run to stop.
    Signal,
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportKind::UnretrievedPanic => "unretrieved panic",
            ReportKind::PanicWhileCancelling => "panic while cancelling",
            ReportKind::CancelledAtShutdown => "cancelled at shutdown",
            ReportKind::SlowPoll => "slow poll",
            ReportKind::ThreadWorkOutstanding => "thread work outstanding",
            ReportKind::Signal => "signal",
        })
    }
}

/// One thing the loop reports to the exception handler (`Config::exception_handler`; by
/// default one line on stderr).
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
    elapsed: Option<Duration>,
}

impl Report {
    pub(crate) fn new(kind: ReportKind, message: String) -> Self {
        Report {
            kind,
            message,
            task: None,
            spawned_at: None,
            elapsed: None,
        }
    }

    pub(crate) fn for_task(kind: ReportKind, header: &Header, message: String) -> Self {
        Report {
            task: Some((header.name().to_owned(), header.id())),
            spawned_at: Some(header.location),
            ..Report::new(kind, message)
        }
    }

    #[allow(dead_code)] // Slow-poll and thread-work reports (debug mode) use it.
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

/// The handler used when none is configured: one line on stderr.
pub(crate) fn default_handler(report: &Report) {
    eprintln!("{report}");
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
