//! The timer queue both shipped loops use: buckets of timers in a binary heap, over a
//! generational arena of timer slots.
//!
//! Layer 2 (the loop layer): uses only `event_loop` (`TimerId`).
//!
//! Timers with the same deadline share a bucket, a vector of entries in arming order; the
//! default loop rounds deadlines to millisecond ticks, so a few dozen buckets hold thousands of
//! timers. The heap orders the buckets by deadline, then by creation, so timers due together
//! fire in the order they were armed. Arming finds the open bucket for its deadline in a small
//! hash table (or opens one) and pushes the timer's entry; firing pops whole buckets from the
//! front. Disarming frees the timer's slot at once and leaves its entry behind, stale; an
//! emptied bucket is dropped when it reaches the front, and stale entries are swept whenever
//! they outnumber the armed timers, so memory follows the number of armed timers.
//!
//! A heap of buckets rather than a `BTreeMap` from deadline to bucket: the map was a sixth of
//! this crate's LLVM IR (BENCHMARKS.md, compile cost); the heap and the table are a fraction of
//! that, and no slower on the timer benchmarks.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::{Hash, Hasher};
use std::task::Waker;
use std::time::Instant;

use crate::event_loop::TimerId;

/// Stale bucket entries tolerated beyond the number of armed timers before a sweep.
const SWEEP_SLACK: usize = 64;
/// Free buckets that keep their entry vector's allocation for the next bucket.
const SPARE_ENTRIES: usize = 64;
/// Slots in the table of open buckets.
const OPEN_SLOTS: usize = 128;
/// Slots where the open bucket of a deadline may be: its hash's slot and those after it.
const PROBES: usize = 4;

#[derive(Default)]
pub(crate) struct TimerQueue {
    /// One entry per bucket that is not free.
    heap: BinaryHeap<Due>,
    buckets: Vec<Bucket>,
    free_buckets: Vec<u32>,
    /// Buckets made so far: the creation order, which breaks ties between equal deadlines.
    buckets_made: u64,
    /// The bucket that takes new timers for a deadline, found by a hash of the deadline (see
    /// `open_bucket`); empty until the first timer. A deadline has at most one open bucket, and
    /// it is the newest of its deadline's buckets, so appending to it keeps the arming order.
    open: Vec<Option<(Instant, u32)>>,
    /// The slot of `open` used last.
    last_slot: usize,
    /// The generation of each timer slot, apart from the slots themselves: the check of a
    /// `TimerId` and of each fired entry reads only this dense array.
    generations: Vec<u32>,
    timers: Vec<Timer>,
    free: Vec<u32>,
    armed: usize,
    /// Entries in buckets whose timer was disarmed.
    stale: usize,
}

/// A bucket in the heap. The heap is a max-heap, so the order is reversed: the greatest entry
/// is the earliest deadline, and among equal deadlines the first bucket made.
#[derive(Clone, Copy)]
struct Due {
    deadline: Instant,
    order: u64,
    bucket: u32,
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .deadline
            .cmp(&self.deadline)
            .then(other.order.cmp(&self.order))
    }
}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}

impl Eq for Due {}

/// Hashes an `Instant` (its seconds and nanoseconds, as `Instant::hash` writes them) for the
/// table of open buckets: each word is folded in with a multiply, and `finish` is SplitMix64's
/// finalizer, so that deadlines a tick apart land in unrelated slots. Not keyed: the table is a
/// cache that a collision only makes create one more bucket.
struct SlotHasher(u64);

impl Hasher for SlotHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_u32(&mut self, word: u32) {
        self.write_u64(u64::from(word));
    }

    fn write_i64(&mut self, word: i64) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        let mut hash = self.0;
        hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        hash ^ (hash >> 31)
    }
}

#[derive(Default)]
struct Bucket {
    /// How many entries are still armed.
    live: usize,
    /// Slot index and generation of each timer armed in this bucket, in arming order. A vector
    /// rather than a list linked through the slots: firing a bucket then reads memory in order,
    /// which measured faster on the timers benchmark.
    entries: Vec<(u32, u32)>,
}

struct Timer {
    /// `None` while the slot is free.
    waker: Option<Waker>,
    bucket: u32,
}

