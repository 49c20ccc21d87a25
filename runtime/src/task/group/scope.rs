//! `TaskGroup`: the set of children a group owns, how they are spawned and cancelled, and what
//! happens to them when the group's future is dropped. Layer 4 (tasks): uses the context, the
//! record, `cancel`, `debug` and the rest of `task::group`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

use super::child::{Child, Ended, Record, Run};
use super::error::{ChildFailure, Failure};
use crate::cancel;
use crate::context::core::Context;
use crate::context::registry::Registry;
use crate::context::this_thread;
use crate::debug;
use crate::record::header::{Header, FINISHED, POLLED};
use crate::record::report::{panic_message, Report, ReportKind};
use crate::record::task_ref::TaskRef;
use crate::task::spawn::large;
use crate::woken::{self, Woken};

/// The body's index on the group's ready list; the child under key `k` has index `k + 1`.
pub(super) const BODY: usize = 0;

/// A group of child tasks that the group's body spawns, which all end before
/// [`task_group`](crate::task_group) returns (asyncio's `TaskGroup`, trio's nursery).
///
/// The body of `task_group` gets a `&TaskGroup` and spawns children through it; children may
/// spawn more through the same reference. Children may borrow anything that outlives the group
/// (`'env`): locals of the enclosing function, the group itself. The first failure (a child's
/// panic, a [`try_spawn`](TaskGroup::try_spawn) child's `Err`, the body's `Err` or panic)
/// cancels every other child and the body; see [`task_group`](crate::task_group) for the whole
/// story.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
///
/// corun_runtime::run(async {
///     let names = ["a.txt", "b.txt", "c.txt"];
///     let sizes = RefCell::new(Vec::new());
///     corun_runtime::task_group(async |g| {
///         for name in &names {
///             g.spawn(async { sizes.borrow_mut().push(name.len()) });
///         }
///         Ok::<_, ()>(())
///     })
///     .await
///     .unwrap();
///     assert_eq!(sizes.into_inner(), [5, 5, 5]);
/// });
/// ```
pub struct TaskGroup<'env, E> {
    pub(super) inner: Rc<Inner<'env, E>>,
}

impl<E> Clone for TaskGroup<'_, E> {
    /// Another handle to the same group, for a child to spawn more children with (a child may
    /// borrow what outlives the group, `'env`, but not the body's `&TaskGroup`).
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let total = corun_runtime::task_group(async |g| {
    ///         let group = g.clone();
    ///         let parent = g.spawn(async move {
    ///             let grandchild = group.spawn(async { 2 });
    ///             grandchild.await * 10
    ///         });
    ///         Ok::<_, ()>(parent.await)
    ///     })
    ///     .await;
    ///     assert_eq!(total.unwrap(), 20);
    /// });
    /// ```
    fn clone(&self) -> Self {
        TaskGroup {
            inner: self.inner.clone(),
        }
    }
}

impl<E> std::fmt::Debug for TaskGroup<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        f.debug_struct("TaskGroup")
            .field("runner", &inner.runner)
            .field("children", &inner.children.borrow().live())
            .field("failures", &inner.failures.borrow().len())
            .field("stopping", &inner.aborting.get())
            .field("cancelled", &inner.cancelled.get())
            .finish()
    }
}

/// A group's state, shared by its handles.
pub(super) struct Inner<'env, E> {
    /// The children alive, under keys that are their index on the ready list, less one.
    pub(super) children: RefCell<Registry<Rc<dyn Run<E> + 'env>>>,
    pub(super) woken: Arc<Woken>,
    /// The body's waker: puts `BODY` on the ready list.
    pub(super) body_waker: Waker,
    /// Failures so far, in order.
    pub(super) failures: RefCell<Vec<ChildFailure<E>>>,
    /// The group is stopping: every child is cancelled, and so is the body, and children spawned
    /// from now on start cancelled.
    pub(super) aborting: Cell<bool>,
    /// It was cancelled by `cancel` or from outside (else only a failure stops it).
    pub(super) cancelled: Cell<bool>,
    /// How many children were listening on `cancelled()` when last polled.
    pub(super) listening: Cell<usize>,
    /// The group is being polled (shared with its children's records); see `Child`'s poll.
    pub(super) polling: Rc<Cell<bool>>,
    /// `task_group` has returned or been dropped: no child may be spawned any more.
    pub(super) ended: Cell<bool>,
    /// The task running the group, which the body's failures are named after.
    pub(super) runner: TaskRef,
    /// `'env` is invariant: a group may not be taken for one whose children may borrow less.
    _env: PhantomData<fn(&'env ()) -> &'env ()>,
}

impl<E> TaskGroup<'_, E> {
    /// A group run by the task being polled.
    pub(super) fn new() -> Self {
        TaskGroup {
            inner: Rc::new(Inner::new()),
        }
    }
}

