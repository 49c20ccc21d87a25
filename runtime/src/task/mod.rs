//! Tasks: `spawn`, the `Task` handle, `current_task`.
//!
//! A task is one `async_task` allocation holding the user's future wrapped by
//! [`supervise`](supervise::supervise), plus an [`Header`] shared by the future, the handle and the
//! task's wakers. The loop owns every live task: a task is registered with its loop on its first
//! poll and deregistered when its future is gone, so shutdown can find and cancel all of them.

mod handle;
mod header;
mod supervise;

use std::any::Any;
use std::backtrace::Backtrace;
use std::fmt;
use std::future::Future;
use std::panic::{resume_unwind, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context as PollContext, Poll, Waker};

pub use handle::Handle;
pub use header::TaskId;
pub(crate) use header::{Header, CANCEL_REQUESTED, COOPERATIVE, FINISHED, POLLED, SEND};
pub(crate) use supervise::{Failure, Outcome};

use crate::context::{self, Remote, Shared};
use crate::event_loop::Runnable;

/// Starts running `future` as a new task on the running loop (asyncio's `create_task`).
///
/// The task is scheduled at once and named `Task-N`. The loop owns it: dropping the returned
/// [`Task`] detaches it and it keeps running; when the run ends, every task still alive is
/// cancelled.
///
/// # Panics
///
/// Outside a running loop, with a message saying so. From another thread, use
/// `Handle::spawn`.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let task = corun_runtime::spawn(async { 1 + 1 });
///     assert_eq!(task.await, 2);
/// });
/// ```
#[track_caller]
pub fn spawn<F: Future + 'static>(future: F) -> Task<F::Output> {
    if const { large::<F>() } {
        return spawn_inner(None, Box::pin(future), Location::caller());
    }
    spawn_inner(None, future, Location::caller())
}

/// Like [`spawn`], with a name of your choosing, which reports and [`Task::name`] show.
///
/// # Panics
///
/// Outside a running loop.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let task = corun_runtime::spawn_named("fetcher", async { 7 });
///     assert_eq!(task.name(), "fetcher");
///     assert_eq!(task.await, 7);
/// });
/// ```
#[track_caller]
pub fn spawn_named<F: Future + 'static>(name: impl Into<String>, future: F) -> Task<F::Output> {
    if const { large::<F>() } {
        return spawn_inner(Some(name.into()), Box::pin(future), Location::caller());
    }
    spawn_inner(Some(name.into()), future, Location::caller())
}

/// Futures larger than this are moved to the heap by the public function that receives them
/// (`spawn`, `run`, `Handle::spawn`, …), before any other call: in debug builds every frame that
/// takes a future by value holds its own copy, and a 64 KiB future passed down a few frames
/// overflowed a 256 KiB thread stack.
pub(crate) const BOX_LARGER_THAN: usize = 2048;

/// Whether `F` is large enough to be boxed on entry.
pub(crate) const fn large<F>() -> bool {
    std::mem::size_of::<F>() > BOX_LARGER_THAN
}

#[track_caller]
fn spawn_inner<F: Future + 'static>(
    name: Option<String>,
    future: F,
    location: &'static Location<'static>,
) -> Task<F::Output> {
    let Some(ctx) = context::current() else {
        panic!(
            "corun::spawn was called outside a running event loop; call it from inside \
             corun::run or #[corun::entry], or use Handle::spawn from other threads"
        );
    };
    let header = Header::new(name, location, ctx.shared.clone(), 0, ctx.debug);
    let (runnable, task) = allocate(header, |header| supervise::supervise(header, future));
    ctx.call_soon(Runnable::new(runnable));
    Task::new(task)
}

/// The runnable async-task hands out for every corun task.
pub(crate) type RawRunnable = async_task::Runnable<Header>;

/// The handle async-task hands out for every corun task.
pub(crate) type RawTask<T> = async_task::Task<T, Header>;