impl TimerQueue {
    pub(crate) fn add(&mut self, deadline: Instant, waker: Waker) -> TimerId {
        let bucket = self.open_bucket(deadline);
        let timer = Timer {
            waker: Some(waker),
            bucket,
        };
        let index = match self.free.pop() {
            Some(index) => {
                self.timers[index as usize] = timer;
                index
            }
            None => {
                self.timers.push(timer);
                self.generations.push(0);
                (self.timers.len() - 1) as u32
            }
        };
        let generation = self.generations[index as usize];
        let bucket = &mut self.buckets[bucket as usize];
        bucket.live += 1;
        bucket.entries.push((index, generation));
        self.armed += 1;
        TimerId::new(u64::from(generation) << 32 | u64::from(index))
    }

    pub(crate) fn remove(&mut self, timer: TimerId) -> Option<Waker> {
        let index = (timer.get() & u64::from(u32::MAX)) as u32;
        let generation = (timer.get() >> 32) as u32;
        // A slot's generation moves on when its timer fires or is disarmed, so a match means
        // this very timer is still armed.
        if self.generations.get(index as usize) != Some(&generation) {
            return None;
        }
        let bucket = self.timers[index as usize].bucket;
        let waker = self.release(index);
        // The entry stays behind, stale; an emptied bucket is dropped when it reaches the front
        // or at the next sweep, so arming and disarming in a loop does not churn the heap.
        self.buckets[bucket as usize].live -= 1;
        self.stale += 1;
        if self.stale > self.armed + SWEEP_SLACK {
            self.sweep();
        }
        waker
    }

