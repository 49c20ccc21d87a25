//! `task_group`: the group's future, which polls the body and every child woken since its last
//! poll, stops the group at the first failure, and returns once the body and every child have
//! ended. Layer 4 (tasks): uses the context, the record, `cancel`, `debug` and the rest of
//! `task::group`.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context as PollContext, Poll};

use super::child::{Ended, Run};
use super::error::{Failure, GroupError};
use super::scope::{Ending, Inner, TaskGroup, BODY};
use super::stuck;
use crate::cancel::{cancelled, Cancelled};
use crate::context::core::Context;
use crate::context::this_thread;
use crate::debug;
use crate::record::header::{CONTROLLED, POLLED};
use crate::record::report::ReportKind;

/// Runs `body` with a [`TaskGroup`] it spawns children into, and returns once the body and every
/// child have ended (asyncio's `async with TaskGroup() as g:`, trio's nursery).
///
/// - **Children may borrow** from the enclosing function: anything that outlives the group
///   (`'env`), with no `'static`, `Rc` or `unsafe`. The group's future owns the children and
///   polls them itself (moro's design), so leaking it with `mem::forget` only stops them.
/// - **Each child is a task** as far as you can see: a name (`Task-N` or
///   [`spawn_named`](TaskGroup::spawn_named)), an id, its own [`current_task`](crate::current_task)
///   (whose `cancel` cancels just it), its own [`cancelled`](crate::cancelled), and debug mode's
///   slow-poll and shutdown reports name it and where it was spawned. A wake costs O(1), however
///   many children there are.
/// - **The first failure stops the group**: a child's panic, a
///   [`try_spawn`](TaskGroup::try_spawn) child's `Err`, the body's `Err` or panic. Every other
///   child is cancelled: one listening on `cancelled()` is woken and may finish its cleanup
///   (awaiting IO, sleeping), any other is dropped at the group's next poll, never in the middle
///   of its own. The body is dropped at its next await (it runs as the task running the group,
///   so its `cancelled()` is that task's: cleanup that needs to await belongs in a child).
///   Children spawned from then on start cancelled. Then the group gives `Err(GroupError)` with
///   every failure, in order, each once: a panic is not resumed, nor reported as unretrieved. A
///   child cancelled on request or because of another failure is not a failure.
/// - **Cancelled from outside** (the task running the group is cancelled: Ctrl-C on main,
///   `Task::cancel`, a shutdown): a task that is not listening has its future dropped, and with
///   it the group and every child, at once. The group listens on the task's behalf while a child
///   listens, so then the group cancels every child, lets listening ones finish their cleanup,
///   and gives `Err(GroupError)` with [`was_cancelled`](GroupError::was_cancelled), as it does
///   when the task itself listens. [`TaskGroup::cancel`] stops the group the same way.
/// - **Dropping the group's future** (a `timeout`, a `select`) drops every child at once, each
///   as itself, inside the loop's context; a panic the group had collected is then reported as
///   unretrieved.
///
/// # Panics
///
/// When awaited outside a task of a running loop.
///
/// # Examples
///
/// Children borrowing a local, one failing: the others are cancelled, the error names it.
///
/// ```
/// use std::cell::RefCell;
/// use std::time::Duration;
/// use corun_runtime::{loops::VirtualTimeLoop, task_group, Config};
///
/// Config::new().loop_factory(VirtualTimeLoop::new).run(async {
///     let done = RefCell::new(Vec::new());
///     let outcome = task_group(async |g| {
///         for n in 1..=3u64 {
///             let done = &done;
///             g.spawn_named(format!("worker {n}"), async move {
///                 corun_runtime::sleep(Duration::from_secs(n)).await;
///                 done.borrow_mut().push(n);
///             });
///         }
///         g.try_spawn(async {
///             corun_runtime::sleep(Duration::from_millis(1500)).await;
///             Err::<(), _>("lost the connection")
///         });
///         Ok(())
///     })
///     .await;
///     let error = outcome.unwrap_err();
///     assert_eq!(error.failures().len(), 1);
///     assert!(error.to_string().contains("lost the connection"));
///     assert_eq!(done.into_inner(), [1], "workers 2 and 3 were cancelled");
/// });
/// ```
///
/// Cleanup before ending: a child listening on `cancelled()` finishes on its own.
///
/// ```
/// use std::cell::Cell;
/// use corun_runtime::{cancelled, task_group};
///
/// corun_runtime::run(async {
///     let cleaned = Cell::new(false);
///     let outcome = task_group(async |g| {
///         g.spawn(async {
///             cancelled().await; // stands in for a select of work and cancelled()
///             cleaned.set(true);
///         });
///         g.spawn(async { panic!("boom") });
///         Ok::<_, ()>(())
///     })
///     .await;
///     assert!(outcome.is_err());
///     assert!(cleaned.get());
/// });
/// ```
pub async fn task_group<'env, T, E>(
    body: impl AsyncFnOnce(&TaskGroup<'env, E>) -> Result<T, E>,
) -> Result<T, GroupError<E>> {
    let group = TaskGroup::new();
    // Dropped after the body, whatever ends the future.
    let _ending = Ending(&group.inner);
    let mut body = pin!(Some(body(&group)));
    let mut run = Runner {
        value: None,
        polling: Vec::new(),
        on_behalf: None,
    };
    poll_fn(|cx| run.poll(&group.inner, body.as_mut(), cx)).await
}

