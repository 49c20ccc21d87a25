//! The tasks that called `cancelled()`: one [`Listener`] each, shared (`Arc`) by the context and
//! the task's `cancelled()` futures, which may be awaited anywhere (in another task, in a tokio
//! task, on another thread). Layer 3 (the context): uses only `record::id`.
//!
//! Kept by the context rather than in every task's header, since few tasks listen. A listener's
//! state is atomics and a mutex, so a future polled or dropped on any thread touches only it;
//! the table of listeners is the context's, touched on the loop's thread only. The context's
//! methods that use these never hold a borrow (or the mutex) while a waker runs or drops.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use crate::record::id::TaskId;

/// What a task's `cancelled()` futures share, wherever they are polled: whether the task was
/// asked to cancel, how many of them are being awaited, and their wakers.
pub(crate) struct Listener {
    pub(crate) id: TaskId,
    /// The task was asked to cancel, or its run is ending. Never cleared.
    requested: AtomicBool,
    /// How many of the task's `cancelled()` futures have been polled and are still alive: while
    /// there is one, the task is listening.
    awaiting: AtomicUsize,
    /// The request reached the task while it was listening: it stays cooperative even once the
    /// future that heard it has completed and gone (in another task, say), as it would have if
    /// it had heard it itself.
    heard: AtomicBool,
    /// The latest waker of each polled future, by the key the future got at its first poll.
    wakers: Mutex<ListenerWakers>,
}

/// A listener's wakers, under keys reused once their future is gone.
#[derive(Default)]
struct ListenerWakers {
    by_key: Vec<Option<Waker>>,
    free: Vec<usize>,
    /// For a child of a task group: the waker that has its group poll it, woken by a request
    /// like the others, without making the task count as listening.
    watcher: Option<Waker>,
}

