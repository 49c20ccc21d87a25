//! A waker that counts its wakes, for the unit tests of every layer. Layer 1 (the record):
//! imports nothing of the crate. Compiled for tests only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

/// How many times the wakers made from it were woken.
#[derive(Default)]
pub(crate) struct CountWakes(AtomicUsize);

impl CountWakes {
    /// A counter, and a waker that counts into it.
    pub(crate) fn waker() -> (Arc<CountWakes>, Waker) {
        let count = Arc::new(CountWakes::default());
        (count.clone(), Waker::from(count))
    }

    /// The wakes so far.
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
