//! Time on the running loop's clock: `sleep`, `sleep_until`, `timeout`, `now`, `yield_now`.
//!
//! Every function here is generic or `#[inline]`, so only programs that use time compile it
//! (ARCHITECTURE.md, "Pay for what you use"); the loop's own timers are in `loops/`. Layer 4
//! (beside tasks): uses the context and the loop layer.
//!
//! With the `tokio` feature, on a thread with no corun loop but a tokio runtime (a worker of
//! `TokioLoop::multi_thread`, where an axum handler runs), `now` and `Sleep` use tokio's clock
//! and timer instead: the clock `TokioLoop` reads too, so an `Instant` means the same on both.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context as PollContext, Poll};
use std::time::{Duration, Instant};

use crate::context::core::Context;
use crate::context::this_thread;
use crate::event_loop::{EventLoop, TimerId};

/// The running loop's clock (asyncio's `loop.time()`); a virtual-time loop gives its virtual
/// time. On a tokio worker thread of a [`TokioLoop`](crate::loops) (feature `tokio`; no corun
/// loop there), tokio's clock, which is that loop's.
///
/// # Panics
///
/// Outside a running loop (and, with the `tokio` feature, outside a tokio runtime).
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let start = corun_runtime::now();
///     corun_runtime::sleep(std::time::Duration::from_millis(1)).await;
///     assert!(corun_runtime::now() > start);
/// });
/// ```
#[track_caller]
#[inline]
pub fn now() -> Instant {
    match this_thread::current() {
        Some(ctx) => ctx.event_loop.now(),
        None => {
            #[cfg(feature = "tokio")]
            if tokio::runtime::Handle::try_current().is_ok() {
                return tokio::time::Instant::now().into_std();
            }
            panic!("corun::now was called outside a running event loop; the clock is the loop's")
        }
    }
}

/// Waits until `duration` has passed on the loop's clock.
///
/// The wait starts at the first poll. A zero duration yields once, like asyncio's `sleep(0)`;
/// `Duration::MAX` (or any deadline past what `Instant` can hold) never completes. Polled on a
/// tokio worker thread (feature `tokio`, no corun loop there), it waits on tokio's timer.
///
/// # Panics
///
/// When polled outside a running loop (with the `tokio` feature: and outside a tokio runtime).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// corun_runtime::run(async {
///     corun_runtime::sleep(Duration::from_millis(5)).await;
/// });
/// ```
#[inline]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        target: Target::After(duration),
        timer: None,
        yielded: false,
        #[cfg(feature = "tokio")]
        on_tokio: None,
    }
}

/// Waits until the loop's clock reaches `deadline`. A deadline already passed yields once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// corun_runtime::run(async {
///     let deadline = corun_runtime::now() + Duration::from_millis(5);
///     corun_runtime::sleep_until(deadline).await;
///     assert!(corun_runtime::now() >= deadline);
/// });
/// ```
#[inline]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        target: Target::At(Some(deadline)),
        timer: None,
        yielded: false,
        #[cfg(feature = "tokio")]
        on_tokio: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// corun_runtime::run(async {
///     let nap: corun_runtime::Sleep = corun_runtime::sleep(Duration::from_millis(1));
///     nap.await;
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    target: Target,
    timer: Option<Armed>,
    yielded: bool,
    /// The timer on tokio's wheel, when polled on a thread with a tokio runtime and no corun loop
    /// (boxed: tokio's `Sleep` is `!Unpin`, and this one is `Unpin`).
    #[cfg(feature = "tokio")]
    on_tokio: Option<Pin<Box<tokio::time::Sleep>>>,
}

enum Target {
    /// Not polled yet: the deadline is this long after the first poll.
    After(Duration),
    /// The deadline; `None` for one too far to represent, which never comes.
    At(Option<Instant>),
}

/// A timer armed on a loop, remembered with the loop it belongs to.
struct Armed {
    id: TimerId,
    loop_id: u64,
}

impl fmt::Debug for Sleep {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let deadline = match self.target {
            Target::After(duration) => format!("{duration:?} after first poll"),
            Target::At(Some(deadline)) => format!("{deadline:?}"),
            Target::At(None) => "never".to_owned(),
        };
        f.debug_struct("Sleep")
            .field("deadline", &deadline)
            .finish()
    }
}

impl Sleep {
    /// The poll on a thread without a corun loop: on tokio's timer if a tokio runtime is there.
    #[inline]
    fn poll_outside_loop(&mut self, cx: &mut PollContext<'_>) -> Poll<()> {
        #[cfg(feature = "tokio")]
        if self.on_tokio.is_some() || tokio::runtime::Handle::try_current().is_ok() {
            return self.poll_on_tokio(cx);
        }
        let _ = cx;
        panic!(
            "corun::sleep was polled outside a running event loop; await it inside corun::run or \
             #[corun::entry] (or, with the `tokio` feature, inside a tokio runtime)"
        )
    }

