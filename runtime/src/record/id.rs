//! Task ids. Layer 1 (the record): imports nothing of the crate.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's id: unique within the process, counting up from 1 in creation order across every
/// thread (the main task of each run takes one too).
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let a = corun_runtime::spawn(async {});
///     let b = corun_runtime::spawn(async {});
///     assert!(a.id() < b.id());
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// The next id: one process-wide counter, so ids (and the `Task-N` names made from them)
    /// count the tasks created in the process, 1, 2, 3, ..., in creation order, whatever thread,
    /// loop or `Handle` creates them (asyncio's `Task-N` counter is process-wide too). One
    /// relaxed atomic add per spawn, which the allocation beside it dwarfs.
    pub(crate) fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        TaskId(NonZeroU64::new(id).expect("task ids do not wrap around in 2^64 spawns"))
    }

    /// The id with the number `id` (tests).
    #[cfg(test)]
    pub(crate) fn from_raw(id: u64) -> TaskId {
        TaskId(NonZeroU64::new(id).expect("ids start at 1"))
    }

    /// The id as a number.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let id = corun_runtime::current_task().unwrap().id();
    ///     assert!(id.get() >= 1);
    /// });
    /// ```
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The name of a task spawned without one: `Task-N`.
    pub(crate) fn default_name(self) -> String {
        format!("Task-{}", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A map by task id, hashed by one multiplication: ids are unique counters, so nothing needs
/// the default hasher's resistance to chosen keys, and its SipHash was a tenth of a `run()`
/// (two hashes for main awaiting one task, ~400 of 3,470 instructions). Written here rather than
/// taken from `rustc-hash`: five lines against a dependency in every build.
pub(crate) type IdMap<V> = HashMap<TaskId, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of a task id (see [`IdMap`]): the product's high bits, which the table
/// reads first, depend on every bit of the id.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(self.0 ^ u64::from(byte));
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::{IdHasher, IdMap, TaskId};

    #[test]
    fn consecutive_ids_hash_apart_in_the_high_bits_and_the_map_finds_each() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let top = |id: u64| build.hash_one(TaskId::from_raw(id)) >> 57;
        let distinct: std::collections::HashSet<u64> = (1..=64).map(top).collect();
        assert!(
            distinct.len() > 32,
            "{} control values for 64 ids",
            distinct.len()
        );
        let mut map = IdMap::default();
        for id in 1..=1000 {
            map.insert(TaskId::from_raw(id), id);
        }
        assert!((1..=1000).all(|id| map[&TaskId::from_raw(id)] == id));
    }
}
