//! `Control`: how a [`TaskRef`](super::task_ref::TaskRef) asks its task to cancel without holding
//! the task. Layer 1 (the record): imports nothing of the crate.
//!
//! The loop keeps the control of each live task that a cancellable `TaskRef` was taken of (see
//! `Context::control_for`): the task reads the request at the start of its next poll, which the
//! control's waker brings about; the loop marks the control finished when the task ends.

use std::sync::atomic::{AtomicU8, Ordering};
use std::task::Waker;

/// Set by [`Control::request`]. Never cleared.
const REQUESTED: u8 = 1 << 0;
/// Set when the task ended: requests from then on return `false`.
const FINISHED: u8 = 1 << 1;

/// A task's cancellation request as a `TaskRef` makes it, from any thread.
pub(crate) struct Control {
    state: AtomicU8,
    /// Wakes the task so that it sees the request: main's waker, or one that reaches a spawned
    /// task through its loop (`cancel::CancelWaker`).
    waker: Waker,
}

impl Control {
    pub(crate) fn new(waker: Waker) -> Self {
        Control {
            state: AtomicU8::new(0),
            waker,
        }
    }

    /// Asks the task to cancel. Returns `false` if it had finished.
    pub(crate) fn request(&self) -> bool {
        let previous = self.state.fetch_or(REQUESTED, Ordering::AcqRel);
        if previous & FINISHED != 0 {
            return false;
        }
        if previous & REQUESTED == 0 {
            self.waker.wake_by_ref();
        }
        true
    }

    /// Whether a cancellation was asked for.
    pub(crate) fn is_requested(&self) -> bool {
        self.state.load(Ordering::Acquire) & REQUESTED != 0
    }

    /// The task ended.
    pub(crate) fn finish(&self) {
        self.state.fetch_or(FINISHED, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {

    use super::Control;
    use crate::record::count_wakes::CountWakes;

    #[test]
    fn the_first_request_wakes_the_task_and_none_after_it_finished_succeeds() {
        let (wakes, waker) = CountWakes::waker();
        let control = Control::new(waker);
        assert!(!control.is_requested());
        assert!(control.request());
        assert!(control.request(), "asked again before the task finished");
        assert!(control.is_requested());
        assert_eq!(wakes.count(), 1, "woken once");
        control.finish();
        assert!(!control.request(), "finished");
    }
}
