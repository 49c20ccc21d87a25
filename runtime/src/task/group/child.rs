//! A child of a task group: its record (header, waker, future, outcome), the group's view of it
//! ([`Run`]), and the handle the spawner gets ([`Child`], [`ChildJoin`]). Layer 4 (tasks): uses
//! the record, `cancel`, `task::error` and `task::group::stuck`.
//!
//! A child's record is one `Rc` shared by the group, which polls the future, and the `Child`
//! handle, which takes the output. The future sits in its own box, so the record can be shared
//! without pinning tricks: nothing here is `unsafe`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as PollContext, Poll, Waker};

use super::stuck;
use crate::cancel;
use crate::record::header::Header;
use crate::record::id::TaskId;
use crate::task::error::TaskError;

/// How a child ended, when it gave no value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Ended {
    /// It panicked or returned `Err`: the failure is the group's.
    Failed,
    /// It was cancelled because its group was stopping (a failure, `TaskGroup::cancel`, or a
    /// cancellation from outside).
    CancelledByGroup,
    /// It was cancelled on request (`Child::cancel`, `TaskRef::cancel`).
    CancelledOnRequest,
}

/// Where a child's outcome is.
enum Stage<T> {
    Running,
    Done(T),
    Taken,
    Ended(Ended),
}

/// A child: everything the group and its handle share.
pub(super) struct Record<F, T> {
    header: Header,
    /// Puts the child on its group's ready list.
    waker: Waker,
    /// The group keeps count of its children listening on `cancelled()`.
    pub(super) listening: Cell<bool>,
    /// The group watches the child's `TaskRef` requests (it called `current_task`).
    pub(super) watched: Cell<bool>,
    /// `Child::cancel` was called.
    pub(super) cancel_asked: Cell<bool>,
    /// The group is being polled: a handle awaited now is awaited by the body, a child, or code
    /// they poll.
    group_polling: Rc<Cell<bool>>,
    future: RefCell<Option<Pin<Box<F>>>>,
    stage: RefCell<Stage<T>>,
    /// The task awaiting the handle, to wake when the child ends.
    awaiter: RefCell<Option<Waker>>,
}

impl<F, T> Record<F, T> {
    pub(super) fn new(
        header: Header,
        waker: Waker,
        group_polling: Rc<Cell<bool>>,
        future: F,
    ) -> Self {
        Record {
            header,
            waker,
            group_polling,
            listening: Cell::new(false),
            watched: Cell::new(false),
            cancel_asked: Cell::new(false),
            future: RefCell::new(Some(Box::pin(future))),
            stage: RefCell::new(Stage::Running),
            awaiter: RefCell::new(None),
        }
    }

    fn wake_awaiter(&self) {
        let awaiter = self.awaiter.borrow_mut().take();
        if let Some(awaiter) = awaiter {
            awaiter.wake();
        }
    }
}

/// The group's view of a child, whatever its future and output: `E` is the group's error.
pub(super) trait Run<E> {
    fn header(&self) -> &Header;
    fn waker(&self) -> &Waker;
    fn listening(&self) -> &Cell<bool>;
    fn watched(&self) -> &Cell<bool>;
    fn cancel_asked(&self) -> bool;
    /// Polls the future; a value is kept for the handle, an `Err` is handed to the group.
    fn poll_future(&self, cx: &mut PollContext<'_>) -> Poll<Result<(), E>>;
    /// Drops the future (finished or cancelled).
    fn drop_future(&self);
    /// The child ended without a value.
    fn end(&self, how: Ended);
}

impl<F, T, E> Run<E> for Record<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn waker(&self) -> &Waker {
        &self.waker
    }

    fn listening(&self) -> &Cell<bool> {
        &self.listening
    }

    fn watched(&self) -> &Cell<bool> {
        &self.watched
    }

    fn cancel_asked(&self) -> bool {
        self.cancel_asked.get()
    }

    fn poll_future(&self, cx: &mut PollContext<'_>) -> Poll<Result<(), E>> {
        let polled = {
            let mut future = self.future.borrow_mut();
            let future = future.as_mut().expect("a finished child is not polled");
            future.as_mut().poll(cx)
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(value)) => {
                *self.stage.borrow_mut() = Stage::Done(value);
                self.wake_awaiter();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
        }
    }

    fn drop_future(&self) {
        // Taken out first: the future's destructor may look at this child (its handle, say).
        let future = self.future.borrow_mut().take();
        drop(future);
    }