impl<'env, E: 'env> TaskGroup<'env, E> {
    /// Starts running `future` as a child of the group, named `Task-N`, and returns its handle.
    ///
    /// The child is first polled at the group's next poll. If the group is stopping (a failure,
    /// or it was cancelled), the child starts cancelled: none of its code runs. Its output is
    /// its handle's; a panic is a failure of the group.
    ///
    /// # Panics
    ///
    /// Outside the loop running the group.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let greeting = String::from("hello");
    ///     let lengths = corun_runtime::task_group(async |g| {
    ///         // Children borrow `greeting`; one spawns another through a handle of the group.
    ///         let greeting = &greeting;
    ///         let group = g.clone();
    ///         let a = g.spawn(async move { greeting.len() });
    ///         let b = g.spawn(async move { group.spawn(async move { greeting.len() * 2 }).await });
    ///         Ok::<_, ()>((a.await, b.await))
    ///     })
    ///     .await;
    ///     assert_eq!(lengths.unwrap(), (5, 10));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Child<'env, F::Output>
    where
        F: Future + 'env,
        F::Output: 'env,
    {
        let location = Location::caller();
        // Large futures are boxed on entry, as `spawn` does: in debug builds every frame that
        // takes a future by value holds a copy of it.
        if const { large::<F>() } {
            return self.add(None, location, always_ok(Box::pin(future)));
        }
        self.add(None, location, always_ok(future))
    }

    /// Like [`spawn`](TaskGroup::spawn), with a name of your choosing, which the child's handle,
    /// `current_task()` inside it, reports and the group's error show.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     corun_runtime::task_group(async |g| {
    ///         let child = g.spawn_named("fetch index", async {
    ///             corun_runtime::current_task().unwrap().name().to_owned()
    ///         });
    ///         assert_eq!(child.await, "fetch index");
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_named<F>(&self, name: impl Into<String>, future: F) -> Child<'env, F::Output>
    where
        F: Future + 'env,
        F::Output: 'env,
    {
        let location = Location::caller();
        if const { large::<F>() } {
            return self.add(Some(name.into()), location, always_ok(Box::pin(future)));
        }
        self.add(Some(name.into()), location, always_ok(future))
    }

    /// Starts a child whose `Err` is a failure of the group, as a panic is: its `Ok` value is
    /// the handle's, its `Err` goes into the group's [`GroupError`](crate::GroupError) and
    /// cancels the other children and the body.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::Failure;
    ///
    /// corun_runtime::run(async {
    ///     let error = corun_runtime::task_group(async |g| {
    ///         g.try_spawn(async { "config".parse::<u32>().map_err(|e| e.to_string()) });
    ///         Ok(())
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     assert!(matches!(error.failures()[0].failure(), Failure::Error(_)));
    /// });
    /// ```
    #[track_caller]
    pub fn try_spawn<T2, F>(&self, future: F) -> Child<'env, T2>
    where
        F: Future<Output = Result<T2, E>> + 'env,
        T2: 'env,
    {
        let location = Location::caller();
        if const { large::<F>() } {
            return self.add(None, location, Box::pin(future));
        }
        self.add(None, location, future)
    }

    /// Ends the group early and cleanly: every child is cancelled (listening ones may finish
    /// their cleanup), the body too, at its next await; children spawned from now on start
    /// cancelled. The group then gives `Err(GroupError)` with no failures (unless some happened)
    /// and [`was_cancelled`](crate::GroupError::was_cancelled) `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// corun_runtime::run(async {
    ///     let outcome = corun_runtime::task_group(async |g| {
    ///         g.spawn(corun_runtime::sleep(Duration::from_secs(3600)));
    ///         let group = g.clone();
    ///         g.spawn(async move { group.cancel() }); // found what we were looking for
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await;
    ///     assert!(outcome.unwrap_err().was_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) {
        self.inner.cancelled.set(true);
        self.inner.abort();
    }

    /// A handle's spawns all come here.
    #[track_caller]
    fn add<T, F>(
        &self,
        name: Option<String>,
        location: &'static Location<'static>,
        future: F,
    ) -> Child<'env, T>
    where
        F: Future<Output = Result<T, E>> + 'env,
        T: 'env,
    {
        let inner = &*self.inner;
        assert!(
            !inner.ended.get(),
            "a child was spawned into a task group that has ended; spawn children before \
             task_group returns"
        );
        let Some(ctx) = this_thread::current() else {
            panic!("a task group's child was spawned outside the loop running the group");
        };
        let header = Header::new(
            name.map(Arc::from),
            location,
            ctx.shared.clone(),
            0,
            ctx.debug,
        );
        if inner.aborting.get() {
            header.request_cancel();
        }
        let record = {
            let mut children = inner.children.borrow_mut();
            let key = children.next_key();
            let waker = woken::waker(&inner.woken, key as usize + 1);
            let record = Rc::new(Record::new(header, waker, inner.polling.clone(), future));
            children.insert(record.clone());
            record
        };
        record.waker().wake_by_ref();
        Child::new(record)
    }
}