/// Makes the async-task allocation of a task: `header` becomes its metadata, and `body` makes
/// the future from a reference to it, so the header is stored once, inside the task, and the
/// future reaches it without a reference count.
///
/// A future that is not `Send` is polled and dropped only on the thread of the loop that
/// `header.shared` belongs to. async-task's `spawn_local` would check the thread at every poll
/// and drop through its `Checked` wrapper, which reborrows the whole future to read its thread
/// id; Miri reports that as undefined behaviour for self-referential futures
/// (smol-rs/async-task#102), and the check is redundant with the invariant below.
pub(crate) fn allocate<'a, B, F>(header: Header, body: B) -> (RawRunnable, RawTask<F::Output>)
where
    B: FnOnce(&'a Header) -> F,
    F: Future + 'a,
{
    // SAFETY: `spawn_unchecked` asks:
    // - for a future that is not `'static`, that what it borrows other than the metadata
    //   outlive its `Runnable`: `body` is given only the metadata to borrow (`'a` is the
    //   metadata's lifetime, chosen by async-task), and every caller's future is otherwise
    //   `'static` (`spawn` and `Handle::spawn` require `'static` futures);
    // - for a schedule function that is not `Send + Sync + 'static`, conditions on its wakers:
    //   `schedule` is a function item, all three;
    // - for a future that is not `Send`, that its `Runnable` be used and dropped on the thread
    //   that made it. `Handle::spawn`'s futures are `Send`, so this only concerns `spawn`, which
    //   is called on the loop's thread (from a task or the driver, with the loop's context
    //   installed), and every `Runnable` of such a task stays there:
    // - `schedule` hands a `Runnable` to the loop directly only when that loop's context is
    //   installed on the current thread (`context::call_soon_local`); from any other thread it
    //   goes into the loop's remote queue, which only the loop's thread drains (`drain_remote`,
    //   `close_remote`), or, once that queue has closed, is leaked rather than dropped (see
    //   `schedule`: only `SEND` tasks are dropped there);
    // - the runtime runs `Runnable`s only in `Context::run_ready` and drops queued ones only in
    //   `EventLoop::close`, both on the loop's thread;
    // - the remote queue is closed and drained on the loop's thread before the context is
    //   dropped (`shutdown`), and the `Shared` that owns it outlives the context only after that,
    //   so no `Runnable` is ever dropped with it elsewhere.
    unsafe {
        async_task::Builder::new()
            .metadata(header)
            .spawn_unchecked(body, schedule)
    }
}

/// The schedule function of every task: a wake on the loop's own thread queues the task on the
/// loop directly; a wake from anywhere else goes through the loop's remote queue and unparks it.
pub(crate) fn schedule(runnable: RawRunnable) {
    let runnable = match context::call_soon_local(runnable) {
        Ok(()) => return,
        Err(runnable) => runnable,
    };
    let shared = runnable.metadata().shared.clone();
    if let Err(Remote::Run(rejected)) = shared.send(Remote::Run(runnable)) {
        // The loop has closed. Its shutdown finished every task it owned, so only a task made by
        // `Handle::spawn` after the close can get here, and its future is `Send`: drop it. A
        // local task's future must not be dropped off its thread, so one would be leaked rather
        // than turned into a panic inside someone's `wake`.
        if rejected.metadata().has(SEND) {
            drop(rejected);
        } else {
            std::mem::forget(rejected);
        }
    }
}

/// A handle to a spawned task, and a future of its output (asyncio's `Task`).
///
/// Awaiting it gives the task's output, or **resumes the task's panic in the awaiting task**; if
/// the task was cancelled, awaiting it panics with a message naming it. [`join`](Task::join)
/// gives the same as a `Result` instead. Dropping the handle detaches the task, which keeps
/// running; a panic that no handle can retrieve any more is reported to the exception handler
/// ("Task exception was never retrieved"), and so is, when the loop closes, one that a handle
/// still holds then (a handle leaked with `mem::forget`, or kept past the run): no panic is lost.
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
    /// `Some` until the handle is dropped (then detached); kept after the output is taken, so
    /// that `name`, `id` and `is_finished` still answer.
    inner: Option<RawTask<Outcome<T>>>,
    /// The output (or panic) has been handed out.
    taken: bool,
    /// `Task-N`, made on the first call to `name` for a task spawned without a name.
    default_name: OnceLock<Box<str>>,
}