    fn end(&self, how: Ended) {
        *self.stage.borrow_mut() = Stage::Ended(how);
        self.wake_awaiter();
    }
}

/// The handle's view of a child with output `T`.
trait Output<T> {
    fn header(&self) -> &Header;
    fn waker(&self) -> &Waker;
    fn cancel_asked(&self) -> &Cell<bool>;
    fn is_finished(&self) -> bool;
    fn group_polling(&self) -> bool;
    /// The child's outcome for its awaiter: `Ok` with the value, or how it ended.
    fn poll_outcome(&self, cx: &mut PollContext<'_>) -> Poll<Result<T, Ended>>;
}

impl<F, T> Output<T> for Record<F, T> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn waker(&self) -> &Waker {
        &self.waker
    }

    fn cancel_asked(&self) -> &Cell<bool> {
        &self.cancel_asked
    }

    fn is_finished(&self) -> bool {
        !matches!(*self.stage.borrow(), Stage::Running)
    }

    fn group_polling(&self) -> bool {
        self.group_polling.get()
    }

    fn poll_outcome(&self, cx: &mut PollContext<'_>) -> Poll<Result<T, Ended>> {
        let mut stage = self.stage.borrow_mut();
        match std::mem::replace(&mut *stage, Stage::Taken) {
            Stage::Running => {
                *stage = Stage::Running;
                drop(stage);
                let mut awaiter = self.awaiter.borrow_mut();
                if !awaiter.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *awaiter = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Stage::Done(value) => Poll::Ready(Ok(value)),
            Stage::Taken => panic!("a Child is not polled after it gave its output"),
            Stage::Ended(how) => {
                *stage = Stage::Ended(how);
                Poll::Ready(Err(how))
            }
        }
    }
}

/// A child of a [`TaskGroup`](crate::TaskGroup), and a future of its output, to await inside the
/// group's body or another of its children.
///
/// A child is a task in every way a user sees: it has a name and an id, `current_task()` inside
/// it gives its own reference, `cancelled()` inside it listens for its own cancellation, and
/// debug mode's reports name it and where it was spawned. Its group owns and polls it; dropping
/// the handle does not detach or cancel it.
///
/// Awaiting it gives the child's output. If the child was cancelled on request
/// ([`Child::cancel`], or [`TaskRef::cancel`](crate::TaskRef::cancel) on its reference), awaiting
/// it panics with a message naming it, as awaiting a cancelled [`Task`](crate::Task) does. If
/// the child *failed* (panicked, or returned `Err` from [`try_spawn`](crate::TaskGroup::try_spawn))
/// or its group cancelled it, the group is stopping anyway: the code awaiting it is cancelled at
/// that point (its future is dropped once its poll returns, unless it heard its cancellation
/// through [`cancelled`](crate::cancelled) in the same poll, as a select of the child and
/// `cancelled()` does: it then goes on with its cleanup) and never gets a value; the failure is
/// the group's, in its [`GroupError`](crate::GroupError). [`join`](Child::join) gives a
/// `Result` instead in every case.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let total = corun_runtime::task_group(async |g| {
///         let a = g.spawn(async { 20 });
///         let b = g.spawn(async { 22 });
///         Ok::<_, ()>(a.await + b.await)
///     })
///     .await;
///     assert_eq!(total.unwrap(), 42);
/// });
/// ```
pub struct Child<'env, T> {
    record: Rc<dyn Output<T> + 'env>,
    /// The output (or the end) has been handed out.
    taken: bool,
}

impl<'env, T> Child<'env, T> {
    pub(super) fn new<F: 'env>(record: Rc<Record<F, T>>) -> Self
    where
        T: 'env,
    {
        Child {
            record,
            taken: false,
        }
    }

    /// The child's name: the one given to [`spawn_named`](crate::TaskGroup::spawn_named), else
    /// `Task-N`, from the same counter as [`spawn`](crate::spawn)'s tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     corun_runtime::task_group(async |g| {
    ///         let child = g.spawn_named("indexer", async {});
    ///         assert_eq!(child.name(), "indexer");
    ///         let other = g.spawn(async {});
    ///         assert_eq!(other.name(), format!("Task-{}", other.id()));
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// });
    /// ```
    pub fn name(&self) -> &str {
        self.record.header().name()
    }

