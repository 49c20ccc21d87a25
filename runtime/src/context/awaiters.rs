//! The wakers of code awaiting a task's handle while the task runs, kept by the loop rather than
//! in every task (two words each, which every idle task would pay), and woken at the task's
//! completion. Layer 3 (the context): uses only the record's ids.

use std::task::Waker;

use crate::record::id::{IdMap, TaskId};

/// The awaiters by task. The first one parked while none is has a place of its own, found
/// without hashing: most loops have one awaited task at a time, such as a main awaiting what it
/// spawned (`run()`: 3,295 -> 3,193 instructions with this place).
#[derive(Default)]
pub(crate) struct Awaiters {
    one: Option<(TaskId, Waker)>,
    more: IdMap<Waker>,
}

impl Awaiters {
    /// Keeps `waker` for task `id`, in place of the one kept before.
    pub(crate) fn park(&mut self, id: TaskId, waker: &Waker) {
        if let Some((kept, old)) = &mut self.one {
            if *kept == id {
                old.clone_from(waker);
                return;
            }
        }
        if let Some(old) = self.more.get_mut(&id) {
            old.clone_from(waker);
            return;
        }
        if self.one.is_none() {
            self.one = Some((id, waker.clone()));
        } else {
            self.more.insert(id, waker.clone());
        }
    }

    /// The waker kept for task `id`, which completes.
    pub(crate) fn take(&mut self, id: TaskId) -> Option<Waker> {
        if self.one.as_ref().is_some_and(|(kept, _)| *kept == id) {
            return self.one.take().map(|(_, waker)| waker);
        }
        if self.more.is_empty() {
            return None;
        }
        self.more.remove(&id)
    }

    /// Forgets every waker, keeping the table's room.
    pub(crate) fn clear(&mut self) {
        self.one = None;
        self.more.clear();
    }
}

#[cfg(test)]
mod tests {

    use super::Awaiters;
    use crate::record::count_wakes::CountWakes;
    use crate::record::id::TaskId;

    #[test]
    fn each_task_gets_its_latest_waker_back_once_wherever_it_was_kept() {
        let mut awaiters = Awaiters::default();
        let (ids, wakers): (Vec<_>, Vec<_>) = (1..=4)
            .map(|id| (TaskId::from_raw(id), CountWakes::waker()))
            .unzip();
        for (id, (_, waker)) in ids.iter().zip(&wakers) {
            awaiters.park(*id, waker);
        }
        let (latest, replacing) = CountWakes::waker();
        awaiters.park(ids[0], &replacing);
        awaiters.park(ids[2], &replacing);
        for id in &ids {
            awaiters.take(*id).expect("kept").wake();
            assert!(awaiters.take(*id).is_none(), "given back once");
        }
        let woken: Vec<usize> = wakers.iter().map(|(count, _)| count.count()).collect();
        assert_eq!(woken, [0, 1, 0, 1], "replaced wakers are not woken");
        assert_eq!(latest.count(), 2);
        assert!(awaiters.take(TaskId::from_raw(9)).is_none());
    }

    #[test]
    fn the_place_of_its_own_is_taken_again_once_free() {
        let mut awaiters = Awaiters::default();
        let (_, first) = CountWakes::waker();
        awaiters.park(TaskId::from_raw(1), &first);
        awaiters.park(TaskId::from_raw(2), &first);
        assert!(awaiters.take(TaskId::from_raw(1)).is_some());
        awaiters.park(TaskId::from_raw(3), &first);
        assert!(awaiters.one.as_ref().is_some_and(|(id, _)| id.get() == 3));
        awaiters.clear();
        assert!(
            awaiters.take(TaskId::from_raw(2)).is_none()
                && awaiters.take(TaskId::from_raw(3)).is_none()
        );
    }
}