    /// Waits on tokio's timer, whose clock is the one `TokioLoop` reads: a deadline means the
    /// same here and on the loop.
    #[cfg(feature = "tokio")]
    #[inline]
    fn poll_on_tokio(&mut self, cx: &mut PollContext<'_>) -> Poll<()> {
        if self.on_tokio.is_none() {
            let deadline = match self.target {
                Target::At(deadline) => deadline,
                Target::After(duration) => {
                    let deadline = tokio::time::Instant::now().into_std().checked_add(duration);
                    self.target = Target::At(deadline);
                    deadline
                }
            };
            let Some(deadline) = deadline else {
                return Poll::Pending;
            };
            let deadline = tokio::time::Instant::from_std(deadline);
            self.on_tokio = Some(Box::pin(tokio::time::sleep_until(deadline)));
        }
        match self.on_tokio.as_mut() {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }

    #[inline]
    fn disarm(&mut self, ctx: &Context) {
        if let Some(armed) = self.timer.take() {
            if armed.loop_id == ctx.shared.id {
                ctx.event_loop.remove_timer(armed.id);
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(ctx): Option<Rc<Context>> = this_thread::current() else {
            return this.poll_outside_loop(cx);
        };
        #[cfg(feature = "tokio")]
        if this.on_tokio.is_some() {
            // Moved from a tokio worker to the loop: its own timer from now on (same clock).
            this.on_tokio = None;
        }
        // One clock read per poll (a read is a good part of arming a timer: ~50 of ~480
        // instructions, and a vDSO call).
        let mut now = None;
        let deadline = match this.target {
            Target::At(deadline) => deadline,
            Target::After(duration) => {
                let start = ctx.event_loop.now();
                now = Some(start);
                let deadline = start.checked_add(duration);
                this.target = Target::At(deadline);
                deadline
            }
        };
        let Some(deadline) = deadline else {
            // Too far to represent: never. Nothing to arm.
            return Poll::Pending;
        };
        if let Some(armed) = this.timer.take() {
            if armed.loop_id == ctx.shared.id && !ctx.event_loop.remove_timer(armed.id) {
                // The loop fired (and forgot) the timer: the deadline has come. No clock read.
                return Poll::Ready(());
            }
            // A poll before the timer fired (another future woke the task, or the sleep moved to
            // another task or loop): disarmed above, armed again below with this poll's waker.
        }
        if deadline <= now.unwrap_or_else(|| ctx.event_loop.now()) {
            if this.yielded {
                return Poll::Ready(());
            }
            // Due at the first poll: yield once, like asyncio's `sleep(0)`.
            this.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.timer = Some(Armed {
            id: ctx.event_loop.add_timer(deadline, cx.waker().clone()),
            loop_id: ctx.shared.id,
        });
        Poll::Pending
    }
}

impl Drop for Sleep {
    #[inline]
    fn drop(&mut self) {
        if self.timer.is_some() {
            if let Some(ctx) = this_thread::current() {
                self.disarm(&ctx);
            }
        }
    }
}

/// The error of a [`timeout`] that ran out.
///
/// # Examples
///
/// ```
/// use corun_runtime::Elapsed;
/// assert_eq!(Elapsed::new().to_string(), "deadline has elapsed");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    /// The error value (for tests and adapters).
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = corun_runtime::Elapsed::new();
    /// ```
    #[inline]
    pub fn new() -> Self {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future`, giving up after `duration` on the loop's clock (asyncio's `wait_for`). The
/// future is polled before the clock is checked, so one that is ready at once always wins; when
/// time runs out it is dropped. `Duration::MAX` never runs out.
///
/// # Errors
///
/// [`Elapsed`] when the time ran out first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corun_runtime::{loops::VirtualTimeLoop, Config};
///
/// Config::new().loop_factory(VirtualTimeLoop::new).run(async {
///     let slow = corun_runtime::sleep(Duration::from_secs(60));
///     assert!(corun_runtime::timeout(Duration::from_secs(1), slow).await.is_err());
///     let quick = async { 5 };
///     assert_eq!(corun_runtime::timeout(Duration::from_secs(1), quick).await, Ok(5));
/// });
/// ```
pub async fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    let mut future = pin!(future.into_future());
    let mut timer = pin!(sleep(duration));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        timer.as_mut().poll(cx).map(|()| Err(Elapsed(())))
    })
    .await
}

/// Yields to the loop once: the task goes to the back of the ready queue.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let task = corun_runtime::spawn(async { 1 });
///     corun_runtime::yield_now().await;
///     assert!(task.is_finished());
/// });
/// ```
#[inline]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let once: corun_runtime::YieldNow = corun_runtime::yield_now();
///     once.await;
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
