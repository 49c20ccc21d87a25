//! The task record: the per-task state shared by the task's future, its handle and its wakers,
//! and the messages a task's loop gets from other threads. Layer 1 (the record): uses only the
//! rest of `record` (ids, `TaskRef`, reports, the mailbox, the task allocation).

use std::backtrace::Backtrace;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Waker;

use once_cell::race::OnceBox;

use super::id::TaskId;
use super::mailbox::Mailbox;
use super::raw_task;
use super::report::Report;
use super::task_ref::{GivenName, TaskRef};

/// A scheduled poll of a corun task.
pub(crate) type RawRunnable = raw_task::RawRunnable<Header>;

/// The handle's side of a corun task.
pub(crate) type RawTask<T> = raw_task::RawTask<T, Header>;

/// The part of a loop other threads reach: its mailbox of [`Remote`] messages.
pub(crate) type Shared = Mailbox<Remote>;

/// What another thread can send to a loop.
pub(crate) enum Remote {
    /// A task spawned from another thread (`Handle::spawn`).
    Run(RawRunnable),
    /// A task woken from another thread: the loop wakes it again on its own thread.
    Wake(Waker),
    /// A task's handle awaited on another thread while the task runs: the loop wakes `waker` at
    /// the task's completion, or at once if it completed meanwhile.
    Await {
        task: raw_task::Watch<Header>,
        waker: Waker,
    },
    /// The main task woken from another thread.
    RunMain,
    /// `Task::cancel` called from another thread: the task's id, and its registry key as that
    /// thread saw it (see `Header::send_cancel`).
    Cancel { id: TaskId, slot: Option<u32> },
    /// A report raised on another thread (a task's panic dropped there unretrieved).
    Report(Report),
}

/// Set when a cancellation reached a task that was listening on `cancelled()`: from then on the
/// task finishes on its own and is only dropped when the shutdown grace runs out.
pub(crate) const COOPERATIVE: u8 = 1 << 0;
/// Set when the task's future was polled at least once.
pub(crate) const POLLED: u8 = 1 << 1;
/// Set when the task's future has completed, panicked or been dropped.
pub(crate) const FINISHED: u8 = 1 << 2;
/// Set for tasks made by `Handle::spawn`, whose futures are `Send` and may be dropped anywhere.
pub(crate) const SEND: u8 = 1 << 3;
/// Set when a cancellable `TaskRef` was taken of the task (`current_task`): the loop keeps a
/// control for it, which the task's polls read. Without it a poll does not look for one.
pub(crate) const CONTROLLED: u8 = 1 << 4;
/// Set at creation for a main task with the default name, `main`, which then needs no `extra`.
pub(crate) const MAIN: u8 = 1 << 5;

/// `slot` before a poll left the task pending and registered it with its loop (a task done in
/// its first poll never is), and after it finished.
const UNREGISTERED: u32 = u32::MAX;

/// Everything about a task that outlives a single poll.
///
/// It lives inside the task's allocation (`record::raw_task`), which hands it to every poll of the
/// task's body and to the handle; a task group's child keeps one in its own record. It is kept
/// to 40 bytes (a test checks), since every idle task pays for each of them; what few tasks need
/// (a name, a spawn backtrace) sits behind one pointer.
pub(crate) struct Header {
    id: TaskId,
    pub(crate) location: &'static Location<'static>,
    /// The name given at spawn and, in debug mode, the spawning stack, set at spawn; else made
    /// when something first asks for the task's name (`Task-N`). Empty for most tasks. Kept
    /// here rather than in the handles, whose `name` borrows it: a `Task` is then two words
    /// instead of five, which spawn + join (1,000 handles held at once) pays in cache misses,
    /// 55 -> 46 ns a task (BENCHMARKS.md, round 6).
    extra: OnceBox<Extra>,
    /// The loop the task belongs to, for wakes and reports that come from other threads.
    pub(crate) shared: Arc<Shared>,
    /// The task's key in its loop's registry of live tasks, while registered.
    slot: AtomicU32,
    /// The flags below: written by the loop's thread only (or, once the loop has closed, by the
    /// one thread that drops the task's runnable), so setting one is a load and a store, not a
    /// locked read-modify-write. Read from any thread.
    state: AtomicU8,
    /// Set by `Task::cancel` (or a signal for the main task), from any thread. Never cleared.
    cancel_requested: AtomicBool,
}

/// The part of a header that only some tasks have.
struct Extra {
    name: Option<Arc<str>>,
    /// Debug mode: the stack that spawned the task, shown with reports about it.
    spawn_backtrace: Option<Arc<Backtrace>>,
    /// `Task-N`, made on the first call to `name` when no name was given.
    default_name: OnceLock<Box<str>>,
}

impl Extra {
    fn new(name: Option<Arc<str>>, spawn_backtrace: Option<Arc<Backtrace>>) -> Box<Self> {
        Box::new(Extra {
            name,
            spawn_backtrace,
            default_name: OnceLock::new(),
        })
    }
}