impl<T> Task<T> {
    pub(crate) fn new(task: RawTask<Outcome<T>>) -> Self {
        Task {
            inner: Some(task),
            taken: false,
            default_name: OnceLock::new(),
        }
    }

    fn header(&self) -> &Header {
        self.inner
            .as_ref()
            .expect("a Task has its inner task until dropped")
            .metadata()
    }

    /// The task's name: the one given to [`spawn_named`], else `Task-N`.
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
        let header = self.header();
        name_or_default(header.given_name(), &self.default_name, header.id())
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
        self.taken || self.inner.as_ref().is_none_or(|t| t.is_finished())
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
        match &self.inner {
            Some(inner) if !self.is_finished() => inner.metadata().request_cancel(),
            _ => false,
        }
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
        assert!(!self.taken, "a Task is not polled after it gave its output");
        let inner = self
            .inner
            .as_mut()
            .expect("a Task has its inner task until dropped");
        // A task whose work was dropped without ever finishing (only when its loop had closed)
        // has no output: async-task would panic if polled, so answer for it.
        let outcome = if inner.is_finished() && !inner.metadata().has(FINISHED) {
            Err(Box::new(Failure::Cancelled))
        } else {
            match Pin::new(inner).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(outcome) => outcome,
            }
        };
        self.taken = true;
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

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.detach();
        }
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

/// Why a task gave no output.
///
/// # Examples
///
/// ```
/// use corun_runtime::TaskError;
///
/// let error = TaskError::Cancelled;
/// assert_eq!(error.to_string(), "task was cancelled");
/// ```
pub enum TaskError {
    /// The task panicked; this is the panic's payload, as `std::panic::catch_unwind` gives it.
    Panicked(Box<dyn Any + Send>),
    /// The task was cancelled before it finished.
    Cancelled,
}

impl TaskError {
    /// Whether this is [`TaskError::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corun_runtime::TaskError::Cancelled.is_cancelled());
    /// ```
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }
}

// `TaskError`'s methods are `#[inline]`: only programs that join tasks compile them
// (ARCHITECTURE.md, "Pay for what you use").
impl fmt::Debug for TaskError {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(payload) => f
                .debug_tuple("Panicked")
                .field(&crate::report::panic_message(&**payload))
                .finish(),
            TaskError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for TaskError {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(payload) => write!(
                f,
                "task panicked: {}",
                crate::report::panic_message(&**payload)
            ),
            TaskError::Cancelled => f.write_str("task was cancelled"),
        }
    }
}

impl std::error::Error for TaskError {}

/// The name given to task `id`, or else `Task-N`, made on first use and kept in `default`.
fn name_or_default<'a>(
    given: Option<&'a Arc<str>>,
    default: &'a OnceLock<Box<str>>,
    id: TaskId,
) -> &'a str {
    match given {
        Some(name) => name,
        None => default.get_or_init(|| id.default_name().into_boxed_str()),
    }
}

/// A reference to a running task, as [`current_task`] gives it: its name and id.
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
    /// The name given at spawn, if any.
    pub(crate) given_name: Option<Arc<str>>,
    /// `Task-N`, made on the first call to `name` when no name was given.
    pub(crate) default_name: OnceLock<Box<str>>,
    /// Debug mode: where the task was spawned, for reports about it.
    pub(crate) spawn_backtrace: Option<Arc<Backtrace>>,
    /// How to cancel the task: set on the references users get (`current_task`,
    /// `Runnable::task`), `None` on those the runtime makes for its reports.
    pub(crate) control: Option<Arc<Control>>,
}

/// What a [`TaskRef`] needs to cancel its task from anywhere without holding the task: a
/// request flag the task reads at its next poll (see `Context::apply_cancel_request`), and how
/// to wake it. The loop keeps the controls of its live tasks that have one, by id, and marks each
/// finished when its task ends.
pub(crate) struct Control {
    /// `CANCEL_REQUESTED` and `FINISHED`, as in the task's header.
    state: AtomicU8,
    shared: Arc<Shared>,
    /// The task's registry key once known (`u32::MAX` before its first poll, and for the main
    /// task, which is not in the registry).
    slot: AtomicU32,
    /// The main task's waker; `None` for spawned tasks, woken through the registry instead.
    main_waker: Option<Waker>,
}

