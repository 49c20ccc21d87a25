//! The loop's registry of live tasks: the waker of each, under a key that stays the task's until
//! it ends (`Header::slot`). Layer 3 (the context): imports nothing of the crate.

use slab::Slab;
use std::task::Waker;

/// The loop's live tasks. Keys of ended tasks are reused, newest first (`slab`'s free list).
#[derive(Default)]
pub(crate) struct Registry {
    wakers: Slab<Waker>,
}

impl Registry {
    /// Registers a task by its waker; returns its key.
    pub(crate) fn insert(&mut self, waker: Waker) -> u32 {
        let key = self.wakers.insert(waker);
        match u32::try_from(key) {
            // `u32::MAX` stands for "not registered" in the header.
            Ok(key) if key < u32::MAX => key,
            _ => panic!("a loop holds fewer than 2^32 - 1 live tasks"),
        }
    }

    /// Forgets the task under `key`; gives its waker back if it was registered.
    pub(crate) fn remove(&mut self, key: u32) -> Option<Waker> {
        self.wakers.try_remove(key as usize)
    }

    pub(crate) fn get(&self, key: u32) -> Option<&Waker> {
        self.wakers.get(key as usize)
    }

    /// How many tasks are registered.
    pub(crate) fn live(&self) -> usize {
        self.wakers.len()
    }

    /// The waker of every registered task.
    pub(crate) fn wakers(&self) -> impl Iterator<Item = &Waker> {
        self.wakers.iter().map(|(_, waker)| waker)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::Registry;

    #[test]
    fn registry_reuses_the_key_of_an_ended_task_and_counts_live_ones() {
        let mut registry = Registry::default();
        let a = registry.insert(Waker::noop().clone());
        let b = registry.insert(Waker::noop().clone());
        assert_ne!(a, b);
        assert_eq!(registry.live(), 2);
        assert!(registry.remove(a).is_some());
        assert!(
            registry.get(a).is_none(),
            "an ended task's key wakes nothing"
        );
        assert!(registry.remove(a).is_none(), "a key is freed once");
        assert_eq!(registry.live(), 1);
        assert_eq!(
            registry.insert(Waker::noop().clone()),
            a,
            "the freed key is reused"
        );
        assert_eq!(
            registry.insert(Waker::noop().clone()),
            2,
            "then the table grows"
        );
        assert_eq!(registry.live(), 3);
        assert!(registry.get(b).is_some());
    }
}