    /// The child's id, a [`TaskId`] like any task's.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     corun_runtime::task_group(async |g| {
    ///         let child = g.spawn(async { corun_runtime::current_task().unwrap().id() });
    ///         let id = child.id();
    ///         assert_eq!(child.await, id);
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.record.header().id()
    }

    /// Whether the child has ended: returned, failed or been cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     corun_runtime::task_group(async |g| {
    ///         let child = g.spawn(async {});
    ///         assert!(!child.is_finished());
    ///         corun_runtime::yield_now().await;
    ///         assert!(child.is_finished());
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.taken || self.record.is_finished()
    }

    /// Asks the child to cancel; returns `false` if it had already ended. As for a task: a child
    /// listening on [`cancelled`](crate::cancelled) is woken and may finish on its own; any
    /// other has its future dropped at its group's next poll, never in the middle of its own
    /// poll. A child cancelled this way does not fail the group (as in asyncio).
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::TaskError;
    ///
    /// corun_runtime::run(async {
    ///     let outcome = corun_runtime::task_group(async |g| {
    ///         let child = g.spawn(std::future::pending::<()>());
    ///         assert!(child.cancel());
    ///         assert!(matches!(child.join().await, Err(TaskError::Cancelled)));
    ///         Ok::<_, ()>("the group goes on")
    ///     })
    ///     .await;
    ///     assert_eq!(outcome.unwrap(), "the group goes on");
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        if self.is_finished() {
            return false;
        }
        let record = &self.record;
        if !cancel::request_cancel(record.header()) {
            return false;
        }
        record.cancel_asked().set(true);
        record.waker().wake_by_ref();
        true
    }

    /// A future of the child's outcome as a `Result`, as [`Task::join`](crate::Task::join) gives
    /// it: `Ok` with its output, or `Err(TaskError::Cancelled)` if it gave none: cancelled on
    /// request or by its group, or failed (its failure itself is in the group's
    /// [`GroupError`](crate::GroupError), reported once, there).
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     corun_runtime::task_group(async |g| {
    ///         let child = g.spawn(async { "done" });
    ///         assert_eq!(child.join().await.unwrap(), "done");
    ///         Ok::<_, ()>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// });
    /// ```
    pub fn join(self) -> ChildJoin<'env, T> {
        ChildJoin { child: self }
    }

    fn poll_outcome(&mut self, cx: &mut PollContext<'_>) -> Poll<Result<T, Ended>> {
        assert!(
            !self.taken,
            "a Child is not polled after it gave its output"
        );
        let outcome = std::task::ready!(self.record.poll_outcome(cx));
        self.taken = true;
        Poll::Ready(outcome)
    }
}

impl<T> Future for Child<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<T> {
        let this = self.get_mut();
        match std::task::ready!(this.poll_outcome(cx)) {
            Ok(value) => Poll::Ready(value),
            Err(Ended::CancelledOnRequest) => panic!(
                "child task '{}' was cancelled; use Child::join to get Err(TaskError::Cancelled) \
                 instead of this panic",
                this.name()
            ),
            Err(Ended::Failed | Ended::CancelledByGroup) if this.record.group_polling() => {
                // The group is stopping: the awaiting code is cancelled here.
                this.taken = false;
                stuck::mark();
                Poll::Pending
            }
            Err(how) => panic!(
                "child task '{}' {}, and its task group has ended: its outcome is in the \
                 group's GroupError",
                this.name(),
                if how == Ended::Failed {
                    "failed"
                } else {
                    "was cancelled by its group"
                }
            ),
        }
    }
}

impl<T> fmt::Debug for Child<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.record.header(), f)
    }
}

/// The future returned by [`Child::join`]: the child's outcome as a `Result`.
///
/// # Examples
///
/// ```
/// use corun_runtime::TaskError;
///
/// corun_runtime::run(async {
///     corun_runtime::task_group(async |g| {
///         let child = g.spawn(async { 5 });
///         let joined: Result<i32, TaskError> = child.join().await;
///         assert_eq!(joined.unwrap(), 5);
///         Ok::<_, ()>(())
///     })
///     .await
///     .unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ChildJoin<'env, T> {
    child: Child<'env, T>,
}

impl<T> Future for ChildJoin<'_, T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<Self::Output> {
        let outcome = std::task::ready!(self.get_mut().child.poll_outcome(cx));
        Poll::Ready(outcome.map_err(|_| TaskError::Cancelled))
    }
}