impl Listener {
    fn new(id: TaskId) -> Self {
        Listener {
            id,
            requested: AtomicBool::new(false),
            awaiting: AtomicUsize::new(0),
            heard: AtomicBool::new(false),
            wakers: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ListenerWakers> {
        // Every critical section leaves the wakers consistent, even if a waker's clone panics.
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the task was asked to cancel.
    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// A future starts being awaited: it counts as listening from now on, and gets the key its
    /// waker is kept under.
    pub(crate) fn start_awaiting(&self) -> usize {
        self.awaiting.fetch_add(1, Ordering::AcqRel);
        let mut wakers = self.lock();
        match wakers.free.pop() {
            Some(key) => key,
            None => {
                wakers.by_key.push(None);
                wakers.by_key.len() - 1
            }
        }
    }

    /// Keeps the waker of the future under `key`'s latest poll.
    pub(crate) fn listen(&self, key: usize, waker: &Waker) {
        let mut wakers = self.lock();
        let Some(slot) = wakers.by_key.get_mut(key) else {
            return;
        };
        if !slot.as_ref().is_some_and(|known| known.will_wake(waker)) {
            let old = slot.replace(waker.clone());
            drop(wakers);
            drop(old);
        }
    }

    /// The future under `key` went away.
    pub(crate) fn stop_awaiting(&self, key: usize) {
        let old = {
            let mut wakers = self.lock();
            wakers.free.push(key);
            wakers.by_key.get_mut(key).and_then(Option::take)
        };
        drop(old);
        self.awaiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// Has `waker` woken too when the task is asked to cancel, without the task counting as
    /// listening (a task group watches its children's `TaskRef` requests this way).
    pub(crate) fn watch(&self, waker: &Waker) {
        let old = self.lock().watcher.replace(waker.clone());
        drop(old);
    }

    /// Whether the task is listening: a future of it is awaited, or one was when the request
    /// came.
    pub(crate) fn is_awaited(&self) -> bool {
        self.awaiting.load(Ordering::Acquire) > 0 || self.heard.load(Ordering::Acquire)
    }

    /// Marks the task asked to cancel.
    pub(crate) fn mark_requested(&self) {
        self.requested.store(true, Ordering::Release);
    }

    /// Marks the task asked to cancel and adds the wakers of its futures to `wakers`, to be
    /// woken once no lock is held.
    pub(crate) fn request(&self, wakers: &mut Vec<Waker>) {
        self.mark_requested();
        if self.awaiting.load(Ordering::Acquire) > 0 {
            self.heard.store(true, Ordering::Release);
        }
        let listening = self.lock();
        wakers.extend(listening.by_key.iter().flatten().cloned());
        wakers.extend(listening.watcher.clone());
    }
}

/// The tasks that called `cancelled()`, sorted by id. Few tasks listen, so a sorted vector
/// (found by binary search) does what a hash map would, without a hasher and a table's code in
/// every build; task ids count up, so a new listener is usually pushed at the end.
#[derive(Default)]
pub(crate) struct Listeners {
    by_id: Vec<Arc<Listener>>,
}

impl Listeners {
    /// Where task `id` is, or would be inserted.
    fn find(&self, id: TaskId) -> Result<usize, usize> {
        self.by_id.binary_search_by(|listener| listener.id.cmp(&id))
    }

    pub(crate) fn get(&self, id: TaskId) -> Option<&Arc<Listener>> {
        let at = self.find(id).ok()?;
        Some(&self.by_id[at])
    }

    /// Task `id`'s listener, made if it has none yet.
    pub(crate) fn get_or_add(&mut self, id: TaskId) -> Arc<Listener> {
        match self.find(id) {
            Ok(at) => self.by_id[at].clone(),
            Err(at) => {
                let listener = Arc::new(Listener::new(id));
                self.by_id.insert(at, listener.clone());
                listener
            }
        }
    }

    /// Forgets task `id`; gives back its listener.
    pub(crate) fn remove(&mut self, id: TaskId) -> Option<Arc<Listener>> {
        let at = self.find(id).ok()?;
        Some(self.by_id.remove(at))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every task's listener.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Listener>> {
        self.by_id.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::{Listener, Listeners};
    use crate::record::id::TaskId;

    #[test]
    fn listeners_are_found_whatever_order_they_came_in() {
        let ids: Vec<TaskId> = (0..5).map(|_| TaskId::next()).collect();
        let mut listeners = Listeners::default();
        for &i in &[3, 0, 4, 1] {
            listeners.get_or_add(ids[i]);
        }
        assert!(listeners.get(ids[2]).is_none());
        for &i in &[0, 1, 3, 4] {
            assert_eq!(listeners.get(ids[i]).map(|l| l.id), Some(ids[i]));
        }
        assert_eq!(listeners.remove(ids[1]).map(|l| l.id), Some(ids[1]));
        assert!(listeners.remove(ids[1]).is_none(), "removed once");
        let left: Vec<TaskId> = listeners.iter().map(|l| l.id).collect();
        assert_eq!(left, [ids[0], ids[3], ids[4]]);
    }

    #[test]
    fn a_listener_counts_awaiting_futures_and_reuses_their_keys() {
        let listener = Listener::new(TaskId::next());
        assert!(!listener.is_awaited());
        let first = listener.start_awaiting();
        let second = listener.start_awaiting();
        assert_ne!(first, second);
        listener.listen(first, Waker::noop());
        listener.stop_awaiting(first);
        assert!(listener.is_awaited(), "the second future still awaits");
        assert_eq!(listener.start_awaiting(), first, "the freed key is reused");
        let mut wakers = Vec::new();
        listener.request(&mut wakers);
        assert!(listener.is_requested());
        assert!(
            wakers.is_empty(),
            "no future registered a waker after its key was reused"
        );
    }

    #[test]
    fn a_request_heard_while_listening_keeps_the_task_listening() {
        let listener = Listener::new(TaskId::next());
        let key = listener.start_awaiting();
        listener.request(&mut Vec::new());
        listener.stop_awaiting(key);
        assert!(listener.is_awaited(), "it heard the request while awaited");
        let unheard = Listener::new(TaskId::next());
        unheard.request(&mut Vec::new());
        assert!(!unheard.is_awaited(), "nobody was awaiting when it came");
    }
}
