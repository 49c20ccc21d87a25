//! Cancellation: [`request_cancel`], how `Task::cancel` (and a signal, for main) asks a task to
//! stop; [`cancellable_ref`], how `TaskRef::cancel` reaches a task; and `cancelled()`, how a task
//! hears it and gets to finish on its own. Layer 4 (beside tasks): uses the context, the record
//! and `task::group::stuck` (hearing the cancellation frees code stuck on a task group's child).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as PollContext, Poll, Wake, Waker};

use crate::context::core::Context;
use crate::context::listeners::Listener;
use crate::context::this_thread;
use crate::record::header::{Header, Remote, Shared, FINISHED};
use crate::record::id::TaskId;
use crate::record::task_ref::TaskRef;
use crate::task::group::stuck;

/// Asks the task to cancel, from any thread. Returns `false` if it had finished.
///
/// On the task's loop thread the task (and its listening `cancelled()` future) is woken at once;
/// from anywhere else the request goes through the loop's mailbox (`Header::send_cancel`).
pub(crate) fn request_cancel(header: &Header) -> bool {
    if header.has(FINISHED) {
        return false;
    }
    if header.request_cancel() {
        return true;
    }
    match this_thread::local(&header.shared) {
        Some(ctx) => ctx.wake_task(header),
        None => header.send_cancel(),
    }
    true
}

/// A reference to the task `header` (being polled on `ctx`'s loop) that can cancel it, for
/// `current_task`: its control reaches the task through [`CancelWaker`].
pub(crate) fn cancellable_ref(ctx: &Context, header: &Header) -> TaskRef {
    let control = ctx.control_for(header, || {
        Waker::from(Arc::new(CancelWaker {
            shared: header.shared.clone(),
            id: header.id(),
            slot: header.slot(),
        }))
    });
    TaskRef {
        control: Some(control),
        ..header.task_ref()
    }
}

/// Wakes a spawned task so that it sees a cancellation asked through its `TaskRef`: on the
/// loop's thread at once, from anywhere else through the loop's mailbox, as `request_cancel`
/// does. It names the task by id and registry key, so it holds nothing of the task.
struct CancelWaker {
    shared: Arc<Shared>,
    id: TaskId,
    /// The task's registry key when the reference was taken; `None` during the task's first
    /// poll (it registers when that poll leaves it pending): the loop then finds the key through
    /// the task's control (`Context::wake_task_at`).
    slot: Option<u32>,
}

impl Wake for CancelWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match this_thread::local(&self.shared) {
            Some(ctx) => ctx.wake_task_at(self.id, self.slot),
            None => {
                let message = Remote::Cancel {
                    id: self.id,
                    slot: self.slot,
                };
                drop(self.shared.send(message));
            }
        }
    }
}

/// Completes when the task that called it has been asked to cancel: by [`Task::cancel`], by the
/// end of the run, or (for the main task) by a signal.
///
/// The future names the task that called `cancelled()`, and is `Send + 'static`: it can be
/// handed to code that polls it elsewhere, in another task, in a tokio task (on
/// [`TokioLoop`](crate::loops)) or on another thread, as a shutdown signal. Called outside a task,
/// it names the task that first polls it.
///
/// While such a future is being awaited (polled at least once and not dropped), wherever, the
/// task is *listening*: a cancellation then wakes the future instead of dropping the task's
/// future, and the task may finish on its own, awaiting whatever cleanup it needs. At the end of
/// a run, listening tasks get `Config::shutdown_grace` to do so. A task that is not listening
/// when the request comes has its future dropped at the loop's next turn.
///
/// [`Task::cancel`]: crate::Task::cancel
///
/// # Panics
///
/// When polled, if it was made outside a task and is polled outside a task too.
///
/// # Examples
///
/// A worker that stops on its own when cancelled:
///
/// ```
/// use std::time::Duration;
/// use corun_runtime::{loops::VirtualTimeLoop, Config};
///
/// Config::new().loop_factory(VirtualTimeLoop::new).run(async {
///     let worker = corun_runtime::spawn(async {
///         let mut ticks = 0;
///         let mut stop = std::pin::pin!(corun_runtime::cancelled());
///         loop {
///             let tick = corun_runtime::timeout(Duration::from_secs(1), stop.as_mut()).await;
///             if tick.is_ok() {
///                 return ticks; // asked to stop: finish cleanly, with a value
///             }
///             ticks += 1;
///         }
///     });
///     corun_runtime::sleep(Duration::from_millis(5500)).await;
///     worker.cancel();
///     assert_eq!(worker.await, 5);
/// });
/// ```
///
/// A task's shutdown signal, awaited by another task on its behalf (as a server's graceful
/// shutdown awaits it):
///
/// ```
/// let outcome = corun_runtime::run(async {
///     let server = corun_runtime::spawn(async {
///         let stop = corun_runtime::cancelled(); // names the server task
///         let watcher = corun_runtime::spawn(async move {
///             stop.await;
///             "stopped"
///         });
///         watcher.await // the server task is listening while the watcher awaits
///     });
///     corun_runtime::yield_now().await;
///     corun_runtime::yield_now().await;
///     server.cancel();
///     server.await
/// });
/// assert_eq!(outcome, "stopped");
/// ```
pub fn cancelled() -> Cancelled {
    Cancelled {
        listener: current_listener(),
        awaiting: None,
    }
}

/// The listener of the task being polled on this thread's loop, if a task is being polled.
fn current_listener() -> Option<Arc<Listener>> {
    let ctx = this_thread::current()?;
    let (id, requested) = ctx.with_current(|header| (header.id(), header.cancel_requested()))?;
    Some(ctx.listener(id, requested))
}

/// The future of [`cancelled`]: `Send + 'static`, so it can be awaited anywhere.
///
/// # Examples
///
/// ```
/// fn send_static<T: Send + 'static>(_: T) {}
/// corun_runtime::run(async { send_static(corun_runtime::cancelled()) });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelled {
    /// What the named task's `cancelled()` futures share; for a future made outside a task, set
    /// at its first poll.
    listener: Option<Arc<Listener>>,
    /// This future's key among the listener's wakers, from its first poll on: from then on the
    /// task counts as listening.
    awaiting: Option<usize>,
}

impl std::fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancelled")
            .field("task", &self.listener.as_ref().map(|listener| listener.id))
            .field("awaiting", &self.awaiting.is_some())
            .finish()
    }
}

impl Future for Cancelled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<()> {
        let this = &mut *self;
        let listener = match &this.listener {
            Some(listener) => listener,
            None => this.listener.insert(current_listener().expect(
                "corun::cancelled was polled outside a task; call cancelled() inside the task \
                 it should listen for and hand the future where it is awaited",
            )),
        };
        if listener.is_requested() {
            stuck::heard();
            return Poll::Ready(());
        }
        let key = *this
            .awaiting
            .get_or_insert_with(|| listener.start_awaiting());
        listener.listen(key, cx.waker());
        // A request that came while the waker was being stored woke the previous one, if any.
        if listener.is_requested() {
            stuck::heard();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        if let (Some(listener), Some(key)) = (&self.listener, self.awaiting) {
            listener.stop_awaiting(key);
        }
    }
}
