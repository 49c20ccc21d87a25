//! The timer queue both shipped loops use: buckets of timers in a binary heap, over a
//! generational arena of timer slots.
//!
//! Timers with the same deadline share a bucket, a list linked through their slots in arming
//! order; the default loop rounds deadlines to millisecond ticks, so a few dozen buckets hold
//! thousands of timers. The heap orders the buckets by deadline, then by creation, so timers due
//! together fire in the order they were armed. Arming finds the open bucket for its deadline in
//! a small hash table (or opens one) and appends the timer to it; firing pops whole buckets from
//! the front; disarming unlinks the timer and frees its slot at once. A bucket emptied that way
//! stays in the heap until it reaches the front, or until emptied buckets outnumber the armed
//! timers and are swept, so memory follows the number of armed timers.
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

/// Emptied buckets tolerated in the heap beyond the number of armed timers before a sweep.
const SWEEP_SLACK: usize = 64;
/// Slots in the table of open buckets.
const OPEN_SLOTS: usize = 128;
/// Slots where the open bucket of a deadline may be: its hash's slot and those after it.
const PROBES: usize = 4;
/// The end of a list of timers.
const NIL: u32 = u32::MAX;

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
    /// `TimerId` reads only this dense array.
    generations: Vec<u32>,
    timers: Vec<Timer>,
    free: Vec<u32>,
    armed: usize,
    /// Buckets in the heap whose timers were all disarmed.
    emptied: usize,
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

/// The first and last timer of a bucket's list; `NIL` when it has none.
struct Bucket {
    head: u32,
    tail: u32,
}

struct Timer {
    /// `None` while the slot is free.
    waker: Option<Waker>,
    bucket: u32,
    /// The neighbours in the bucket's list.
    prev: u32,
    next: u32,
}

impl TimerQueue {
    pub(crate) fn add(&mut self, deadline: Instant, waker: Waker) -> TimerId {
        let bucket = self.open_bucket(deadline);
        let tail = self.buckets[bucket as usize].tail;
        let timer = Timer {
            waker: Some(waker),
            bucket,
            prev: tail,
            next: NIL,
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
        if tail == NIL {
            self.buckets[bucket as usize].head = index;
        } else {
            self.timers[tail as usize].next = index;
        }
        self.buckets[bucket as usize].tail = index;
        self.armed += 1;
        let generation = self.generations[index as usize];
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
        let Timer {
            bucket, prev, next, ..
        } = self.timers[index as usize];
        match prev {
            NIL => self.buckets[bucket as usize].head = next,
            prev => self.timers[prev as usize].next = next,
        }
        match next {
            NIL => self.buckets[bucket as usize].tail = prev,
            next => self.timers[next as usize].prev = prev,
        }
        let waker = self.release(index);
        if self.buckets[bucket as usize].head == NIL {
            // The bucket stays in the heap (and open) until it reaches the front or is swept,
            // so arming and disarming in a loop does not churn the heap.
            self.emptied += 1;
            if self.emptied > self.armed + SWEEP_SLACK {
                self.sweep();
            }
        }
        waker
    }

    /// The earliest armed deadline. Emptied buckets at the front are dropped on the way.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&first) = self.heap.peek() {
            if self.buckets[first.bucket as usize].head != NIL {
                return Some(first.deadline);
            }
            self.heap.pop();
            self.emptied -= 1;
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
            let mut timer = self.buckets[first.bucket as usize].head;
            if timer == NIL {
                self.emptied -= 1;
            }
            while timer != NIL {
                let next = self.timers[timer as usize].next;
                due.extend(self.release(timer));
                timer = next;
            }
            self.free_bucket(first);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.armed == 0
    }

    pub(crate) fn clear(&mut self) -> Vec<Waker> {
        self.heap.clear();
        self.buckets.clear();
        self.free_buckets.clear();
        self.open.clear();
        self.free.clear();
        self.generations.clear();
        self.armed = 0;
        self.emptied = 0;
        self.timers
            .drain(..)
            .filter_map(|timer| timer.waker)
            .collect()
    }

