//! What a task group gives when it did not succeed: [`GroupError`], one [`ChildFailure`] per
//! failure, each a [`Failure`]. Layer 4 (tasks): uses only the record (`TaskRef`, `TaskId`,
//! `panic_message`).

use std::any::Any;
use std::fmt;
use std::panic::Location;

use crate::record::id::TaskId;
use crate::record::report::panic_message;
use crate::record::task_ref::TaskRef;

/// Why a [`task_group`](crate::task_group) gave no value: every failure of its children and its
/// body, in the order they happened, and whether the group was cancelled (asyncio's
/// `ExceptionGroup` out of a `TaskGroup`).
///
/// Its `Display` lists each failure with the task's name, where it was spawned and what went
/// wrong, one per line.
///
/// # Examples
///
/// ```
/// use corun_runtime::{task_group, Failure};
///
/// corun_runtime::run(async {
///     let error = task_group(async |g| {
///         g.spawn_named("ok", async {});
///         g.try_spawn(async { Err::<(), _>("disk full") });
///         Ok::<_, &str>(())
///     })
///     .await
///     .unwrap_err();
///     assert!(!error.was_cancelled());
///     let [failure] = error.failures() else { panic!("one failure") };
///     assert!(matches!(failure.failure(), Failure::Error("disk full")));
///     assert!(error.to_string().contains("disk full"));
/// });
/// ```
pub struct GroupError<E> {
    failures: Vec<ChildFailure<E>>,
    was_cancelled: bool,
}

impl<E> GroupError<E> {
    pub(super) fn new(failures: Vec<ChildFailure<E>>, was_cancelled: bool) -> Self {
        GroupError {
            failures,
            was_cancelled,
        }
    }

    /// Every failure, in the order it happened: children's panics and `Err`s, and the body's.
    /// Empty when the group was only cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::task_group;
    ///
    /// corun_runtime::run(async {
    ///     let error = task_group(async |g| {
    ///         g.spawn_named("first", async { panic!("one") });
    ///         g.try_spawn(async { Err::<(), _>(2) });
    ///         Ok::<_, i32>(())
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     // The panic happened first; the other child was cancelled before it ran.
    ///     assert_eq!(error.failures().len(), 1);
    ///     assert_eq!(error.failures()[0].name(), "first");
    /// });
    /// ```
    pub fn failures(&self) -> &[ChildFailure<E>] {
        &self.failures
    }

    /// Whether the group was cancelled: by [`TaskGroup::cancel`](crate::TaskGroup::cancel), or
    /// from outside (the task running it was cancelled, or the run ended). A failure alone does
    /// not make it `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::task_group;
    ///
    /// corun_runtime::run(async {
    ///     let error = task_group(async |g| {
    ///         g.spawn(std::future::pending::<()>());
    ///         g.cancel();
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     assert!(error.was_cancelled());
    ///     assert!(error.failures().is_empty());
    /// });
    /// ```
    pub fn was_cancelled(&self) -> bool {
        self.was_cancelled
    }

    /// The failures, by value (to take a panic's payload or an error out).
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{task_group, Failure};
    ///
    /// corun_runtime::run(async {
    ///     let error = task_group(async |_| Err::<(), _>(String::from("bad input")))
    ///         .await
    ///         .unwrap_err();
    ///     for failure in error.into_failures() {
    ///         if let Failure::Error(message) = failure.into_failure() {
    ///             assert_eq!(message, "bad input");
    ///         }
    ///     }
    /// });
    /// ```
    pub fn into_failures(self) -> Vec<ChildFailure<E>> {
        self.failures
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.failures.len(), self.was_cancelled) {
            (0, _) => f.write_str("task group was cancelled")?,
            (1, false) => f.write_str("task group failed: 1 failure")?,
            (n, false) => write!(f, "task group failed: {n} failures")?,
            (1, true) => f.write_str("task group was cancelled, with 1 failure")?,
            (n, true) => write!(f, "task group was cancelled, with {n} failures")?,
        }
        for failure in &self.failures {
            write!(f, "\n  {failure}")?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("failures", &self.failures)
            .field("was_cancelled", &self.was_cancelled)
            .finish()
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}

/// One failure in a task group: which task failed (a child, or the task running the group for
/// its body), where it was spawned, and how.
///
/// # Examples
///
/// ```
/// use corun_runtime::task_group;
///
/// corun_runtime::run(async {
///     let error = task_group(async |g| {
///         g.spawn_named("parser", async { panic!("unexpected token") });
///         Ok::<_, String>(())
///     })
///     .await
///     .unwrap_err();
///     let failure = &error.failures()[0];
///     assert_eq!(failure.name(), "parser");
///     assert!(failure.spawned_at().file().ends_with(".rs"));
///     assert!(failure.to_string().contains("unexpected token"));
/// });
/// ```
pub struct ChildFailure<E> {
    task: TaskRef,
    /// The failure is the body's (the task is the one running the group).
    body: bool,
    failure: Failure<E>,
}

impl<E> ChildFailure<E> {
    pub(super) fn new(task: TaskRef, body: bool, failure: Failure<E>) -> Self {
        ChildFailure {
            task,
            body,
            failure,
        }
    }