    /// The earliest armed deadline. Emptied buckets at the front are dropped on the way.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&first) = self.heap.peek() {
            if self.buckets[first.bucket as usize].live > 0 {
                return Some(first.deadline);
            }
            self.heap.pop();
            self.stale -= self.buckets[first.bucket as usize].entries.len();
            self.free_bucket(first);
        }
        None
    }

    /// Moves the wakers of every timer due at `now` into `due`, earliest first.
    pub(crate) fn take_due(&mut self, now: Instant, due: &mut Vec<Waker>) {
        while let Some(&first) = self.heap.peek() {
            if first.deadline > now {
                break;
            }
            self.heap.pop();
            let entries = std::mem::take(&mut self.buckets[first.bucket as usize].entries);
            for &(index, generation) in &entries {
                if self.generations[index as usize] == generation {
                    due.extend(self.release(index));
                } else {
                    self.stale -= 1;
                }
            }
            self.buckets[first.bucket as usize].entries = entries;
            self.free_bucket(first);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.armed == 0
    }

    /// Empties the queue; gives back what it held (its wakers among it), for the caller to drop
    /// once no borrow of the queue is held.
    pub(crate) fn clear(&mut self) -> TimerQueue {
        std::mem::take(self)
    }

    /// Whether no timer was added since the queue was made or cleared: it then holds nothing,
    /// and clearing it would change nothing (every part of the queue grows from `add`, which
    /// pushes onto `timers`). A run that arms no timer skips the clear when its loop closes
    /// (~100 instructions; BENCHMARKS.md, "Cheaper `run()`").
    pub(crate) fn is_unused(&self) -> bool {
        self.timers.capacity() == 0
    }

    /// The bucket that takes a timer due at `deadline`: the open one for that deadline, or a new
    /// one, put in a free slot among the deadline's probes, or else in place of the bucket open
    /// in its first probe (which then takes no more timers).
    fn open_bucket(&mut self, deadline: Instant) -> u32 {
        // Timers armed one after another tend to share a deadline tick: try the last slot used.
        if let Some(&Some((open, bucket))) = self.open.get(self.last_slot) {
            if open == deadline {
                return bucket;
            }
        }
        let first = self.slot_of(deadline);
        let mut free = None;
        // Every probe is looked at, free or not: a deadline's open bucket can only be in one of
        // them, so when none holds it, there is none.
        for probe in 0..PROBES {
            let slot = (first + probe) % OPEN_SLOTS;
            match self.open[slot] {
                Some((open, bucket)) if open == deadline => {
                    self.last_slot = slot;
                    return bucket;
                }
                Some(_) => {}
                None => {
                    free.get_or_insert(slot);
                }
            }
        }
        let bucket = match self.free_buckets.pop() {
            Some(bucket) => bucket,
            None => {
                self.buckets.push(Bucket::default());
                (self.buckets.len() - 1) as u32
            }
        };
        self.heap.push(Due {
            deadline,
            order: self.buckets_made,
            bucket,
        });
        self.buckets_made += 1;
        self.last_slot = free.unwrap_or(first);
        self.open[self.last_slot] = Some((deadline, bucket));
        bucket
    }

    /// The first probe of `deadline` in the table of open buckets, making the table on the
    /// first call.
    fn slot_of(&mut self, deadline: Instant) -> usize {
        if self.open.is_empty() {
            self.open.resize(OPEN_SLOTS, None);
        }
        let mut hasher = SlotHasher(0);
        deadline.hash(&mut hasher);
        (hasher.finish() % OPEN_SLOTS as u64) as usize
    }

    /// Returns a bucket taken out of the heap to the free list, closing it if it is open.
    fn free_bucket(&mut self, due: Due) {
        let first = self.slot_of(due.deadline);
        for probe in 0..PROBES {
            let slot = (first + probe) % OPEN_SLOTS;
            if self.open[slot] == Some((due.deadline, due.bucket)) {
                self.open[slot] = None;
            }
        }
        let bucket = &mut self.buckets[due.bucket as usize];
        bucket.live = 0;
        if self.free_buckets.len() < SPARE_ENTRIES {
            bucket.entries.clear();
        } else {
            bucket.entries = Vec::new();
        }
        self.free_buckets.push(due.bucket);
    }

    /// Frees a timer slot; returns its waker.
    fn release(&mut self, index: u32) -> Option<Waker> {
        let generation = &mut self.generations[index as usize];
        *generation = generation.wrapping_add(1);
        self.free.push(index);
        self.armed -= 1;
        self.timers[index as usize].waker.take()
    }

    /// Drops every stale entry and every emptied bucket, except the bucket that took the last
    /// timer while it is still open: arming and disarming in a loop (a `timeout` whose future
    /// wins) goes on using it, where closing it at every sweep made the next arm open a new one
    /// and push it on the heap (a sweep comes every 65 disarms there). The sweep works in place:
    /// it used to collect the kept and emptied buckets into two new vectors.
    fn sweep(&mut self) {
        let last_open = self.open.get(self.last_slot).copied().flatten();
        let mut dues = std::mem::take(&mut self.heap).into_vec();
        dues.retain(|&due| {
            let bucket = &mut self.buckets[due.bucket as usize];
            if bucket.live > 0 {
                let generations = &self.generations;
                bucket
                    .entries
                    .retain(|&(index, generation)| generations[index as usize] == generation);
                return true;
            }
            if last_open == Some((due.deadline, due.bucket)) {
                bucket.entries.clear();
                return true;
            }
            self.free_bucket(due);
            false
        });
        self.heap = BinaryHeap::from(dues);
        self.stale = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::count_wakes::CountWakes;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_queue_is_unused_until_a_timer_is_added_and_again_once_cleared() {
        let mut queue = TimerQueue::default();
        assert!(queue.is_unused());
        let (count, waker) = CountWakes::waker();
        let timer = queue.add(Instant::now() + Duration::from_secs(1), waker);
        assert!(!queue.is_unused());
        assert!(queue.remove(timer).is_some());
        assert!(queue.is_empty());
        assert!(
            !queue.is_unused(),
            "a disarmed timer leaves its bucket behind"
        );
        drop(queue.clear());
        assert!(queue.is_unused());
        assert_eq!(Arc::strong_count(&count), 1);
    }

    #[test]
    fn due_timers_fire_in_deadline_order_and_only_once() {
        let mut queue = TimerQueue::default();
        let base = Instant::now();
        let (a, wa) = CountWakes::waker();
        let (b, wb) = CountWakes::waker();
        queue.add(base + Duration::from_millis(20), wb);
        queue.add(base + Duration::from_millis(10), wa);
        let mut due = Vec::new();
        queue.take_due(base + Duration::from_millis(15), &mut due);
        assert_eq!(due.len(), 1);
        due.drain(..).for_each(Waker::wake);
        assert_eq!((a.count(), b.count()), (1, 0));
        queue.take_due(base + Duration::from_millis(30), &mut due);
        due.drain(..).for_each(Waker::wake);
        queue.take_due(base + Duration::from_millis(60), &mut due);
        assert!(due.is_empty());
        assert_eq!(b.count(), 1);
        assert!(queue.is_empty());
    }

    #[test]
    fn timers_due_together_fire_in_arming_order() {
        let mut queue = TimerQueue::default();
        let deadline = Instant::now();
        let (a, wa) = CountWakes::waker();
        let (b, wb) = CountWakes::waker();
        let (c, wc) = CountWakes::waker();
        // Slot 0 is freed and reused by the last timer: arming order, not slot order, counts.
        let gone = queue.add(deadline, Waker::noop().clone());
        queue.add(deadline, wa);
        queue.remove(gone);
        queue.add(deadline + Duration::from_millis(1), wc);
        queue.add(deadline, wb);
        let mut due = Vec::new();
        queue.take_due(deadline + Duration::from_millis(1), &mut due);
        assert_eq!(due.len(), 3);
        let counts = || [&a, &b, &c].map(|count| count.count());
        let mut due = due.into_iter();
        due.next().unwrap().wake();
        assert_eq!(counts(), [1, 0, 0]);
        due.next().unwrap().wake();
        assert_eq!(counts(), [1, 1, 0]);
        due.next().unwrap().wake();
        assert_eq!(counts(), [1, 1, 1]);
    }

    #[test]
    fn a_deadline_displaced_from_the_open_table_keeps_arming_order() {
        let mut queue = TimerQueue::default();
        let deadline = Instant::now();
        let (a, wa) = CountWakes::waker();
        let (b, wb) = CountWakes::waker();
        queue.add(deadline, wa);
        // Enough other deadlines to take every slot of the table, the first timer's included.
        for nanos in 1..=(8 * OPEN_SLOTS as u64) {
            queue.add(
                deadline + Duration::from_nanos(nanos),
                Waker::noop().clone(),
            );
        }
        queue.add(deadline, wb);
        assert!(
            queue.heap.len() > 8 * OPEN_SLOTS + 1,
            "the second timer went to a new bucket"
        );
        let mut due = Vec::new();
        queue.take_due(deadline, &mut due);
        assert_eq!(due.len(), 2);
        let mut due = due.into_iter();
        due.next().unwrap().wake();
        assert_eq!((a.count(), b.count()), (1, 0));
        due.next().unwrap().wake();
        assert_eq!((a.count(), b.count()), (1, 1));
    }

    #[test]
    fn removed_timer_never_fires_and_stale_id_is_harmless() {
        let mut queue = TimerQueue::default();
        let base = Instant::now();
        let (a, wa) = CountWakes::waker();
        let id = queue.add(base, wa);
        assert!(queue.remove(id).is_some());
        assert!(queue.remove(id).is_none());
        let (_, wb) = CountWakes::waker();
        let reused = queue.add(base, wb);
        assert_ne!(id, reused, "a reused slot gets a new generation");
        assert!(
            queue.remove(id).is_none(),
            "the stale id does not remove the new timer"
        );
        let mut due = Vec::new();
        queue.take_due(base, &mut due);
        assert_eq!(due.len(), 1);
        assert_eq!(a.count(), 0);
    }

    #[test]
    #[cfg_attr(miri, ignore = "10,000 iterations take minutes under Miri")]
    fn disarmed_timers_leave_no_buckets_behind() {
        let mut queue = TimerQueue::default();
        let base = Instant::now();
        for _ in 0..10_000 {
            let (_, waker) = CountWakes::waker();
            let id = queue.add(base + Duration::from_secs(3600), waker);
            queue.remove(id);
        }
        assert!(queue.heap.len() <= 1, "emptied buckets are swept");
        assert_eq!(
            queue.next_deadline(),
            None,
            "and never reported as a deadline"
        );
        assert!(queue.heap.is_empty());
        assert_eq!(queue.timers.len(), 1, "one slot is reused throughout");
    }
}

#[cfg(test)]
mod stale_entries {
    use super::*;
    use std::time::Duration;

    #[test]
    #[cfg_attr(miri, ignore = "10,000 iterations take minutes under Miri")]
    fn stale_entries_in_a_live_bucket_are_swept() {
        let mut queue = TimerQueue::default();
        let deadline = Instant::now() + Duration::from_secs(3600);
        queue.add(deadline, Waker::noop().clone());
        for _ in 0..10_000 {
            let id = queue.add(deadline, Waker::noop().clone());
            queue.remove(id);
        }
        let kept: usize = queue.buckets.iter().map(|b| b.entries.len()).sum();
        assert!(
            kept <= SWEEP_SLACK + 2,
            "kept {kept} entries for one armed timer"
        );
        let mut due = Vec::new();
        queue.take_due(deadline, &mut due);
        assert_eq!(due.len(), 1, "the one armed timer still fires");
        assert!(queue.is_empty());
    }
}
