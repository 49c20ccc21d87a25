//! Spawning: `spawn`, `spawn_named`, the one allocation per task, and how every task's wakes
//! reach its loop. Layer 4 (tasks): uses the context, the loop layer, the
//! record and `task::supervise`, `task::join`.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;

use super::join::Task;
use super::supervise::{self, Outcome};
use crate::context::this_thread;
use crate::event_loop::Runnable;
use crate::record::header::{Header, RawRunnable, RawTask, Remote};
use crate::record::raw_task::{self, Schedule, Watch};

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
    let spawned = this_thread::with_running(|ctx| {
        let name = name.map(Arc::from);
        let header = Header::new(name, location, ctx.shared.clone(), 0, ctx.debug);
        let (runnable, task) = allocate(header, future);
        ctx.call_soon(Runnable::new(runnable));
        Task::new(task)
    });
    let Some(task) = spawned else {
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
    task
}

/// Makes the allocation of a task running `future` (wrapped by `supervise`), described by
/// `header`: its first runnable, to queue, and its handle.
pub(crate) fn allocate<F: Future + 'static>(
    header: Header,
    future: F,
) -> (RawRunnable, RawTask<Outcome<F::Output>>) {
    // SAFETY: `allocate` asks that a runnable of a body that is not `Send` be run and dropped on
    // the thread of the loop `OnLoop::is_local` finds for `header`. Only `spawn` makes such tasks,
    // on the loop's thread (from a task or the driver, with the loop's context installed), and
    // every runnable of such a task stays there:
    // - `raw_task` makes later runnables only in a wake on the loop's thread, which it tells by
    //   `OnLoop::is_local`; a wake from any other thread sends a waker, never a runnable;
    // - the runtime runs runnables only in `Context::run_ready` and drops queued ones only in
    //   `EventLoop::close`, both on the loop's thread.
    // `Handle::spawn`'s futures are `Send`: their first runnable may be dropped by the thread that
    // made it, when the loop has closed (`schedule`).
    unsafe { raw_task::allocate::<_, _, OnLoop>(header, supervise::supervise(future)) }
}

/// How corun's tasks reach their loop: directly on the loop's thread, through its mailbox from
/// any other.
enum OnLoop {}

impl Schedule<Header> for OnLoop {
    fn is_local(header: &Header) -> bool {
        this_thread::runs_here(&header.shared)
    }

    fn call_soon(runnable: RawRunnable) {
        this_thread::call_soon_here(runnable);
    }

    fn wake_remote(header: &Header, waker: Waker) {
        // A closed loop finished every task it owned: the wake is dropped.
        drop(header.shared.send(Remote::Wake(waker)));
    }

    fn park_awaiter(header: &Header, waker: &Waker, watch: impl FnOnce() -> Watch<Header>) {
        let parked = this_thread::with_local(&header.shared, |ctx| {
            ctx.park_awaiter(header.id(), waker);
        });
        if parked.is_some() {
            return;
        }
        let message = Remote::Await {
            task: watch(),
            waker: waker.clone(),
        };
        if let Err(Remote::Await { task, waker }) = header.shared.send(message) {
            // The loop closed since the handle looked. It completed the task first, unless it
            // leaked it (a shutdown stopped by a signal): then nothing will ever wake the
            // awaiting code, as nothing would with the waker kept.
            if task.is_complete() {
                waker.wake();
            }
        }
    }

    fn take_awaiter(header: &Header) -> Option<Waker> {
        // Off the loop's thread only for a `Handle::spawn` task dropped by the thread that made
        // it (its loop had closed): nothing was parked for it on a loop.
        this_thread::with_local(&header.shared, |ctx| ctx.take_awaiter(header.id())).flatten()
    }
}

/// Queues a task's first runnable: on the loop directly when this is its thread, else through
/// its remote queue, which unparks it (`Handle::spawn` from another thread).
pub(crate) fn schedule(runnable: RawRunnable) {
    let runnable = match this_thread::call_soon_local(runnable) {
        Ok(()) => return,
        Err(runnable) => runnable,
    };
    let shared = runnable.header().shared.clone();
    // The loop has closed: only a `Handle::spawn` task, whose future is `Send`, gets here, and
    // dropping its runnable drops the future and reports the task cancelled.
    drop(shared.send(Remote::Run(runnable)));
}