    /// The bucket that takes a timer due at `deadline`: the open one for that deadline, or a new
    /// one, put in a free slot among the deadline's probes, or else in place of the bucket open
    /// in its first probe (which then takes no more timers).
    fn open_bucket(&mut self, deadline: Instant) -> u32 {
        // Timers armed one after another tend to share a deadline tick: try the last slot used.
        if let Some(&Some((open, bucket))) = self.open.get(self.last_slot) {
            if open == deadline {
                if self.buckets[bucket as usize].head == NIL {
                    self.emptied -= 1;
                }
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
                    if self.buckets[bucket as usize].head == NIL {
                        self.emptied -= 1;
                    }
                    self.last_slot = slot;
                    return bucket;
                }
                Some(_) => {}
                None => {
                    free.get_or_insert(slot);
                }
            }
        }
        let empty = Bucket {
            head: NIL,
            tail: NIL,
        };
        let bucket = match self.free_buckets.pop() {
            Some(bucket) => {
                self.buckets[bucket as usize] = empty;
                bucket
            }
            None => {
                self.buckets.push(empty);
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
        self.free_buckets.push(due.bucket);
    }

    /// Frees a timer slot (already out of its bucket's list, or in a list being discarded);
    /// returns its waker.
    fn release(&mut self, index: u32) -> Option<Waker> {
        let generation = &mut self.generations[index as usize];
        *generation = generation.wrapping_add(1);
        self.free.push(index);
        self.armed -= 1;
        self.timers[index as usize].waker.take()
    }

    /// Drops every emptied bucket from the heap.
    fn sweep(&mut self) {
        let mut emptied = Vec::new();
        let buckets = &self.buckets;
        self.heap.retain(|due| {
            let keep = buckets[due.bucket as usize].head != NIL;
            if !keep {
                emptied.push(*due);
            }
            keep
        });
        for due in emptied {
            self.free_bucket(due);
        }
        self.emptied = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Duration;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn due_timers_fire_in_deadline_order_and_only_once() {
        let mut queue = TimerQueue::default();
        let base = Instant::now();
        let (a, wa) = counter();
        let (b, wb) = counter();
        queue.add(base + Duration::from_millis(20), wb);
        queue.add(base + Duration::from_millis(10), wa);
        let mut due = Vec::new();
        queue.take_due(base + Duration::from_millis(15), &mut due);
        assert_eq!(due.len(), 1);
        due.drain(..).for_each(Waker::wake);
        assert_eq!(
            (a.0.load(Ordering::SeqCst), b.0.load(Ordering::SeqCst)),
            (1, 0)
        );
        queue.take_due(base + Duration::from_millis(30), &mut due);
        due.drain(..).for_each(Waker::wake);
        queue.take_due(base + Duration::from_millis(60), &mut due);
        assert!(due.is_empty());
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        assert!(queue.is_empty());
    }

    #[test]
    fn timers_due_together_fire_in_arming_order() {
        let mut queue = TimerQueue::default();
        let deadline = Instant::now();
        let (a, wa) = counter();
        let (b, wb) = counter();
        let (c, wc) = counter();
        // Slot 0 is freed and reused by the last timer: arming order, not slot order, counts.
        let gone = queue.add(deadline, Waker::noop().clone());
        queue.add(deadline, wa);
        queue.remove(gone);
        queue.add(deadline + Duration::from_millis(1), wc);
        queue.add(deadline, wb);
        let mut due = Vec::new();
        queue.take_due(deadline + Duration::from_millis(1), &mut due);
        assert_eq!(due.len(), 3);
        let counts = || [&a, &b, &c].map(|count| count.0.load(Ordering::SeqCst));
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
        let (a, wa) = counter();
        let (b, wb) = counter();
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
        assert_eq!(
            (a.0.load(Ordering::SeqCst), b.0.load(Ordering::SeqCst)),
            (1, 0)
        );
        due.next().unwrap().wake();
        assert_eq!(
            (a.0.load(Ordering::SeqCst), b.0.load(Ordering::SeqCst)),
            (1, 1)
        );
    }

    #[test]
    fn removed_timer_never_fires_and_stale_id_is_harmless() {
        let mut queue = TimerQueue::default();
        let base = Instant::now();
        let (a, wa) = counter();
        let id = queue.add(base, wa);
        assert!(queue.remove(id).is_some());
        assert!(queue.remove(id).is_none());
        let (_, wb) = counter();
        let reused = queue.add(base, wb);
        assert_ne!(id, reused, "a reused slot gets a new generation");
        assert!(
            queue.remove(id).is_none(),
            "the stale id does not remove the new timer"
        );
        let mut due = Vec::new();
        queue.take_due(base, &mut due);
        assert_eq!(due.len(), 1);
        assert_eq!(a.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    #[cfg_attr(miri, ignore = "10,000 iterations take minutes under Miri")]
    fn disarmed_timers_leave_no_buckets_behind() {
        let mut queue = TimerQueue::default();
        let base = Instant::now();
        for _ in 0..10_000 {
            let (_, waker) = counter();
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
mod live_bucket {
    use super::*;
    use std::time::Duration;

    #[test]
    #[cfg_attr(miri, ignore = "10,000 iterations take minutes under Miri")]
    fn disarmed_timers_leave_nothing_behind_in_a_live_bucket() {
        let mut queue = TimerQueue::default();
        let deadline = Instant::now() + Duration::from_secs(3600);
        queue.add(deadline, Waker::noop().clone());
        for _ in 0..10_000 {
            let id = queue.add(deadline, Waker::noop().clone());
            queue.remove(id);
        }
        assert_eq!(queue.heap.len(), 1, "one bucket");
        let bucket = &queue.buckets[queue.heap.peek().unwrap().bucket as usize];
        assert_eq!(
            bucket.head, bucket.tail,
            "one timer in it: disarmed ones are unlinked"
        );
        let mut due = Vec::new();
        queue.take_due(deadline, &mut due);
        assert_eq!(due.len(), 1, "the one armed timer still fires");
        assert!(queue.is_empty());
    }
}