impl Header {
    /// A header for a task of the loop behind `shared`. With `backtrace` (debug mode) the
    /// calling stack is captured as where the task was spawned, which costs microseconds.
    pub(crate) fn new(
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
        shared: Arc<Shared>,
        flags: u8,
        backtrace: bool,
    ) -> Self {
        let extra = if name.is_some() || backtrace {
            let spawn_backtrace = backtrace.then(|| Arc::new(Backtrace::force_capture()));
            OnceBox::with_value(Extra::new(name, spawn_backtrace))
        } else {
            OnceBox::new()
        };
        Header {
            id: TaskId::next(),
            location,
            extra,
            shared,
            slot: AtomicU32::new(UNREGISTERED),
            state: AtomicU8::new(flags),
            cancel_requested: AtomicBool::new(false),
        }
    }

    pub(crate) fn id(&self) -> TaskId {
        self.id
    }

    /// The name given at spawn, if any, or main's default one.
    fn given_name(&self) -> Option<GivenName> {
        if self.has(MAIN) {
            return Some(GivenName::Main);
        }
        let name = self.extra.get()?.name.as_ref()?;
        Some(GivenName::Chosen(name.clone()))
    }

    /// The task's name: the one given at spawn (or main's), else `Task-N`, made on the first
    /// call (from any thread: should two race, one's string is dropped) and kept with the task.
    pub(crate) fn name(&self) -> &str {
        if self.has(MAIN) {
            return GivenName::Main.as_str();
        }
        let extra = self.extra.get_or_init(|| Extra::new(None, None));
        match &extra.name {
            Some(name) => name,
            None => extra
                .default_name
                .get_or_init(|| self.id.default_name().into_boxed_str()),
        }
    }

    pub(crate) fn spawn_backtrace(&self) -> Option<&Arc<Backtrace>> {
        self.extra.get()?.spawn_backtrace.as_ref()
    }

    /// A reference to this task that outlives it, for `current_task` and reports.
    pub(crate) fn task_ref(&self) -> TaskRef {
        TaskRef {
            id: self.id,
            location: self.location,
            given_name: self.given_name(),
            default_name: OnceLock::new(),
            spawn_backtrace: self.spawn_backtrace().cloned(),
            control: None,
        }
    }

    #[inline]
    pub(crate) fn has(&self, flag: u8) -> bool {
        self.state.load(Ordering::Acquire) & flag != 0
    }

    /// Sets `flag`, on the loop's thread (see `state`). A load and a store: finishing a task
    /// costs no locked instruction here.
    #[inline]
    pub(crate) fn set(&self, flag: u8) {
        let flags = self.state.load(Ordering::Relaxed);
        self.state.store(flags | flag, Ordering::Release);
    }

    /// Whether `Task::cancel` (or a signal, for main) asked the task to cancel.
    #[inline]
    pub(crate) fn cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::Acquire)
    }

    /// Asks the task to cancel, from any thread; returns whether it had been asked already.
    pub(crate) fn request_cancel(&self) -> bool {
        self.cancel_requested.swap(true, Ordering::AcqRel)
    }

    #[inline]
    pub(crate) fn slot(&self) -> Option<u32> {
        match self.slot.load(Ordering::Acquire) {
            UNREGISTERED => None,
            slot => Some(slot),
        }
    }

    /// Records the task's registry key, once a poll left the task pending. The fence pairs with
    /// the one in `send_cancel`: either the check that follows (`Context::register_task`) sees a
    /// cancellation requested from another thread, or that thread sees the key and wakes the task
    /// through the loop.
    pub(crate) fn register(&self, slot: u32) {
        debug_assert_ne!(slot, UNREGISTERED);
        self.slot.store(slot, Ordering::Release);
        fence(Ordering::SeqCst);
    }

    /// Forgets the registry key once the task's future is gone; returns it if it was set.
    /// Only the loop's thread writes the key, so a task never registered (one done in its first
    /// poll) is told by a plain load, without the swap's locked instruction.
    pub(crate) fn unregister(&self) -> Option<u32> {
        self.slot()?;
        match self.slot.swap(UNREGISTERED, Ordering::AcqRel) {
            UNREGISTERED => None,
            slot => Some(slot),
        }
    }

    /// Asks the task's loop, from another thread, to wake the task so that it sees the
    /// cancellation request (made by the caller first, `request_cancel`). The loop wakes the task when it drains its
    /// remote queue; a closed loop has no live tasks left to wake. The key read here may be stale
    /// by the time the loop uses it (the task finished and another took its key): the other task
    /// then gets one spurious wake, which futures allow. A task not registered yet sees the
    /// request at its next poll, or wakes itself for it when it registers (see `register`).
    pub(crate) fn send_cancel(&self) {
        fence(Ordering::SeqCst);
        let message = Remote::Cancel {
            id: self.id,
            slot: self.slot(),
        };
        drop(self.shared.send(message));
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.task_ref(), f)
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::Header;

    /// Every idle task pays for its header: the heap bench's figure against tokio depends on it
    /// staying at five words.
    #[test]
    fn header_fits_in_five_words() {
        assert!(size_of::<Header>() <= 5 * size_of::<usize>());
    }
}
