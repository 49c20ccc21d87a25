//! A loop's mailbox: what other threads send to a loop, and the waker that unparks it. Layer 1
//! (the record): imports nothing of the crate; it does not know what the messages are
//! (`record::header::Remote`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// The part of a loop that is `Send + Sync`: its id, its remote queue and its unparker.
pub(crate) struct Mailbox<M> {
    /// Unique in the process: tells loops apart without holding a reference to them.
    pub(crate) id: u64,
    remote: RemoteQueue<M>,
    unparker: Waker,
}

/// The next mailbox's id.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl<M> Mailbox<M> {
    pub(crate) fn new(unparker: Waker) -> Self {
        Mailbox {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote: RemoteQueue::new(),
            unparker,
        }
    }

    /// Makes this closed mailbox, held by the caller only, as [`new`](Self::new) makes one for
    /// the same unparker: a new id, open, empty. Keeps the unparker rather than cloning it again
    /// (a reference count up and down, two atomic operations of a `run()`; BENCHMARKS.md,
    /// "Cheaper `run()`").
    pub(crate) fn reopen(&mut self) {
        self.id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let state = self
            .remote
            .queue
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        state.closed = false;
        state.messages.clear();
        *self.remote.len.get_mut() = 0;
    }

    /// Queues `message` for the loop and unparks it; gives the message back if the loop closed.
    pub(crate) fn send(&self, message: M) -> Result<(), M> {
        self.remote.push(message)?;
        self.unparker.wake_by_ref();
        Ok(())
    }

    /// Whether messages are waiting, without locking.
    pub(crate) fn has_remote(&self) -> bool {
        !self.remote.is_empty()
    }

    /// Everything queued now, in order. Only the loop's thread takes messages.
    pub(crate) fn take_all(&self) -> VecDeque<M> {
        self.remote.take_all()
    }

    /// Refuses messages from now on (`send` gives them back).
    pub(crate) fn close(&self) {
        self.remote.close();
    }
}

/// What other threads send to a loop: a deque behind a mutex, with a lock-free count so that the
/// loop's turn looks at it without locking when it is empty (the usual case). Remote messages are
/// the rare path (wakes and spawns from other threads); the lock is held only to push, or to take
/// everything at once.
struct RemoteQueue<M> {
    queue: Mutex<RemoteState<M>>,
    len: AtomicUsize,
}

struct RemoteState<M> {
    messages: VecDeque<M>,
    closed: bool,
}

impl<M> RemoteQueue<M> {
    fn new() -> Self {
        RemoteQueue {
            queue: Mutex::new(RemoteState {
                messages: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RemoteState<M>> {
        // A panic while the lock is held (in a push) leaves the deque consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, message: M) -> Result<(), M> {
        let mut state = self.lock();
        if state.closed {
            return Err(message);
        }
        state.messages.push_back(message);
        self.len.fetch_add(1, Ordering::Release);
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    fn take_all(&self) -> VecDeque<M> {
        if self.is_empty() {
            return VecDeque::new();
        }
        let mut state = self.lock();
        self.len.store(0, Ordering::Release);
        std::mem::take(&mut state.messages)
    }

    fn close(&self) {
        self.lock().closed = true;
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::Mailbox;

    #[test]
    fn a_closed_mailbox_gives_messages_back_and_keeps_what_it_had() {
        let mailbox = Mailbox::new(Waker::noop().clone());
        assert!(!mailbox.has_remote());
        assert!(mailbox.send(1).is_ok());
        assert!(mailbox.has_remote());
        mailbox.close();
        assert_eq!(mailbox.send(2), Err(2));
        assert_eq!(Vec::from(mailbox.take_all()), [1]);
        assert!(!mailbox.has_remote());
    }

    #[test]
    fn a_reopened_mailbox_has_a_new_id_takes_messages_again_and_forgets_the_old_ones() {
        let mut mailbox = Mailbox::new(Waker::noop().clone());
        let first = mailbox.id;
        assert!(mailbox.send(1).is_ok());
        mailbox.close();
        mailbox.reopen();
        assert_ne!(mailbox.id, first);
        assert!(!mailbox.has_remote());
        assert!(mailbox.send(2).is_ok());
        assert_eq!(Vec::from(mailbox.take_all()), [2]);
    }
}