impl Control {
    pub(crate) fn new(shared: Arc<Shared>, main_waker: Option<Waker>) -> Self {
        Control {
            state: AtomicU8::new(0),
            shared,
            slot: AtomicU32::new(u32::MAX),
            main_waker,
        }
    }

    /// Records the task's registry key, once the task has one.
    pub(crate) fn set_slot(&self, slot: Option<u32>) {
        if let Some(slot) = slot {
            self.slot.store(slot, Ordering::Release);
        }
    }

    fn slot(&self) -> Option<u32> {
        match self.slot.load(Ordering::Acquire) {
            u32::MAX => None,
            slot => Some(slot),
        }
    }

    /// Whether a cancellation was asked for through a `TaskRef`.
    pub(crate) fn is_requested(&self) -> bool {
        self.state.load(Ordering::Acquire) & CANCEL_REQUESTED != 0
    }

    /// The task ended: later requests return `false`.
    pub(crate) fn finish(&self) {
        self.state.fetch_or(FINISHED, Ordering::AcqRel);
    }

    /// Asks task `id` to cancel, from any thread. Returns `false` if it had finished.
    fn request_cancel(&self, id: TaskId) -> bool {
        let previous = self.state.fetch_or(CANCEL_REQUESTED, Ordering::AcqRel);
        if previous & FINISHED != 0 {
            return false;
        }
        if previous & CANCEL_REQUESTED != 0 {
            return true;
        }
        // Main's turn sees the request (`drive_main`); a task sees it at the start of its next
        // poll, which this wake brings about, directly or through the loop's remote queue.
        if let Some(waker) = &self.main_waker {
            waker.wake_by_ref();
            return true;
        }
        match context::current() {
            Some(ctx) if Arc::ptr_eq(&ctx.shared, &self.shared) => {
                ctx.wake_task_at(id, self.slot())
            }
            _ => {
                let message = Remote::Cancel {
                    id,
                    slot: self.slot(),
                };
                drop(self.shared.send(message));
            }
        }
        true
    }
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
        name_or_default(self.given_name.as_ref(), &self.default_name, self.id)
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

    /// Asks the task to cancel, as [`Task::cancel`] does (asyncio's `current_task().cancel()`):
    /// a task listening on [`cancelled`](crate::cancelled) is woken and may finish on its own;
    /// any other has its future dropped at the loop's next turn. Returns `false` if the task had
    /// already finished. Works from any thread, and on any task a `TaskRef` was taken of, the
    /// main task included: a cancelled main that does not listen has no value to return, so the
    /// run then panics, after the shutdown, with a message naming it (asyncio's `run` raises
    /// `CancelledError`).
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
            .is_some_and(|control| control.request_cancel(self.id))
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

/// The task being polled now, or `None` outside a task (asyncio's `current_task`). The main
/// future runs as a task too, named after the entry function (`main` by default).
///
/// # Examples
///
/// ```
/// assert!(corun_runtime::current_task().is_none());
/// corun_runtime::run(async {
///     assert!(corun_runtime::current_task().is_some());
/// });
/// ```
pub fn current_task() -> Option<TaskRef> {
    let ctx = context::current()?;
    ctx.with_current(|header| ctx.cancellable_ref(header))
}
#[cfg(test)]
mod tests {
    use std::any::Any;
    use std::mem::size_of;

    use super::{Header, Outcome};

    /// Every idle task pays for its header: the heap bench's figure against tokio depends on it
    /// staying at five words.
    #[test]
    fn header_fits_in_five_words() {
        assert!(size_of::<Header>() <= 5 * size_of::<usize>());
    }

    /// The outcome of a task without output, wrapped as async-task stores it (with its `std`
    /// feature, in a `Result` beside a panic payload), takes no more room than a small future.
    #[test]
    fn outcome_of_a_unit_task_fits_in_two_words() {
        assert_eq!(size_of::<Outcome<()>>(), size_of::<usize>());
        assert!(size_of::<Result<Outcome<()>, Box<dyn Any + Send>>>() <= 2 * size_of::<usize>());
    }
}
