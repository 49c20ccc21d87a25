//! A ready list for one task that polls many futures itself (`gather_all`'s futures, a task
//! group's body and children): which of them were woken since the task last looked, and the
//! waker of each. Layer 4 (beside tasks): imports nothing of the crate.
//!
//! Every future gets a waker of its own, which puts the future's index on the list and wakes the
//! task; a poll of the task's future polls only what is on the list, so a wake costs O(1) however
//! many futures there are (futures' `FuturesUnordered` works the same way; its crate would add
//! about 2 s of CPU to every clean build of a corun program, BENCHMARKS.md). The wakers are
//! `Send + Sync` and `'static` (an index and the shared list), so they may be woken from any
//! thread, and they hold nothing of the future: a waker that outlives its future only makes a
//! spurious wake.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Wake, Waker};

/// The indices woken since the task last looked, and the waker of the task.
pub(crate) struct Woken {
    state: Mutex<State>,
}

struct State {
    /// Woken indices, each at most once.
    indices: Vec<usize>,
    /// Whether each index is in `indices` (grown as indices are woken).
    queued: Vec<bool>,
    /// The task, as of its latest poll.
    task: Option<Waker>,
}

impl Woken {
    /// A list with the first `count` indices woken: each needs its first poll.
    pub(crate) fn with_first_woken(count: usize) -> Arc<Self> {
        Arc::new(Woken {
            state: Mutex::new(State {
                indices: (0..count).collect(),
                queued: vec![true; count],
                task: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the woken indices into `into` (empty) and keeps `task` as the waker to wake next.
    pub(crate) fn take(&self, task: &Waker, into: &mut Vec<usize>) {
        let mut state = self.lock();
        if !state.task.as_ref().is_some_and(|w| w.will_wake(task)) {
            state.task = Some(task.clone());
        }
        std::mem::swap(&mut state.indices, into);
        for &index in into.iter() {
            state.queued[index] = false;
        }
    }

    /// Index `index` was woken: queue it, and wake the task if nothing was queued yet (else it
    /// was woken already and has not polled since).
    pub(crate) fn wake(&self, index: usize) {
        let task = {
            let mut state = self.lock();
            if state.queued.len() <= index {
                state.queued.resize(index + 1, false);
            }
            if state.queued[index] {
                return;
            }
            state.queued[index] = true;
            state.indices.push(index);
            if state.indices.len() > 1 {
                return;
            }
            state.task.clone()
        };
        if let Some(task) = task {
            task.wake();
        }
    }
}

/// The waker of index `index` on the list `woken`.
pub(crate) fn waker(woken: &Arc<Woken>, index: usize) -> Waker {
    Waker::from(Arc::new(IndexWaker {
        index,
        woken: woken.clone(),
    }))
}

struct IndexWaker {
    index: usize,
    woken: Arc<Woken>,
}

impl Wake for IndexWaker {
    fn wake(self: Arc<Self>) {
        self.woken.wake(self.index);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.wake(self.index);
    }
}

#[cfg(test)]
mod tests {

    use super::{waker, Woken};
    use crate::record::count_wakes::CountWakes;

    #[test]
    fn a_wake_queues_its_index_once_and_wakes_the_task_once_per_batch() {
        let woken = Woken::with_first_woken(1);
        let (wakes, task) = CountWakes::waker();
        let mut taken = Vec::new();
        woken.take(&task, &mut taken);
        assert_eq!(taken, [0], "the first index starts woken");
        let child = waker(&woken, 5);
        child.wake_by_ref();
        child.wake_by_ref();
        waker(&woken, 2).wake();
        assert_eq!(wakes.count(), 1, "one wake of the task");
        taken.clear();
        woken.take(&task, &mut taken);
        assert_eq!(taken, [5, 2], "each index once, in the order woken");
        child.wake_by_ref();
        assert_eq!(wakes.count(), 2, "a new batch wakes again");
    }
}
