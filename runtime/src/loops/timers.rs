//! The timer queue both shipped loops use: a binary heap of deadlines over a generational arena.
//!
//! Arming pushes onto the heap, O(log n). Disarming frees the arena slot in O(1) and leaves the
//! heap entry behind; stale entries are skipped when they reach the top and swept out whenever
//! they outnumber the armed timers (asyncio does the same with its cancelled `TimerHandle`s).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;
use std::time::Instant;

use crate::event_loop::TimerId;

/// Stale heap entries tolerated beyond the number of armed timers before a sweep.
const SWEEP_SLACK: usize = 64;

#[derive(Default)]
pub(crate) struct TimerQueue {
    /// Ordered by deadline, then by arming order, so equal deadlines fire first-armed first.
    heap: BinaryHeap<Reverse<(Instant, u64, u32, u32)>>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    armed: usize,
    sequence: u64,
}

struct Slot {
    generation: u32,
    waker: Option<Waker>,
}

impl TimerQueue {
    pub(crate) fn add(&mut self, deadline: Instant, waker: Waker) -> TimerId {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    waker: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.waker = Some(waker);
        let generation = slot.generation;
        self.sequence += 1;
        self.heap
            .push(Reverse((deadline, self.sequence, index, generation)));
        self.armed += 1;
        TimerId::new(u64::from(generation) << 32 | u64::from(index))
    }

    pub(crate) fn remove(&mut self, timer: TimerId) -> Option<Waker> {
        let (index, generation) = (
            (timer.get() & u64::from(u32::MAX)) as u32,
            (timer.get() >> 32) as u32,
        );
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation != generation || slot.waker.is_none() {
            return None;
        }
        let waker = self.release(index);
        if self.heap.len() > 2 * self.armed + SWEEP_SLACK {
            let slots = &self.slots;
            self.heap.retain(|Reverse((_, _, index, generation))| {
                slots[*index as usize].generation == *generation
            });
        }
        waker
    }

    /// The earliest armed deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((deadline, _, index, generation))) = self.heap.peek() {
            if self.slots[*index as usize].generation == *generation {
                return Some(*deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Moves the wakers of every timer due at `now` into `due`, earliest first.
    pub(crate) fn take_due(&mut self, now: Instant, due: &mut Vec<Waker>) {
        while let Some(deadline) = self.next_deadline() {
            if deadline > now {
                break;
            }
            let Some(Reverse((_, _, index, _))) = self.heap.pop() else {
                break;
            };
            due.extend(self.release(index));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.armed == 0
    }

    pub(crate) fn clear(&mut self) -> Vec<Waker> {
        self.heap.clear();
        self.free.clear();
        self.armed = 0;
        self.slots.drain(..).filter_map(|slot| slot.waker).collect()
    }

    fn release(&mut self, index: u32) -> Option<Waker> {
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.armed -= 1;
        slot.waker.take()
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
    fn stale_heap_entries_are_swept() {
        let mut queue = TimerQueue::default();
        let base = Instant::now();
        for _ in 0..10_000 {
            let (_, waker) = counter();
            let id = queue.add(base + Duration::from_secs(3600), waker);
            queue.remove(id);
        }
        assert!(
            queue.heap.len() <= SWEEP_SLACK + 1,
            "heap kept {} stale entries",
            queue.heap.len()
        );
        assert_eq!(queue.slots.len(), 1, "one slot is reused throughout");
    }
}
