//! The loop's registry of live tasks: the address of each, under a key that stays the task's
//! until it ends (`Header::slot`). A task group keeps its children in one too. Layer 3 (the
//! context): imports nothing of the crate.

/// Live tasks as `T`, each under a key that stays its own until it ends: the loop's (a task's
/// address, `raw_task::TaskPtr`), and a task group's children (their records, `task::group`).
/// Keys of ended tasks are reused, newest first.
///
/// A table of one word per entry and a list of free keys, rather than a `Slab` of tagged
/// entries: an entry is then one word (the address's niche says vacant) instead of two, which
/// every idle task pays for (heap per idle task, #18). The task groups' use of it, rather than
/// of the `slab` crate, takes that crate out of every clean build (BENCHMARKS.md, compile cost).
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

impl<T> Registry<T> {
    /// Registers a task; returns its key.
    pub(crate) fn insert(&mut self, task: T) -> u32 {
        if let Some(key) = self.free.pop() {
            self.entries[key as usize] = Some(task);
            return key;
        }
        let key = match u32::try_from(self.entries.len()) {
            // `u32::MAX` stands for "not registered" in the header.
            Ok(key) if key < u32::MAX => key,
            _ => panic!("a loop or a task group holds fewer than 2^32 - 1 live tasks"),
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

    /// How many tasks are registered.
    pub(crate) fn live(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// The key the next [`insert`](Self::insert) gives (a group's child's waker is made with its
    /// key, before the child).
    pub(crate) fn next_key(&self) -> u32 {
        match self.free.last() {
            Some(&key) => key,
            // At most `u32::MAX` (see `insert`), so the cast loses nothing.
            None => self.entries.len() as u32,
        }
    }

    /// The task under `key`, if it is registered.
    pub(crate) fn get(&self, key: u32) -> Option<&T> {
        self.entries.get(key as usize)?.as_ref()
    }

    /// Every registered task.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().flatten()
    }

    /// Every registered task, taken out.
    pub(crate) fn into_values(self) -> impl Iterator<Item = T> {
        self.entries.into_iter().flatten()
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
        assert_eq!(registry.get(b), Some(&'b'));
        assert_eq!(registry.values().collect::<String>(), "cbd");
    }

    #[test]
    fn the_next_key_is_the_one_the_next_insert_gives() {
        let mut registry = Registry::default();
        assert_eq!(registry.next_key(), 0);
        let a = registry.insert(String::from("a"));
        let b = registry.insert(String::from("b"));
        assert_eq!(registry.next_key(), 2, "the table grows");
        registry.remove(a);
        assert_eq!(registry.next_key(), a, "a freed key first");
        assert_eq!(registry.insert(String::from("c")), a);
        assert_eq!(registry.get(b).map(String::as_str), Some("b"));
        let values: Vec<&str> = registry.values().map(String::as_str).collect();
        assert_eq!(values, ["c", "b"]);
        assert_eq!(registry.into_values().collect::<String>(), "cb");
    }
}