/// What the group's future keeps between polls, beside the group and the body.
struct Runner<T> {
    /// The body's value, once it returned `Ok`.
    value: Option<T>,
    /// The ready list taken for this poll (a buffer kept between polls).
    polling: Vec<usize>,
    /// A `cancelled()` of the task running the group, awaited while some child listens, so that
    /// the task counts as listening and is not dropped before those children finish.
    on_behalf: Option<Cancelled>,
}

/// Sets a group's `polling` flag for the duration of a poll, restoring it even on unwind.
struct Polling<'a>(&'a Cell<bool>);

impl<'a> Polling<'a> {
    fn enter(flag: &'a Rc<Cell<bool>>) -> Self {
        flag.set(true);
        Polling(flag)
    }
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl<T> Runner<T> {
    fn poll<E, B>(
        &mut self,
        group: &Inner<'_, E>,
        mut body: Pin<&mut Option<B>>,
        cx: &mut PollContext<'_>,
    ) -> Poll<Result<T, GroupError<E>>>
    where
        B: Future<Output = Result<T, E>>,
    {
        let ctx = this_thread::current().expect("a task group is polled by its loop");
        let _polling = Polling::enter(&group.polling);
        // The task running the group was asked to cancel and is still polled: it listens (the
        // group does on its behalf while a child listens), so the group stops and says so.
        let asked = ctx.with_current(|runner| runner.cancel_requested());
        if !group.cancelled.get() && (ctx.is_closing() || asked == Some(true)) {
            group.cancelled.set(true);
            group.abort();
        }
        group.woken.take(cx.waker(), &mut self.polling);
        let polling = std::mem::take(&mut self.polling);
        for &index in &polling {
            if index == BODY {
                self.poll_body(&ctx, group, body.as_mut());
            } else {
                // Index `k + 1` is the child under key `k`, a `u32` (see `BODY`).
                poll_child(&ctx, group, (index - 1) as u32);
            }
        }
        self.polling = polling;
        self.polling.clear();
        if group.aborting.get() {
            drop_body(&ctx, body.as_mut());
        }
        self.listen_on_behalf(group, cx);
        if body.is_none() && group.children.borrow().live() == 0 {
            return Poll::Ready(self.finish(group));
        }
        Poll::Pending
    }

    /// Polls the body, as the task running the group (which it is), unless the group stopped.
    fn poll_body<E, B>(
        &mut self,
        ctx: &Context,
        group: &Inner<'_, E>,
        mut body: Pin<&mut Option<B>>,
    ) where
        B: Future<Output = Result<T, E>>,
    {
        if group.aborting.get() {
            return; // dropped after this round
        }
        let Some(future) = body.as_mut().as_pin_mut() else {
            return;
        };
        let mut body_cx = PollContext::from_waker(&group.body_waker);
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(&mut body_cx)));
        let failure = match polled {
            Ok(Poll::Pending) => {
                if stuck::take(group.runner.id()) {
                    drop_body(ctx, body);
                }
                return;
            }
            Ok(Poll::Ready(Ok(value))) => {
                self.value = Some(value);
                drop_body(ctx, body);
                return;
            }
            Ok(Poll::Ready(Err(error))) => Failure::Error(error),
            Err(payload) => Failure::Panicked(payload),
        };
        drop_body(ctx, body);
        group.fail(group.runner.clone(), true, failure);
    }

    /// While some child listens on `cancelled()`, the group awaits the running task's
    /// `cancelled()` for it; once that completes, the group was cancelled from outside.
    fn listen_on_behalf<E>(&mut self, group: &Inner<'_, E>, cx: &mut PollContext<'_>) {
        if group.listening.get() == 0 {
            self.on_behalf = None;
            return;
        }
        let on_behalf = self.on_behalf.get_or_insert_with(cancelled);
        if Pin::new(on_behalf).poll(cx).is_ready() && !group.cancelled.get() {
            group.cancelled.set(true);
            group.abort();
        }
    }

    /// The body and every child have ended: the body's value, or every failure.
    fn finish<E>(&mut self, group: &Inner<'_, E>) -> Result<T, GroupError<E>> {
        let failures = group.failures.take();
        if !failures.is_empty() || group.cancelled.get() {
            self.value = None;
            return Err(GroupError::new(failures, group.cancelled.get()));
        }
        Ok(self
            .value
            .take()
            .expect("a group that did not stop has its body's value"))
    }
}

