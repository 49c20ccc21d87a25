//! The `Task` handle (a future of the task's output, `cancel`, `name`) and `Join`. Layer 4
//! (tasks): uses the record, `cancel` and `task::supervise`, `task::error`.

use std::fmt;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::task::{Context as PollContext, Poll};

use super::error::TaskError;
use super::supervise::{Failure, Outcome};
use crate::cancel;
use crate::record::header::{Header, RawTask};
use crate::record::id::TaskId;

/// A handle to a spawned task, and a future of its output (asyncio's `Task`).
///
/// Awaiting it gives the task's output, or **resumes the task's panic in the awaiting task**; if
/// the task was cancelled, awaiting it panics with a message naming it. [`join`](Task::join)
/// gives the same as a `Result` instead. Dropping the handle detaches the task, which keeps
/// running; a panic that no handle can retrieve any more is reported to the exception handler.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let task = corun_runtime::spawn(async { "done" });
///     assert!(!task.is_finished());
///     assert_eq!(task.await, "done");
/// });
/// ```
pub struct Task<T> {
    /// Kept after the output is taken, so that `name`, `id` and `is_finished` still answer.
    /// Dropping it detaches the task.
    inner: RawTask<Outcome<T>>,
}

impl<T> Task<T> {
    pub(crate) fn new(task: RawTask<Outcome<T>>) -> Self {
        Task { inner: task }
    }

    fn header(&self) -> &Header {
        self.inner.header()
    }

    /// The task's name: the one given to [`spawn_named`](crate::spawn_named), else `Task-N`.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let task = corun_runtime::spawn(async {});
    ///     assert!(task.name().starts_with("Task-"));
    /// });
    /// ```
    pub fn name(&self) -> &str {
        self.header().name()
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let task = corun_runtime::spawn(async {});
    ///     assert_eq!(task.name(), format!("Task-{}", task.id()));
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.header().id()
    }

    /// Whether the task has finished: returned, panicked or been cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let task = corun_runtime::spawn(async {});
    ///     corun_runtime::yield_now().await;
    ///     assert!(task.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Asks the task to cancel. Returns `false` if it had already finished.
    ///
    /// A task waiting on [`cancelled`](crate::cancelled) is woken and may finish on its own
    /// (its output is then delivered as usual); any other task has its future dropped at the
    /// loop's next turn, never in the middle of a poll, and its handle then reports
    /// cancellation.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::TaskError;
    ///
    /// corun_runtime::run(async {
    ///     let task = corun_runtime::spawn(std::future::pending::<()>());
    ///     assert!(task.cancel());
    ///     assert!(matches!(task.join().await, Err(TaskError::Cancelled)));
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        !self.is_finished() && cancel::request_cancel(self.header())
    }

    /// A future of the task's outcome as a `Result`, instead of resuming its panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::TaskError;
    ///
    /// corun_runtime::run(async {
    ///     let task = corun_runtime::spawn(async { panic!("boom") });
    ///     match task.join().await {
    ///         Err(TaskError::Panicked(payload)) => {
    ///             assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"))
    ///         }
    ///         _ => unreachable!(),
    ///     }
    /// });
    /// ```
    pub fn join(self) -> Join<T> {
        Join { task: self }
    }

    fn poll_outcome(&mut self, cx: &mut PollContext<'_>) -> Poll<Result<T, TaskError>> {
        assert!(
            !self.inner.taken(),
            "a Task is not polled after it gave its output"
        );
        let outcome = match self.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(outcome)) => outcome,
            // Its runnable was dropped without running (only when its loop had closed): no output.
            Poll::Ready(None) => Err(Box::new(Failure::Cancelled)),
        };
        Poll::Ready(match outcome {
            Ok(output) => Ok(output),
            Err(failure) => match *failure {
                Failure::Panicked(mut panic) => Err(TaskError::Panicked(panic.take())),
                Failure::Cancelled => Err(TaskError::Cancelled),
            },
        })
    }
}

impl<T> Future for Task<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<T> {
        let this = self.get_mut();
        this.poll_outcome(cx).map(|outcome| match outcome {
            Ok(output) => output,
            Err(TaskError::Panicked(payload)) => resume_unwind(payload),
            Err(TaskError::Cancelled) => panic!(
                "task '{}' was cancelled; use Task::join to get Err(TaskError::Cancelled) \
                 instead of this panic",
                this.name()
            ),
        })
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.header(), f)
    }
}

/// The future returned by [`Task::join`]: the task's outcome as a `Result`.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let joined = corun_runtime::spawn(async { 5 }).join().await;
///     assert_eq!(joined.unwrap(), 5);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Join<T> {
    task: Task<T>,
}

impl<T> Future for Join<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<Self::Output> {
        self.get_mut().task.poll_outcome(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::Task;

    /// Spawn + join holds a handle per task: the name lives with the task, not in the handle,
    /// which is the task's pointer and a flag (BENCHMARKS.md, round 6: five words cost 9 ns a
    /// task in cache misses).
    #[test]
    fn a_handle_is_two_words() {
        assert_eq!(size_of::<Task<u64>>(), 2 * size_of::<usize>());
    }
}
