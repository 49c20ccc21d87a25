//! The loop's registry of live tasks: the address of each, under a key that stays the task's
//! until it ends (`Header::slot`). Layer 3 (the context): imports nothing of the crate.

/// The loop's live tasks, as `T` (a task's address: `raw_task::TaskPtr`). Keys of ended tasks are
/// reused, newest first.
///
/// A table of one word per entry and a list of free keys, rather than a `Slab` of tagged
/// entries: an entry is then one word (the address's niche says vacant) instead of two, which
/// every idle task pays for (heap per idle task, #18).
pub(crate) struct Registry<T> {
    entries: Vec<Option<T>>,
    /// The keys of the vacant entries.
    free: Vec<u32>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Copy> Registry<T> {
    /// Registers a task; returns its key.
    pub(crate) fn insert(&mut self, task: T) -> u32 {
        if let Some(key) = self.free.pop() {
            self.entries[key as usize] = Some(task);
            return key;
        }
        let key = match u32::try_from(self.entries.len()) {
            // `u32::MAX` stands for "not registered" in the header.
            Ok(key) if key < u32::MAX => key,
            _ => panic!("a loop holds fewer than 2^32 - 1 live tasks"),
        };
        self.entries.push(Some(task));
        key
    }

    /// Forgets the task under `key`; gives it back if it was registered.
    pub(crate) fn remove(&mut self, key: u32) -> Option<T> {
        let task = self.entries.get_mut(key as usize)?.take()?;
        self.free.push(key);
        Some(task)
    }

    pub(crate) fn get(&self, key: u32) -> Option<T> {
        *self.entries.get(key as usize)?
    }

    /// How many tasks are registered.
    pub(crate) fn live(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Every registered task.
    pub(crate) fn tasks(&self) -> impl Iterator<Item = T> + '_ {
        self.entries.iter().flatten().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::Registry;

    #[test]
    fn registry_reuses_the_key_of_an_ended_task_and_counts_live_ones() {
        let mut registry = Registry::default();
        let a = registry.insert('a');
        let b = registry.insert('b');
        assert_ne!(a, b);
        assert_eq!(registry.live(), 2);
        assert_eq!(registry.remove(a), Some('a'));
        assert_eq!(registry.get(a), None, "an ended task's key wakes nothing");
        assert_eq!(registry.remove(a), None, "a key is freed once");
        assert_eq!(registry.live(), 1);
        assert_eq!(registry.insert('c'), a, "the freed key is reused");
        assert_eq!(registry.insert('d'), 2, "then the table grows");
        assert_eq!(registry.live(), 3);
        assert_eq!(registry.get(b), Some('b'));
        assert_eq!(registry.tasks().collect::<String>(), "cbd");
    }
}