/// Drops the body (if it is still there), as the task running the group; a panic while doing so
/// is reported, as for any task's future dropped by cancellation.
fn drop_body<B>(ctx: &Context, mut body: Pin<&mut Option<B>>) {
    if body.is_none() {
        return;
    }
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.set(None))) {
        ctx.with_current(|runner| {
            ctx.report_panic(ReportKind::PanicWhileCancelling, runner, &*payload)
        });
    }
}

/// Polls child `key` (if it is still alive) as itself, as `task::supervise` polls a task: a
/// cancellation is applied between polls, its panic is caught, and its end recorded.
fn poll_child<'env, E>(ctx: &Context, group: &Inner<'env, E>, key: u32) {
    // Cloned out: the child set is not borrowed while a child runs (it may spawn).
    let Some(child) = group.children.borrow().get(key).cloned() else {
        return;
    };
    let header = child.header();
    if ctx.cancel_before_poll(header) {
        cancel_child(ctx, group, key, &child);
        return;
    }
    let mut child_cx = PollContext::from_waker(child.waker());
    let poll = || catch_unwind(AssertUnwindSafe(|| child.poll_future(&mut child_cx)));
    let polled = debug::poll_as_task(ctx, header, poll);
    let failure = match polled {
        Ok(Poll::Pending) => {
            if !header.has(POLLED) {
                header.set(POLLED);
            }
            if stuck::take(header.id()) {
                // It awaited a child that will give no value: cancelled at that point.
                group.end_child(ctx, key, &child, Some(Ended::CancelledByGroup));
                return;
            }
            track(ctx, group, &child);
            return;
        }
        Ok(Poll::Ready(Ok(()))) => {
            group.end_child(ctx, key, &child, None);
            return;
        }
        Ok(Poll::Ready(Err(error))) => Failure::Error(error),
        Err(payload) => Failure::Panicked(payload),
    };
    let task = header.task_ref();
    group.end_child(ctx, key, &child, Some(Ended::Failed));
    group.fail(task, false, failure);
}

/// After a poll that left child `child` pending: whether it listens on `cancelled()` (the group
/// keeps count), and whether its `TaskRef` can cancel it now (the group then watches for that).
fn track<'env, E>(ctx: &Context, group: &Inner<'env, E>, child: &Rc<dyn Run<E> + 'env>) {
    let header = child.header();
    let listening = ctx.is_listening(header.id());
    if child.listening().replace(listening) != listening {
        let count = group.listening.get();
        group
            .listening
            .set(if listening { count + 1 } else { count - 1 });
    }
    if header.has(CONTROLLED) && !child.watched().replace(true) {
        // `current_task()` was called in it: a `TaskRef::cancel` from now on wakes it through
        // the group, and one made during this poll is seen now.
        ctx.watch_cancel(header, child.waker());
        ctx.apply_cancel_request(header);
    }
}

/// Cancels child `key` now, between its polls: on request, or because the group stopped.
fn cancel_child<'env, E>(
    ctx: &Context,
    group: &Inner<'env, E>,
    key: u32,
    child: &Rc<dyn Run<E> + 'env>,
) {
    let on_request = child.cancel_asked() || !group.aborting.get();
    if ctx.debug && (on_request || ctx.is_closing()) {
        debug::report_cancelled(ctx, child.header());
    }
    let how = if on_request {
        Ended::CancelledOnRequest
    } else {
        Ended::CancelledByGroup
    };
    group.end_child(ctx, key, child, Some(how));
}
