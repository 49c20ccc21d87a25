//! Spawning: `spawn`, `spawn_named`, the one async-task allocation per task, and the schedule
//! function every task's wakes go through. Layer 4 (tasks): uses the context, the loop layer, the
//! record and `task::supervise`, `task::join`.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use super::join::Task;
use super::supervise;
use crate::context::this_thread;
use crate::event_loop::Runnable;
use crate::record::header::{Header, RawRunnable, RawTask, Remote, SEND};

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
    let Some(ctx) = this_thread::current() else {
        #[cfg(feature = "tokio")]
        if tokio::runtime::Handle::try_current().is_ok() {
            panic!(
                "corun::spawn ran on a tokio worker thread (TokioLoop::multi_thread runs \
                 tokio::spawn'ed work there) or another thread with a tokio runtime but no corun \
                 loop; corun's tasks live on the loop's thread: use tokio::spawn here, or \
                 corun::Handle::spawn (with a Handle::current() taken on the loop) for a Send \
                 future that must run on the loop"
            );
        }
        panic!(
            "corun::spawn was called outside a running event loop; call it from inside \
             corun::run or #[corun::entry], or use Handle::spawn from other threads"
        );
    };
    let name = name.map(Arc::from);
    let header = Header::new(name, location, ctx.shared.clone(), 0, ctx.debug);
    let (runnable, task) = allocate(header, |header| supervise::supervise(header, future));
    ctx.call_soon(Runnable::new(runnable));
    Task::new(task)
}

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
    //   installed on the current thread (`this_thread::call_soon_local`); from any other thread it
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
    let runnable = match this_thread::call_soon_local(runnable) {
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
