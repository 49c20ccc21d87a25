//! `TaskRef`: what a task shows of itself (name, id, spawn site), copied out so that it outlives
//! the task, and how to cancel it. Layer 1 (the record): uses only `record::id` and
//! `record::control`.

use std::backtrace::Backtrace;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, OnceLock};

use super::control::Control;
use super::id::TaskId;

/// A name given to a task: one chosen by the user, shared by the task's header and every
/// `TaskRef` of it; or the main task's default, `main`, which a run makes without an allocation
/// or a reference count (an allocation and four atomic operations of a `run()`, BENCHMARKS.md,
/// round 6).
#[derive(Clone)]
pub(crate) enum GivenName {
    Main,
    Chosen(Arc<str>),
}

impl GivenName {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            GivenName::Main => "main",
            GivenName::Chosen(name) => name,
        }
    }
}

/// A reference to a running task, as [`current_task`](crate::current_task) gives it: its name
/// and id.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let main = corun_runtime::current_task().unwrap();
///     assert_eq!(main.name(), "main");
/// });
/// ```
///
/// It stays valid after the task has finished: it holds what it shows, not the task.
#[derive(Clone)]
pub struct TaskRef {
    pub(crate) id: TaskId,
    pub(crate) location: &'static Location<'static>,
    /// The name given at spawn (or main's), if any.
    pub(crate) given_name: Option<GivenName>,
    /// `Task-N`, made on the first call to `name` when no name was given.
    pub(crate) default_name: OnceLock<Box<str>>,
    /// Debug mode: where the task was spawned, for reports about it.
    pub(crate) spawn_backtrace: Option<Arc<Backtrace>>,
    /// How to cancel the task: set on the references `current_task` gives, `None` on those the
    /// runtime makes for reports and loops.
    pub(crate) control: Option<Arc<Control>>,
}

impl TaskRef {
    /// The task's name.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     corun_runtime::spawn_named("worker", async {
    ///         assert_eq!(corun_runtime::current_task().unwrap().name(), "worker");
    ///     })
    ///     .await;
    /// });
    /// ```
    pub fn name(&self) -> &str {
        match &self.given_name {
            Some(name) => name.as_str(),
            None => self
                .default_name
                .get_or_init(|| self.id.default_name().into_boxed_str()),
        }
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let task = corun_runtime::spawn(async { corun_runtime::current_task().unwrap().id() });
    ///     let id = task.id();
    ///     assert_eq!(task.await, id);
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Where the task was spawned (for the main task: where the run started).
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let here = corun_runtime::current_task().unwrap().spawned_at();
    ///     assert!(here.file().ends_with(".rs"));
    /// });
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.location
    }

    /// Asks the task to cancel, as [`Task::cancel`](crate::Task::cancel) does (asyncio's
    /// `current_task().cancel()`): a task listening on [`cancelled`](crate::cancelled) is woken
    /// and may finish on its own; any other has its future dropped at the loop's next turn.
    /// Returns `false` if the task had already finished. Works from any thread, on the main task
    /// too: a main cancelled this way that does not listen has no value to return, so the run
    /// then panics, after the shutdown, with a message naming it (asyncio's `run` raises
    /// `CancelledError`).
    ///
    /// Only a `TaskRef` that [`current_task`](crate::current_task) gave can cancel; one that an
    /// [`EventLoop`](crate::EventLoop) gets from [`Runnable::task`](crate::Runnable::task) names
    /// the task and returns `false` here (a loop schedules work, it does not cancel it).
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::TaskError;
    ///
    /// corun_runtime::run(async {
    ///     let (send, receive) = std::sync::mpsc::channel();
    ///     let worker = corun_runtime::spawn(async move {
    ///         send.send(corun_runtime::current_task().unwrap()).unwrap();
    ///         std::future::pending::<()>().await;
    ///     });
    ///     corun_runtime::yield_now().await;
    ///     let worker_ref = receive.recv().unwrap();
    ///     assert!(worker_ref.cancel());
    ///     assert!(matches!(worker.join().await, Err(TaskError::Cancelled)));
    ///     assert!(!worker_ref.cancel(), "it has finished");
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.control
            .as_ref()
            .is_some_and(|control| control.request())
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("name", &self.name())
            .field("spawned_at", &format_args!("{}", self.location))
            .finish()
    }
}
