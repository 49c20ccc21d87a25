//! `Handle`: a `Send + Sync` way into a running loop, to spawn `Send` futures from any thread.
//!
//! Every function here is generic or `#[inline]`, so only programs that take a handle compile
//! it (ARCHITECTURE.md, "Pay for what you use"). Layer 4 (tasks): uses the context, the record
//! and `task::spawn`, `task::join`, `task::supervise`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use super::join::Task;
use super::spawn::{allocate, large, schedule};
use crate::context::this_thread;
use crate::record::header::{Header, Shared, SEND};

/// A handle to a running loop that other threads can keep and use (tokio's `Handle`).
///
/// `Send + Sync + Clone`. Take one with [`Handle::current`] inside a run and hand it to threads;
/// [`spawn`](Handle::spawn) from any of them starts a `Send` future as a task on that loop. A
/// spawn (or any wake) from another thread unparks an idle loop at once.
///
/// Once the loop has closed, [`spawn`](Handle::spawn) drops the future without polling it, and
/// the returned [`Task`] reports [`TaskError::Cancelled`](crate::TaskError::Cancelled) when
/// joined (awaiting it panics, as for any cancelled task); it never hangs. A task spawned while
/// the run is shutting down is cancelled like every other task then.
///
/// # Examples
///
/// ```
/// use corun_runtime::Handle;
///
/// let answer = corun_runtime::run(async {
///     let handle = Handle::current();
///     let task = std::thread::spawn(move || handle.spawn(async { 6 * 7 })).join().unwrap();
///     task.await
/// });
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the loop running on this thread.
    ///
    /// # Panics
    ///
    /// Outside a running loop, with a message saying so; use [`try_current`](Self::try_current)
    /// to ask instead.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let handle = corun_runtime::Handle::current();
    ///     # drop(handle);
    /// });
    /// ```
    #[track_caller]
    #[inline]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(handle) => handle,
            None => panic!(
                "corun::Handle::current was called outside a running event loop; take the \
                 handle inside corun::run or #[corun::entry] and pass it to other threads"
            ),
        }
    }

    /// The handle of the loop running on this thread, or `None` outside a running loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::Handle;
    ///
    /// assert!(Handle::try_current().is_none());
    /// corun_runtime::run(async { assert!(Handle::try_current().is_some()) });
    /// ```
    #[inline]
    pub fn try_current() -> Option<Handle> {
        this_thread::current().map(|ctx| Handle {
            shared: ctx.shared.clone(),
        })
    }

    /// Starts running `future` as a new task on this handle's loop, from any thread. The task is
    /// named `Task-N`; see [`spawn`](crate::spawn) for what a task is.
    ///
    /// The returned [`Task`] is `Send` (its output is), so the spawning thread may await or join
    /// it on another loop, or hand it back. After the loop closed, the future is dropped and the
    /// task reports cancellation (see [`Handle`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::Handle;
    ///
    /// corun_runtime::run(async {
    ///     let handle = Handle::current();
    ///     let worker = std::thread::spawn(move || {
    ///         let task = handle.spawn(async { "from another thread" });
    ///         task
    ///     });
    ///     let task = worker.join().unwrap();
    ///     assert_eq!(task.await, "from another thread");
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if const { large::<F>() } {
            return self.spawn_inner(None, Box::pin(future), Location::caller());
        }
        self.spawn_inner(None, future, Location::caller())
    }

    /// Like [`spawn`](Self::spawn), with a name of your choosing.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let handle = corun_runtime::Handle::current();
    ///     let task = handle.spawn_named("poller", async { 1 });
    ///     assert_eq!(task.name(), "poller");
    ///     assert_eq!(task.await, 1);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_named<F>(&self, name: impl Into<String>, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if const { large::<F>() } {
            return self.spawn_inner(Some(name.into()), Box::pin(future), Location::caller());
        }
        self.spawn_inner(Some(name.into()), future, Location::caller())
    }

    fn spawn_inner<F>(
        &self,
        name: Option<String>,
        future: F,
        location: &'static Location<'static>,
    ) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let header = Header::new(
            name.map(Arc::from),
            location,
            self.shared.clone(),
            SEND,
            false,
        );
        let (runnable, task) = allocate(header, future);
        // On the loop's own thread this queues the task directly; elsewhere it goes through the
        // remote queue and unparks the loop; on a closed loop the runnable, and so the future, is
        // dropped and the task is cancelled.
        schedule(runnable);
        Task::new(task)
    }
}

impl fmt::Debug for Handle {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

// A `Header` crosses threads with every task (`Handle::spawn`, wakes, `Task` handles): it must be
// `Send + Sync`, or `Task<T>` would not be `Send`. Checked at compile time.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Header>();
    assert_send_sync::<Handle>();
};
