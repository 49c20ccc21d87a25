//! The timer queue both shipped loops use: ordered buckets of timers over a generational arena.
//!
//! Timers with the same deadline share a bucket; the default loop rounds deadlines to
//! millisecond ticks, so a few dozen buckets hold thousands of timers. Arming is a `BTreeMap`
//! lookup among the buckets plus a push; firing takes whole buckets from the front. Disarming
//! frees the arena slot at once and leaves the bucket entry behind, stale; a bucket whose last
//! armed timer goes is dropped, and stale entries are swept whenever they outnumber the armed
//! timers, so memory follows the number of armed timers.

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::Instant;

use crate::event_loop::TimerId;

/// Stale bucket entries tolerated beyond the number of armed timers before a sweep.
const SWEEP_SLACK: usize = 64;

#[derive(Default)]
pub(crate) struct TimerQueue {
    buckets: BTreeMap<Instant, Bucket>,
    /// The generation of each slot, apart from the slots themselves: the check a woken `Sleep`
    /// makes ("has my timer fired?") reads only this dense array.
    generations: Vec<u32>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    armed: usize,
    /// Entries in buckets whose timer was disarmed.
    stale: usize,
    /// Emptied entry vectors, kept for the next buckets.
    spare: Vec<Vec<(u32, u32)>>,
}

#[derive(Default)]
struct Bucket {
    /// How many entries are still armed.
    live: usize,
    /// Slot index and generation of each timer armed for this deadline, in arming order.
    entries: Vec<(u32, u32)>,
}

struct Slot {
    deadline: Option<Instant>,
    waker: Option<Waker>,
}

impl TimerQueue {
    pub(crate) fn add(&mut self, deadline: Instant, waker: Waker) -> TimerId {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    deadline: None,
                    waker: None,
                });
                self.generations.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.waker = Some(waker);
        slot.deadline = Some(deadline);
        let generation = self.generations[index as usize];
        let spare = &mut self.spare;
        let bucket = self.buckets.entry(deadline).or_insert_with(|| Bucket {
            live: 0,
            entries: spare.pop().unwrap_or_default(),
        });
        bucket.live += 1;
        bucket.entries.push((index, generation));
        self.armed += 1;
        TimerId::new(u64::from(generation) << 32 | u64::from(index))
    }

    pub(crate) fn remove(&mut self, timer: TimerId) -> Option<Waker> {
        let index = (timer.get() & u64::from(u32::MAX)) as u32;
        let generation = (timer.get() >> 32) as u32;
        if self.generations.get(index as usize) != Some(&generation) {
            return None;
        }
        let deadline = self.slots[index as usize].deadline?;
        let (waker, _) = self.release(index);
        if let Some(bucket) = self.buckets.get_mut(&deadline) {
            // The entry stays behind, stale; an emptied bucket is dropped when it reaches the
            // front or at the next sweep, so arming and disarming in a loop does not churn the
            // map.
            bucket.live -= 1;
            self.stale += 1;
        }
        if self.stale > self.armed + SWEEP_SLACK {
            self.sweep();
        }
        waker
    }

    /// The earliest armed deadline. Emptied buckets at the front are dropped on the way.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(entry) = self.buckets.first_entry() {
            if entry.get().live > 0 {
                return Some(*entry.key());
            }
            let bucket = entry.remove();
            self.stale -= bucket.entries.len();
            self.recycle(bucket.entries);
        }
        None
    }

    /// Moves the wakers of every timer due at `now` into `due`, earliest first.
    pub(crate) fn take_due(&mut self, now: Instant, due: &mut Vec<Waker>) {
        while let Some(entry) = self.buckets.first_entry() {
            if *entry.key() > now {
                break;
            }
            let bucket = entry.remove();
            for &(index, generation) in &bucket.entries {
                if self.generations[index as usize] == generation {
                    due.extend(self.release(index).0);
                } else {
                    self.stale -= 1;
                }
            }
            self.recycle(bucket.entries);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.armed == 0
    }

    pub(crate) fn clear(&mut self) -> Vec<Waker> {
        self.buckets.clear();
        self.free.clear();
        self.generations.clear();
        self.armed = 0;
        self.stale = 0;
        self.slots.drain(..).filter_map(|slot| slot.waker).collect()
    }

    /// Frees a slot; returns its waker and deadline.
    fn release(&mut self, index: u32) -> (Option<Waker>, Option<Instant>) {
        let generation = &mut self.generations[index as usize];
        *generation = generation.wrapping_add(1);
        let slot = &mut self.slots[index as usize];
        self.free.push(index);
        self.armed -= 1;
        (slot.waker.take(), slot.deadline.take())
    }

    fn recycle(&mut self, mut entries: Vec<(u32, u32)>) {
        if self.spare.len() < 64 {
            entries.clear();
            self.spare.push(entries);
        }
    }

    /// Drops every stale entry and every emptied bucket.
    fn sweep(&mut self) {
        let generations = &self.generations;
        let spare = &mut self.spare;
        self.buckets.retain(|_, bucket| {
            if bucket.live == 0 {
                if spare.len() < 64 {
                    let mut entries = std::mem::take(&mut bucket.entries);
                    entries.clear();
                    spare.push(entries);
                }
                return false;
            }
            bucket
                .entries
                .retain(|&(index, generation)| generations[index as usize] == generation);
            true
        });
        self.stale = 0;
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
        assert!(queue.buckets.len() <= 1, "emptied buckets are swept");
        assert_eq!(
            queue.next_deadline(),
            None,
            "and never reported as a deadline"
        );
        assert!(queue.buckets.is_empty());
        assert_eq!(queue.slots.len(), 1, "one slot is reused throughout");
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
        let kept: usize = queue.buckets.values().map(|b| b.entries.len()).sum();
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