    pub(super) fn task(&self) -> &TaskRef {
        &self.task
    }

    /// The failed task's name: the child's (`Task-N` or the one given to
    /// [`spawn_named`](crate::TaskGroup::spawn_named)), or for the body's failure, the name of the
    /// task running the group.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let error = corun_runtime::task_group(async |_| Err::<(), _>(1)).await.unwrap_err();
    ///     assert_eq!(error.failures()[0].name(), "main");
    /// });
    /// ```
    pub fn name(&self) -> &str {
        self.task.name()
    }

    /// The failed task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let error = corun_runtime::task_group(async |g| {
    ///         let child = g.try_spawn(async { Err::<(), _>(1) });
    ///         let id = child.id();
    ///         std::future::pending::<()>().await;
    ///         Ok(id)
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     assert!(error.failures()[0].id().get() > 0);
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.id()
    }

    /// Where the failed child was spawned (for the body, where the task running the group was).
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let error = corun_runtime::task_group(async |g| {
    ///         g.try_spawn(async { Err::<(), _>(1) });
    ///         Ok(())
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     assert_eq!(error.failures()[0].spawned_at().line(), line!() - 5);
    /// });
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.task.spawned_at()
    }

    /// How it failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::Failure;
    ///
    /// corun_runtime::run(async {
    ///     let error = corun_runtime::task_group(async |g| {
    ///         g.spawn(async { panic!("boom") });
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     assert!(matches!(error.failures()[0].failure(), Failure::Panicked(_)));
    /// });
    /// ```
    pub fn failure(&self) -> &Failure<E> {
        &self.failure
    }

    /// How it failed, by value.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::Failure;
    ///
    /// corun_runtime::run(async {
    ///     let error = corun_runtime::task_group(async |g| {
    ///         g.spawn(async { panic!("boom") });
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     let Failure::Panicked(payload) = error.into_failures().remove(0).into_failure() else {
    ///         panic!("a panic")
    ///     };
    ///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// });
    /// ```
    pub fn into_failure(self) -> Failure<E> {
        self.failure
    }
}

impl<E: fmt::Display> fmt::Display for ChildFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = if self.body {
            "the body, in task"
        } else {
            "child"
        };
        write!(
            f,
            "{role} '{}' (spawned at {}) ",
            self.task.name(),
            self.task.spawned_at()
        )?;
        match &self.failure {
            Failure::Panicked(payload) => write!(f, "panicked: {}", panic_message(&**payload)),
            Failure::Error(error) => write!(f, "returned an error: {error}"),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for ChildFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildFailure")
            .field("name", &self.task.name())
            .field("id", &self.task.id())
            .field("spawned_at", &format_args!("{}", self.task.spawned_at()))
            .field("body", &self.body)
            .field("failure", &self.failure)
            .finish()
    }
}

/// How a task of a group failed: it panicked (the payload, as `catch_unwind` gives it), or it
/// returned `Err` (a [`try_spawn`](crate::TaskGroup::try_spawn) child, or the body).
///
/// # Examples
///
/// ```
/// use corun_runtime::Failure;
///
/// let failure: Failure<&str> = Failure::Error("no such file");
/// assert!(matches!(failure, Failure::Error(_)));
/// ```
pub enum Failure<E> {
    /// The task panicked; the group does not resume the panic.
    Panicked(Box<dyn Any + Send>),
    /// The task returned `Err`.
    Error(E),
}

impl<E: fmt::Debug> fmt::Debug for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Panicked(payload) => f
                .debug_tuple("Panicked")
                .field(&panic_message(&**payload))
                .finish(),
            Failure::Error(error) => f.debug_tuple("Error").field(error).finish(),
        }
    }
}
