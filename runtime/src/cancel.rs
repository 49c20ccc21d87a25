//! Cancellation: [`request_cancel`], how `Task::cancel` (and a signal, for main) asks a task to
//! stop; [`cancellable_ref`], how `TaskRef::cancel` reaches a task; and `cancelled()`, how a task
//! hears it and gets to finish on its own. Layer 4 (beside tasks): uses the context and the
//! record.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as PollContext, Poll, Wake, Waker};

use crate::context::core::Context;
use crate::context::this_thread;
use crate::record::header::{Header, Remote, Shared, CANCEL_REQUESTED, FINISHED};
use crate::record::id::TaskId;
use crate::record::task_ref::TaskRef;

/// Asks the task to cancel, from any thread. Returns `false` if it had finished.
///
/// On the task's loop thread the task (and its listening `cancelled()` future) is woken at once;
/// from anywhere else the request goes through the loop's mailbox (`Header::send_cancel`).
pub(crate) fn request_cancel(header: &Header) -> bool {
    if header.has(FINISHED) {
        return false;
    }
    if header.set(CANCEL_REQUESTED) {
        return true;
    }
    match this_thread::current() {
        Some(ctx) if Arc::ptr_eq(&ctx.shared, &header.shared) => ctx.wake_task(header),
        _ => header.send_cancel(),
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
    /// The task's registry key when the reference was taken (a task is registered while it is
    /// polled, and `current_task` is called from a poll).
    slot: Option<u32>,
}

impl Wake for CancelWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match this_thread::current() {
            Some(ctx) if Arc::ptr_eq(&ctx.shared, &self.shared) => {
                ctx.wake_task_at(self.id, self.slot)
            }
            _ => {
                let message = Remote::Cancel {
                    id: self.id,
                    slot: self.slot,
                };
                drop(self.shared.send(message));
            }
        }
    }
}

/// Completes when the current task has been asked to cancel: by [`Task::cancel`], by the end of
/// the run, or (for the main task) by a signal.
///
/// While this future is alive and waiting, the task is *listening*: a cancellation then wakes it
/// instead of dropping its future, and the task may finish on its own, awaiting whatever
/// cleanup it needs. At the end of a run, listening tasks get `Config::shutdown_grace` to do so.
/// A task that is not listening when the request comes has its future dropped at the loop's
/// next turn.
///
/// [`Task::cancel`]: crate::Task::cancel
///
/// # Panics
///
/// When polled outside a task.
///
/// # Examples
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
pub fn cancelled() -> Cancelled {
    Cancelled { listening: None }
}

/// The future of [`cancelled`].
///
/// # Examples
///
/// ```
/// let _listening: corun_runtime::Cancelled = corun_runtime::cancelled();
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelled {
    /// The task listening and its loop's id, from the first poll on.
    listening: Option<(TaskId, u64)>,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<()> {
        let ctx =
            this_thread::current().expect("corun::cancelled was polled outside a running loop");
        let (id, requested) = ctx
            .with_current(|header| (header.id(), header.has(CANCEL_REQUESTED)))
            .expect("corun::cancelled was polled outside a task");
        let (task, _) = *self.listening.get_or_insert_with(|| {
            ctx.add_listener(id);
            (id, ctx.shared.id)
        });
        ctx.listen(task, cx.waker());
        if requested || ctx.is_closing() {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        let Some((task, loop_id)) = self.listening.take() else {
            return;
        };
        if let Some(ctx) = this_thread::current() {
            if ctx.shared.id == loop_id {
                ctx.remove_listener(task);
            }
        }
    }
}
