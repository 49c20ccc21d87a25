//! The tasks listening on `cancelled()`: how many `cancelled()` futures each has alive and the
//! waker of the latest poll. Layer 3 (the context): uses only `record::id`.
//!
//! Kept by the context rather than in every task's header, since few tasks listen and every
//! wake of a listener happens on the loop's thread. The context's methods that use these
//! (`Context::add_listener` and the rest) never hold a borrow while a waker runs or drops.

use std::task::Waker;

use crate::record::id::TaskId;

/// A task's listening `cancelled()` futures.
pub(crate) struct Listening {
    id: TaskId,
    count: usize,
    waker: Option<Waker>,
}

/// The tasks listening on `cancelled()`, sorted by id. Few tasks listen, so a sorted vector
/// (found by binary search) does what a hash map would, without a hasher and a table's code in
/// every build; task ids count up, so a new listener is usually pushed at the end.
#[derive(Default)]
pub(crate) struct Listeners {
    by_id: Vec<Listening>,
}

impl Listeners {
    /// Where task `id` is, or would be inserted.
    fn find(&self, id: TaskId) -> Result<usize, usize> {
        self.by_id
            .binary_search_by(|listening| listening.id.cmp(&id))
    }

    fn get(&self, id: TaskId) -> Option<&Listening> {
        let at = self.find(id).ok()?;
        Some(&self.by_id[at])
    }

    fn get_mut(&mut self, id: TaskId) -> Option<&mut Listening> {
        let at = self.find(id).ok()?;
        Some(&mut self.by_id[at])
    }

    /// Forgets task `id`; gives back what it had.
    pub(crate) fn remove(&mut self, id: TaskId) -> Option<Listening> {
        let at = self.find(id).ok()?;
        Some(self.by_id.remove(at))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// One more `cancelled()` future of task `id` listens.
    pub(crate) fn add(&mut self, id: TaskId) {
        match self.find(id) {
            Ok(at) => self.by_id[at].count += 1,
            Err(at) => self.by_id.insert(
                at,
                Listening {
                    id,
                    count: 1,
                    waker: None,
                },
            ),
        }
    }

    /// Keeps `waker` as task `id`'s; gives back the one it replaces, to be dropped after the
    /// caller's borrow ends.
    pub(crate) fn set_waker(&mut self, id: TaskId, waker: &Waker) -> Option<Waker> {
        let listening = self.get_mut(id)?;
        if listening.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return None;
        }
        listening.waker.replace(waker.clone())
    }

    /// One `cancelled()` future of task `id` went away; gives back what the last one held.
    pub(crate) fn release(&mut self, id: TaskId) -> Option<Listening> {
        let listening = self.get_mut(id)?;
        if listening.count > 1 {
            listening.count -= 1;
            return None;
        }
        self.remove(id)
    }

    pub(crate) fn contains(&self, id: TaskId) -> bool {
        self.get(id).is_some()
    }

    /// The waker of task `id`'s latest listening poll.
    pub(crate) fn waker(&self, id: TaskId) -> Option<Waker> {
        self.get(id)?.waker.clone()
    }

    /// The wakers of every listening task.
    pub(crate) fn wakers(&self) -> impl Iterator<Item = &Waker> {
        self.by_id
            .iter()
            .filter_map(|listening| listening.waker.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::Listeners;
    use crate::record::id::TaskId;

    #[test]
    fn listeners_are_found_whatever_order_they_came_in() {
        let ids: Vec<TaskId> = (0..5).map(|_| TaskId::next()).collect();
        let mut listeners = Listeners::default();
        for &i in &[3, 0, 4, 1] {
            listeners.add(ids[i]);
        }
        assert!(!listeners.contains(ids[2]));
        for &i in &[0, 1, 3, 4] {
            assert_eq!(listeners.get(ids[i]).map(|l| l.id), Some(ids[i]));
        }
        assert_eq!(listeners.remove(ids[1]).map(|l| l.id), Some(ids[1]));
        assert!(listeners.remove(ids[1]).is_none(), "removed once");
        let left: Vec<TaskId> = listeners.by_id.iter().map(|l| l.id).collect();
        assert_eq!(left, [ids[0], ids[3], ids[4]]);
    }

    #[test]
    fn a_task_listens_until_its_last_cancelled_future_goes_away() {
        let id = TaskId::next();
        let mut listeners = Listeners::default();
        listeners.add(id);
        listeners.add(id);
        assert!(listeners.set_waker(id, Waker::noop()).is_none());
        assert!(listeners.waker(id).is_some());
        assert!(
            listeners.release(id).is_none(),
            "one future is still listening"
        );
        assert!(listeners.contains(id));
        assert!(listeners.release(id).is_some());
        assert!(!listeners.contains(id));
        assert!(listeners.is_empty());
    }
}
