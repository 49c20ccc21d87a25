//! `AsyncIoLoop`: corun's turns run inside `async_io::block_on`, so async-io's reactor turns on
//! the loop's thread (feature `async-io`).
//!
//! Layer 2 (the loop layer): uses only `event_loop` and the other loops' files; never the
//! context, the run or the task layer (`tests/layering.rs`).

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context as PollContext, Poll, Waker};
use std::time::Instant;

use async_io::Timer;

use super::reactor::{Alarm, Driven};
use crate::event_loop::{EventLoop, Park, Runnable, TimerId};

/// A loop on async-io's reactor, the one under async-net, async-fs, async-process and the rest of
/// the smol family.
///
/// corun's turns run inside `async_io::block_on` (the one public way into the reactor), so when
/// nothing is ready the loop's thread itself waits on the reactor: IO readiness wakes corun's
/// tasks on this thread, with no hand-off through async-io's helper thread, and a wake from a
/// task of this thread costs no syscall. corun's timers wait on one `async_io::Timer` armed at
/// the earliest of them.
///
/// async-io's own helper thread (the "async-io" thread, which every async-io program has) may
/// still take the reactor over for a while after the loop was idle for some milliseconds, as it
/// does under `smol::block_on`; the loop's thread takes it back as soon as it is free.
///
/// Make it on the thread that will run it (a `loop_factory` is called there).
///
/// # Examples
///
/// ```
/// use corun_runtime::{loops::AsyncIoLoop, Config};
///
/// let accepted = Config::new().loop_factory(AsyncIoLoop::new).run(async {
///     let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
///     let address = listener.get_ref().local_addr().unwrap();
///     let client = corun_runtime::spawn(async move {
///         async_io::Async::<std::net::TcpStream>::connect(address).await.unwrap()
///     });
///     let (_stream, from) = listener.accept().await.unwrap();
///     let _client = client.await;
///     from.ip().is_loopback()
/// });
/// assert!(accepted);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
pub struct AsyncIoLoop {
    driven: Driven,
    alarm: RefCell<TimerAlarm>,
}

/// corun's next timer, as one async-io `Timer`.
struct TimerAlarm {
    timer: Timer,
    /// The deadline the timer is armed at, until it fires.
    armed: Option<Instant>,
}

impl Default for TimerAlarm {
    fn default() -> Self {
        TimerAlarm {
            timer: Timer::never(),
            armed: None,
        }
    }
}

impl Alarm for TimerAlarm {
    fn poll_at(&mut self, deadline: Instant, cx: &mut PollContext<'_>) -> Poll<()> {
        if self.armed != Some(deadline) {
            self.timer.set_at(deadline);
            self.armed = Some(deadline);
        }
        let fired = Pin::new(&mut self.timer).poll(cx).map(drop);
        if fired.is_ready() {
            self.armed = None;
        }
        fired
    }
}

impl AsyncIoLoop {
    /// Makes a loop for the current thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corun_runtime::loops::AsyncIoLoop::new();
    /// # drop(event_loop);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        AsyncIoLoop {
            driven: Driven::new(),
            alarm: RefCell::default(),
        }
    }
}

impl Default for AsyncIoLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for AsyncIoLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncIoLoop").finish_non_exhaustive()
    }
}

impl EventLoop for AsyncIoLoop {
    fn call_soon(&self, work: Runnable) {
        self.driven.call_soon(work);
    }

    fn next_ready(&self) -> Option<Runnable> {
        self.driven.next_ready()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        self.driven.add_timer(deadline, waker)
    }

    fn remove_timer(&self, timer: TimerId) -> bool {
        self.driven.remove_timer(timer)
    }

    /// One turn of the reactor, as [`drive`](Self::drive) parks between turns.
    fn park(&self, mode: Park) {
        let mut once = Some(mode);
        self.drive(&mut || once.take());
    }

    fn unparker(&self) -> Waker {
        self.driven.unparker()
    }

    /// Runs the turns inside `async_io::block_on`.
    fn drive(&self, turn: &mut dyn FnMut() -> Option<Park>) {
        // Taken out for the drive, so that no borrow is held while work runs.
        let mut alarm = self.alarm.take();
        self.driven.drive_in(turn, &mut alarm, |poll| {
            async_io::block_on(poll_fn(poll));
        });
        *self.alarm.borrow_mut() = alarm;
    }

    fn close(&self) {
        self.driven.close();
        let alarm = self.alarm.take();
        drop(alarm);
    }
}
