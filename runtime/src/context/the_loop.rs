//! The context's event loop: the default one called directly, any other through the trait.
//! Layer 3 (the context): uses the loop layer only.

use std::task::Waker;
use std::time::{Duration, Instant};

use crate::event_loop::{EventLoop, Park, Runnable, TimerId};
use crate::loops::DefaultLoop;

/// The loop a context runs on. Most runs use the default loop, whose ready queue every wake,
/// spawn and turn goes through: called without the trait object, its push and pop are inlined
/// there (a yield 193 -> 166 instructions, spawn + join 640 -> 598; BENCHMARKS.md, round 6).
/// Every other loop, a user's `DefaultLoop` from a `loop_factory` included, is a trait object.
pub(crate) enum TheLoop {
    Default(Box<DefaultLoop>),
    Other(Box<dyn EventLoop>),
}

impl TheLoop {
    fn as_dyn(&self) -> &dyn EventLoop {
        match self {
            TheLoop::Default(default) => &**default,
            TheLoop::Other(other) => &**other,
        }
    }
}

/// The two hot methods dispatch by hand; the rest through `as_dyn`, where a virtual call costs
/// nothing measurable.
impl EventLoop for TheLoop {
    #[inline]
    fn call_soon(&self, work: Runnable) {
        match self {
            TheLoop::Default(default) => default.call_soon(work),
            TheLoop::Other(other) => other.call_soon(work),
        }
    }

    #[inline]
    fn next_ready(&self) -> Option<Runnable> {
        match self {
            TheLoop::Default(default) => default.next_ready(),
            TheLoop::Other(other) => other.next_ready(),
        }
    }

    fn now(&self) -> Instant {
        self.as_dyn().now()
    }

    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        self.as_dyn().add_timer(deadline, waker)
    }

    fn remove_timer(&self, timer: TimerId) -> bool {
        self.as_dyn().remove_timer(timer)
    }

    fn park(&self, mode: Park) {
        self.as_dyn().park(mode);
    }

    fn unparker(&self) -> Waker {
        self.as_dyn().unparker()
    }

    fn enter(&self, f: &mut dyn FnMut()) {
        self.as_dyn().enter(f);
    }

    fn drive(&self, turn: &mut dyn FnMut() -> Option<Park>) {
        self.as_dyn().drive(turn);
    }

    fn shutdown_foreign(&self, timeout: Duration) -> usize {
        self.as_dyn().shutdown_foreign(timeout)
    }

    fn close(&self) {
        self.as_dyn().close();
    }
}