impl<'env, E> Inner<'env, E> {
    /// The state of a group run by the task being polled.
    fn new() -> Self {
        let runner = this_thread::current()
            .and_then(|ctx| ctx.with_current(Header::task_ref))
            .expect(
                "corun::task_group was awaited outside a task; await it inside corun::run, \
                 #[corun::entry] or a task they spawned",
            );
        let woken = Woken::with_first_woken(1);
        Inner {
            children: RefCell::default(),
            body_waker: woken::waker(&woken, BODY),
            woken,
            failures: RefCell::default(),
            aborting: Cell::new(false),
            cancelled: Cell::new(false),
            listening: Cell::new(0),
            polling: Rc::default(),
            ended: Cell::new(false),
            runner,
            _env: PhantomData,
        }
    }

    /// Stops the group (once): every child is asked to cancel and woken, and the body is looked
    /// at, so that the group's next poll drops it.
    pub(super) fn abort(&self) {
        if self.aborting.replace(true) {
            return;
        }
        let children: Vec<Rc<dyn Run<E> + 'env>> =
            self.children.borrow().values().cloned().collect();
        for child in children {
            cancel::request_cancel(child.header());
            child.waker().wake_by_ref();
        }
        self.body_waker.wake_by_ref();
    }

    /// Records a failure; the first one stops the group.
    pub(super) fn fail(&self, task: TaskRef, body: bool, failure: Failure<E>) {
        self.failures
            .borrow_mut()
            .push(ChildFailure::new(task, body, failure));
        self.abort();
    }

    /// Drops child `key`'s future as the child (its destructors running inside the loop's
    /// context) and forgets it: it returned (`how` is `None`), or ended as `how`.
    pub(super) fn end_child(
        &self,
        ctx: &Context,
        key: u32,
        child: &Rc<dyn Run<E> + 'env>,
        how: Option<Ended>,
    ) {
        let header = child.header();
        let dropped = ctx.as_task(header, || {
            catch_unwind(AssertUnwindSafe(|| child.drop_future()))
        });
        if let Err(payload) = dropped {
            ctx.report_panic(ReportKind::PanicWhileCancelling, header, &*payload);
        }
        forget(ctx, child);
        if child.listening().replace(false) {
            self.listening.set(self.listening.get() - 1);
        }
        let removed = self.children.borrow_mut().remove(key);
        drop(removed);
        if let Some(how) = how {
            child.end(how);
        }
    }
}

/// `future`'s output as the `Ok` of a child that cannot fail but by panicking.
async fn always_ok<F: Future, E>(future: F) -> Result<F::Output, E> {
    Ok(future.await)
}

/// What the loop keeps about an ended child (its listeners, its `TaskRef`'s control) goes.
fn forget<E>(ctx: &Context, child: &Rc<dyn Run<E> + '_>) {
    let header = child.header();
    header.set(POLLED | FINISHED);
    ctx.forget_listeners(header.id());
    ctx.forget_control(header);
}

/// Ends a group when `task_group`'s future returns or is dropped; declared before the body, so
/// it runs after the body was dropped.
pub(super) struct Ending<'g, 'env, E>(pub(super) &'g Inner<'env, E>);

impl<E> Drop for Ending<'_, '_, E> {
    /// If the group's future was dropped before it returned (a `timeout`, a `select`, the task
    /// running it cancelled), every child still alive is dropped now, as itself, inside the
    /// loop's context; and every panic the group collected and could not hand out is reported,
    /// as a task's unretrieved panic is. Handles kept past the group cannot spawn any more.
    fn drop(&mut self) {
        let group = self.0;
        let ctx = this_thread::current();
        group.aborting.set(true);
        loop {
            // Taken out first: a child's destructor may spawn another (which starts cancelled
            // and is dropped in the next round).
            let children = std::mem::take(&mut *group.children.borrow_mut());
            if children.live() == 0 {
                break;
            }
            for child in children.into_values() {
                let Some(ctx) = &ctx else {
                    child.drop_future();
                    child.end(Ended::CancelledByGroup);
                    continue;
                };
                let header = child.header();
                let dropped = ctx.as_task(header, || {
                    catch_unwind(AssertUnwindSafe(|| child.drop_future()))
                });
                if ctx.debug && ctx.is_closing() {
                    debug::report_cancelled(ctx, header);
                }
                if let Err(payload) = dropped {
                    ctx.report_panic(ReportKind::PanicWhileCancelling, header, &*payload);
                }
                forget(ctx, &child);
                child.end(Ended::CancelledByGroup);
            }
        }
        group.ended.set(true);
        for failure in group.failures.take() {
            let Failure::Panicked(payload) = failure.failure() else {
                continue;
            };
            let message = format!(
                "Task exception was never retrieved: {} (its task group was dropped before it \
                 returned)",
                panic_message(&**payload)
            );
            let report = Report::for_task(ReportKind::UnretrievedPanic, failure.task(), message);
            match &ctx {
                Some(ctx) => ctx.report(&report),
                None => crate::report_sink::default_handler(&report),
            }
        }
    }
}
