//! The running loop's context: what tasks, timers and reports reach through a thread-local while
//! a run is under way, and the part of it other threads may touch ([`Shared`]).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Duration;

use crate::event_loop::{EventLoop, Park, Runnable};
use crate::report::{self, Report, ReportKind};
use crate::task::{Control, Header, RawRunnable, TaskId, TaskRef, CANCEL_REQUESTED, COOPERATIVE};
use crate::threads::Threads;

/// The most runnables one turn runs before the loop looks at timers and other threads again.
/// The ready queue is FIFO (the main task takes its place in it too), so a task that wakes
/// itself goes to the back and cannot starve other tasks; the budget keeps it from starving
/// timers and other threads.
pub(crate) const BUDGET: usize = 128;

thread_local! {
    /// The context of the loop running on this thread, if any.
    ///
    /// `ManuallyDrop` gives the slot no destructor, so it is never torn down at thread exit and
    /// stays usable from other thread-locals' destructors (a `Runner` kept in a thread-local is
    /// closed from one). Nothing is lost by not dropping it: the slot holds a context only
    /// while a run (or a close) is under way on the thread, and `EnterGuard` empties it after.
    static CONTEXT: ManuallyDrop<RefCell<Option<Rc<Context>>>> =
        const { ManuallyDrop::new(RefCell::new(None)) };
}

/// What another thread can send to a loop.
pub(crate) enum Remote {
    /// A task woken (or spawned) from another thread.
    Run(RawRunnable),
    /// The main task woken from another thread.
    RunMain,
    /// `Task::cancel` called from another thread: the task's id, and its registry key as that
    /// thread saw it (see `Header::request_cancel`).
    Cancel { id: TaskId, slot: Option<u32> },
    /// A report raised on another thread (a task's panic dropped there unretrieved).
    Report(Report),
}

/// A task's listening `cancelled()` futures.
struct Listening {
    id: TaskId,
    count: usize,
    waker: Option<Waker>,
}

/// The tasks listening on `cancelled()`, sorted by id. Few tasks listen, so a sorted vector
/// (found by binary search) does what a hash map would, without a hasher and a table's code in
/// every build; task ids count up, so a new listener is usually pushed at the end.
#[derive(Default)]
struct Listeners {
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

    fn remove(&mut self, id: TaskId) -> Option<Listening> {
        let at = self.find(id).ok()?;
        Some(self.by_id.remove(at))
    }
}

/// The loop's live tasks: the waker of each, under a key that stays the task's until it ends
/// (`Header::slot`). Keys of ended tasks are reused, newest first.
#[derive(Default)]
struct Registry {
    wakers: Vec<Option<Waker>>,
    free: Vec<u32>,
    live: usize,
}

impl Registry {
    fn insert(&mut self, waker: Waker) -> u32 {
        self.live += 1;
        if let Some(slot) = self.free.pop() {
            self.wakers[slot as usize] = Some(waker);
            return slot;
        }
        let slot = u32::try_from(self.wakers.len())
            .ok()
            .filter(|&slot| slot < u32::MAX)
            .expect("a loop holds fewer than 2^32 - 1 live tasks");
        self.wakers.push(Some(waker));
        slot
    }

    fn remove(&mut self, slot: u32) -> Option<Waker> {
        let waker = self.wakers.get_mut(slot as usize)?.take()?;
        self.live -= 1;
        self.free.push(slot);
        Some(waker)
    }

    fn get(&self, slot: u32) -> Option<&Waker> {
        self.wakers.get(slot as usize)?.as_ref()
    }
}

/// The part of a loop that is `Send + Sync`: its remote queue and its unparker.
pub(crate) struct Shared {
    /// Unique in the process: tells loops apart without holding a reference to them.
    pub(crate) id: u64,
    remote: RemoteQueue,
    unparker: Waker,
}

/// What other threads send to a loop: a deque behind a mutex, with a lock-free count so that the
/// loop's turn looks at it without locking when it is empty (the usual case). Remote messages are
/// the rare path (wakes and spawns from other threads); the lock is held only to push, or to take
/// everything at once.
struct RemoteQueue {
    queue: Mutex<RemoteState>,
    len: AtomicUsize,
}

struct RemoteState {
    messages: VecDeque<Remote>,
    closed: bool,
}

impl RemoteQueue {
    fn new() -> Self {
        RemoteQueue {
            queue: Mutex::new(RemoteState {
                messages: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RemoteState> {
        // A panic while the lock is held (in a push) leaves the deque consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, message: Remote) -> Result<(), Remote> {
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

    /// Everything queued now, in order.
    fn take_all(&self) -> VecDeque<Remote> {
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

impl Shared {
    pub(crate) fn new(unparker: Waker) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote: RemoteQueue::new(),
            unparker,
        }
    }

    /// Queues `message` for the loop and unparks it; gives the message back if the loop closed.
    pub(crate) fn send(&self, message: Remote) -> Result<(), Remote> {
        self.remote.push(message)?;
        self.unparker.wake_by_ref();
        Ok(())
    }

    pub(crate) fn has_remote(&self) -> bool {
        !self.remote.is_empty()
    }

    fn close(&self) {
        self.remote.close();
    }
}

/// Everything about the running loop that its tasks reach through the thread-local.
pub(crate) struct Context {
    pub(crate) event_loop: Box<dyn EventLoop>,
    pub(crate) shared: Arc<Shared>,
    /// The loop owns every live task: each registers its waker here on its first poll.
    tasks: RefCell<Registry>,
    /// The header of the task being polled, lent by it for the duration of the poll (see
    /// `as_task`; read only through `with_current`).
    current: Cell<Option<NonNull<Header>>>,
    /// The run has ended: every task is to be cancelled, including ones spawned from now on.
    closing: Cell<bool>,
    /// The shutdown grace has run out: cooperative tasks are dropped too.
    forcing: Cell<bool>,
    /// How many runnables the runtime has queued on the loop and not yet taken back.
    queued: Cell<usize>,
    /// The tasks listening on `cancelled()`, by id: kept here rather than in every task's header,
    /// since few tasks listen and every wake of a listener happens on the loop's thread.
    listeners: RefCell<Listeners>,
    /// A run's main task is being driven: its turns in the ready queue are for `drive_main`.
    main_active: Cell<bool>,
    /// The main task of the current (or last) run, for `Runnable::task`.
    main: RefCell<Option<TaskRef>>,
    /// The waker of the main task being driven, for its control (see `control_for`).
    main_waker: RefCell<Option<Waker>>,
    pub(crate) debug: bool,
    /// Debug mode: a poll longer than this is reported. Set by `Runner::open`.
    pub(crate) slow_poll_threshold: Duration,
    /// Where the current (or last) run on this loop was started, for the nested-run panic.
    pub(crate) started_at: Cell<Option<&'static Location<'static>>>,
    handler: report::Handler,
    /// The controls of live tasks that a cancellable `TaskRef` was taken of, sorted by id (few
    /// tasks have one; see `task::Control`).
    controls: RefCell<Vec<(TaskId, Arc<Control>)>>,
    /// Task panics not yet retrieved nor reported, each with its report for the loop's close and
    /// the flag of whoever settles it first (see `task::Unretrieved`). Only unsettled ones stay.
    kept_panics: RefCell<Vec<(Arc<AtomicBool>, Report)>>,
    /// The loop's `to_thread` pool and its count of jobs in flight.
    pub(crate) threads: Threads,
}

impl Context {
    pub(crate) fn new(
        event_loop: Box<dyn EventLoop>,
        debug: bool,
        handler: report::Handler,
    ) -> Self {
        let shared = Arc::new(Shared::new(event_loop.unparker()));
        let threads = Threads::new(event_loop.unparker());
        Context {
            event_loop,
            shared,
            tasks: RefCell::default(),
            current: Cell::new(None),
            closing: Cell::new(false),
            forcing: Cell::new(false),
            queued: Cell::new(0),
            listeners: RefCell::default(),
            main_active: Cell::new(false),
            main: RefCell::new(None),
            main_waker: RefCell::new(None),
            debug,
            slow_poll_threshold: Duration::from_millis(100),
            started_at: Cell::new(None),
            handler,
            controls: RefCell::default(),
            kept_panics: RefCell::default(),
            threads,
        }
    }

    /// Queues work on the loop. Every runnable reaches the loop through here.
    #[inline]
    pub(crate) fn call_soon(&self, runnable: Runnable) {
        self.queued.set(self.queued.get() + 1);
        self.event_loop.call_soon(runnable);
    }

    /// Whether queued work is waiting for the next turn.
    #[inline]
    pub(crate) fn has_ready(&self) -> bool {
        self.queued.get() > 0
    }

    /// How many runnables are queued for the next turns.
    pub(crate) fn ready_count(&self) -> usize {
        self.queued.get()
    }

    pub(crate) fn register_task(&self, waker: &Waker) -> u32 {
        self.tasks.borrow_mut().insert(waker.clone())
    }

    pub(crate) fn deregister_task(&self, slot: u32) {
        let waker = self.tasks.borrow_mut().remove(slot);
        drop(waker);
    }

    pub(crate) fn live_tasks(&self) -> usize {
        self.tasks.borrow().live
    }

    /// A `cancelled()` future of task `id` started listening. This and the next two are
    /// `#[inline]`: only `cancelled()` calls them (see `cancel.rs`).
    #[inline]
    pub(crate) fn add_listener(&self, id: TaskId) {
        let mut listeners = self.listeners.borrow_mut();
        match listeners.find(id) {
            Ok(at) => listeners.by_id[at].count += 1,
            Err(at) => listeners.by_id.insert(
                at,
                Listening {
                    id,
                    count: 1,
                    waker: None,
                },
            ),
        }
    }

    /// Remembers the waker of a listening `cancelled()` future's latest poll.
    #[inline]
    pub(crate) fn listen(&self, id: TaskId, waker: &Waker) {
        let mut listeners = self.listeners.borrow_mut();
        let Some(listening) = listeners.get_mut(id) else {
            return;
        };
        if !listening.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            let old = listening.waker.replace(waker.clone());
            drop(listeners);
            drop(old);
        }
    }

    /// A `cancelled()` future of task `id` went away.
    #[inline]
    pub(crate) fn remove_listener(&self, id: TaskId) {
        let removed = {
            let mut listeners = self.listeners.borrow_mut();
            match listeners.get_mut(id) {
                Some(listening) if listening.count > 1 => {
                    listening.count -= 1;
                    None
                }
                Some(_) => listeners.remove(id),
                None => None,
            }
        };
        drop(removed);
    }

    /// Forgets task `id`'s listeners once its future is gone.
    pub(crate) fn forget_listeners(&self, id: TaskId) {
        if self.listeners.borrow().by_id.is_empty() {
            return;
        }
        let removed = self.listeners.borrow_mut().remove(id);
        drop(removed);
    }

    /// Whether task `id` has a `cancelled()` future alive.
    pub(crate) fn is_listening(&self, id: TaskId) -> bool {
        let listeners = self.listeners.borrow();
        !listeners.by_id.is_empty() && listeners.get(id).is_some()
    }

    /// Wakes task `id`'s listening `cancelled()` future, if any.
    fn wake_listener(&self, id: TaskId) {
        let listeners = self.listeners.borrow();
        if listeners.by_id.is_empty() {
            return;
        }
        let waker = listeners.get(id).and_then(|l| l.waker.clone());
        drop(listeners);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes a task (to let it see a cancellation): its listening `cancelled()` future, and the
    /// task itself once registered.
    pub(crate) fn wake_task(&self, header: &Header) {
        self.wake_task_at(header.id(), header.slot());
    }

    /// Wakes task `id`, registered under `slot` unless it was not polled yet: then it is queued,
    /// and its first poll sees the request.
    pub(crate) fn wake_task_at(&self, id: TaskId, slot: Option<u32>) {
        self.wake_listener(id);
        let waker = slot.and_then(|slot| self.tasks.borrow().get(slot).cloned());
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes every live task, so that each sees the shutdown at its next poll, and every
    /// listening `cancelled()` future.
    pub(crate) fn wake_all_tasks(&self) {
        // Plain loops into one vector rather than two `collect`s: less code to compile.
        let mut wakers = Vec::new();
        for listening in &self.listeners.borrow().by_id {
            if let Some(waker) = &listening.waker {
                wakers.push(waker.clone());
            }
        }
        for waker in self.tasks.borrow().wakers.iter().flatten() {
            wakers.push(waker.clone());
        }
        for waker in wakers {
            waker.wake();
        }
    }

    /// Whether the task must stop being polled: it was asked to cancel (or the run is ending)
    /// and it is not a cooperative task still within the grace period.
    #[inline]
    pub(crate) fn must_cancel(&self, header: &Header) -> bool {
        if !(self.closing.get() || header.has(CANCEL_REQUESTED)) {
            return false;
        }
        self.forcing.get() || !header.has(COOPERATIVE)
    }

    #[inline]
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.get()
    }

    #[inline]
    pub(crate) fn is_forcing(&self) -> bool {
        self.forcing.get()
    }

    pub(crate) fn start_closing(&self) {
        self.closing.set(true);
        self.wake_all_tasks();
    }

    pub(crate) fn start_forcing(&self) {
        self.forcing.set(true);
        self.wake_all_tasks();
    }

    /// Called when a task's future was dropped by cancellation.
    pub(crate) fn task_cancelled(&self, header: &Header) {
        if self.debug {
            crate::debug::report_cancelled(self, header);
        }
    }

    /// Runs `f` with `header` as the current task, lending it to the context meanwhile.
    #[inline]
    pub(crate) fn as_task<R>(&self, header: &Header, f: impl FnOnce() -> R) -> R {
        /// Puts the outer current task back, also if `f` unwinds.
        struct Restore<'c> {
            current: &'c Cell<Option<NonNull<Header>>>,
            outer: Option<NonNull<Header>>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.current.set(self.outer);
            }
        }
        let _restore = Restore {
            current: &self.current,
            outer: self.current.replace(Some(NonNull::from(header))),
        };
        f()
    }

    /// Calls `f` with the header of the task being polled, if a task is being polled.
    pub(crate) fn with_current<R>(&self, f: impl FnOnce(&Header) -> R) -> Option<R> {
        let header = self.current.get()?;
        // SAFETY: `current` is only ever set by `as_task`, to a pointer made from a `&Header`
        // that `as_task` borrows for its whole call, and `as_task`'s guard puts the previous
        // value back before it returns or unwinds. So a pointer in `current` always points to a
        // header that is borrowed by a frame still on this thread's stack (the context is
        // `!Send`), alive and not mutably borrowed: dereferencing it as shared is sound. The
        // reference given to `f` cannot outlive the call (`R` cannot name its lifetime).
        let header = unsafe { header.as_ref() };
        Some(f(header))
    }

    /// Hands a report to the exception handler. A handler that panics is not allowed to unwind
    /// through the loop: its panic is printed instead.
    pub(crate) fn report(&self, report: &Report) {
        if catch_unwind(AssertUnwindSafe(|| (self.handler)(report))).is_err() {
            eprintln!("corun: the exception handler panicked while handling: {report}");
        }
    }

    /// A reference to the task `header` that can cancel it (`TaskRef::cancel`): its control is
    /// made on first use and kept until the task ends.
    pub(crate) fn cancellable_ref(&self, header: &Header) -> TaskRef {
        TaskRef {
            control: Some(self.control_for(header.id(), header.slot())),
            ..header.task_ref()
        }
    }

    /// The control of live task `id` (registered under `slot`, if known), made on first use.
    /// Only tasks that a cancellable reference was taken of have one, so most polls find none.
    fn control_for(&self, id: TaskId, slot: Option<u32>) -> Arc<Control> {
        let control = {
            let mut controls = self.controls.borrow_mut();
            match controls.binary_search_by(|(other, _)| other.cmp(&id)) {
                Ok(at) => controls[at].1.clone(),
                Err(at) => {
                    let main = self.main_active.get()
                        && self
                            .main
                            .borrow()
                            .as_ref()
                            .is_some_and(|main| main.id == id);
                    let main_waker = if main {
                        self.main_waker.borrow().clone()
                    } else {
                        None
                    };
                    let control = Arc::new(Control::new(self.shared.clone(), main_waker));
                    controls.insert(at, (id, control.clone()));
                    control
                }
            }
        };
        control.set_slot(slot);
        control
    }

    /// At the start of a poll of task `header`: turns a cancellation asked for through a
    /// `TaskRef` into the header's own request. One branch when no task has a control.
    #[inline]
    pub(crate) fn apply_cancel_request(&self, header: &Header) {
        if self.controls.borrow().is_empty() {
            return;
        }
        let requested = {
            let controls = self.controls.borrow();
            let found = controls.binary_search_by(|(id, _)| id.cmp(&header.id()));
            found.is_ok_and(|at| controls[at].1.is_requested())
        };
        if requested && !header.has(CANCEL_REQUESTED) {
            header.set(CANCEL_REQUESTED);
            self.wake_listener(header.id());
        }
    }

    /// Task `id` ended: its control, if it had one, answers `false` to later requests.
    pub(crate) fn forget_control(&self, id: TaskId) {
        if self.controls.borrow().is_empty() {
            return;
        }
        let removed = {
            let mut controls = self.controls.borrow_mut();
            let found = controls.binary_search_by(|(other, _)| other.cmp(&id));
            found.ok().map(|at| controls.remove(at))
        };
        if let Some((_, control)) = removed {
            control.finish();
        }
    }

    /// Keeps an eye on a task's panic until it is settled (retrieved by the task's handle, or
    /// reported when the value holding it is dropped): the loop reports it with `report` when it
    /// closes if neither happened, so a leaked handle, or one kept past the run, loses nothing.
    pub(crate) fn keep_panic(&self, settled: Arc<AtomicBool>, report: Report) {
        let mut kept = self.kept_panics.borrow_mut();
        kept.retain(|(settled, _)| !settled.load(Ordering::Acquire));
        kept.push((settled, report));
    }

    /// As the loop closes: reports every task panic still unsettled, through the run's handler.
    pub(crate) fn report_kept_panics(&self) {
        let kept = std::mem::take(&mut *self.kept_panics.borrow_mut());
        for (settled, report) in kept {
            if !settled.swap(true, Ordering::AcqRel) {
                self.report(&report);
            }
        }
    }

    pub(crate) fn report_panic(
        &self,
        kind: ReportKind,
        header: &Header,
        payload: &(dyn Any + Send),
    ) {
        let message = report::panic_message(payload);
        self.report(&Report::for_task(kind, &header.task_ref(), message));
    }

    /// Moves what other threads sent into the loop: the messages queued on entry.
    pub(crate) fn drain_remote(&self) {
        for message in self.shared.remote.take_all() {
            match message {
                Remote::Run(runnable) => self.call_soon(Runnable::new(runnable)),
                Remote::RunMain => self.call_soon(Runnable::main()),
                Remote::Cancel { id, slot } => self.wake_task_at(id, slot),
                Remote::Report(report) => self.report(&report),
            }
        }
    }

    /// Takes in what other threads sent, then runs ready work in FIFO order while `budget`
    /// lasts. Returns `true` as soon as the main task's turn comes: the caller polls main and may
    /// call again with what is left of the budget. A turn of main queued by a waker that outlived
    /// its run (none is being driven) is skipped.
    pub(crate) fn run_ready(&self, budget: &mut usize) -> bool {
        self.drain_remote();
        while *budget > 0 {
            let Some(runnable) = self.event_loop.next_ready() else {
                self.queued.set(0);
                break;
            };
            self.queued.set(self.queued.get().saturating_sub(1));
            *budget -= 1;
            if runnable.run() && self.main_active.get() {
                return true;
            }
        }
        false
    }

    /// Starts driving a run's main task (`main` is its reference, kept after the end, and
    /// `waker` wakes its turn), or with `None` ends it.
    pub(crate) fn set_main(&self, main: Option<(TaskRef, Waker)>) {
        self.main_active.set(main.is_some());
        let (main, waker) = match main {
            Some((main, waker)) => (Some(main), Some(waker)),
            None => (None, None),
        };
        let previous_waker = self.main_waker.replace(waker);
        drop(previous_waker);
        if let Some(main) = main {
            let previous = self.main.replace(Some(main));
            drop(previous);
        }
    }

    /// The main task of the current (or last) run; while it is driven, a reference that can
    /// cancel it.
    pub(crate) fn main_task(&self) -> Option<TaskRef> {
        let main = self.main.borrow().clone()?;
        if !self.main_active.get() {
            return Some(main);
        }
        let control = self.control_for(main.id, None);
        Some(TaskRef {
            control: Some(control),
            ..main
        })
    }

    /// Parks the loop: without blocking if `busy` (more work may be ready), else until a timer
    /// or another thread wakes it; while `to_thread` work is in flight, without letting a virtual
    /// clock jump.
    pub(crate) fn park(&self, busy: bool) {
        let mode = if busy || self.shared.has_remote() {
            Park::Poll
        } else if self.threads.in_flight() > 0 {
            Park::Wait
        } else {
            Park::Idle
        };
        self.event_loop.park(mode);
    }

    /// Leaks every queued runnable instead of running or dropping it, and returns how many
    /// there were. Only for a shutdown stopped by a signal: dropping a task's future runs its
    /// destructors, which may spawn again, and the signal asked the run to stop now.
    pub(crate) fn abandon_ready(&self) -> usize {
        let mut abandoned = 0;
        while let Some(runnable) = self.event_loop.next_ready() {
            std::mem::forget(runnable);
            abandoned += 1;
        }
        self.queued.set(0);
        abandoned
    }

    /// Closes the remote queue and handles what was still in it.
    pub(crate) fn close_remote(&self) {
        self.shared.close();
        for message in self.shared.remote.take_all() {
            match message {
                Remote::Run(runnable) => self.call_soon(Runnable::new(runnable)),
                Remote::RunMain | Remote::Cancel { .. } => {}
                Remote::Report(report) => self.report(&report),
            }
        }
    }

    /// The instant `after` from now on the loop's clock, for grace periods. One past what
    /// `Instant` can hold is clamped to the latest instant there is: a virtual clock still jumps
    /// there, so a grace that cannot be represented ends instead of hanging the shutdown.
    pub(crate) fn deadline_after(&self, after: Duration) -> Option<std::time::Instant> {
        let now = self.event_loop.now();
        Some(
            now.checked_add(after)
                .unwrap_or_else(|| saturating_add(now, after)),
        )
    }
}

/// `start + by`, or the latest `Instant` there is if that overflows.
fn saturating_add(start: std::time::Instant, by: Duration) -> std::time::Instant {
    let (mut reached, mut step) = (start, by);
    // Each failed step halves; a step that fits leaves less than itself to go, so the next one
    // fails: about 2 * 94 additions at most (94 bits in a Duration).
    while !step.is_zero() {
        match reached.checked_add(step) {
            Some(later) => reached = later,
            None => step /= 2,
        }
    }
    reached
}

/// The context of the loop running on this thread.
#[inline]
pub(crate) fn current() -> Option<Rc<Context>> {
    CONTEXT
        .try_with(|slot| slot.borrow().clone())
        .ok()
        .flatten()
}

/// Whether a loop is running on this thread.
pub(crate) fn is_running() -> bool {
    CONTEXT
        .try_with(|slot| slot.borrow().is_some())
        .unwrap_or(false)
}

/// Installs `ctx` as this thread's running loop until the guard drops, restoring whatever was
/// there before (a `Runner` closed from inside another run lends its context this way).
pub(crate) fn enter(ctx: Rc<Context>) -> EnterGuard {
    let previous = CONTEXT.with(|slot| slot.borrow_mut().replace(ctx));
    EnterGuard { previous }
}

pub(crate) struct EnterGuard {
    previous: Option<Rc<Context>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // The replaced context is dropped after the slot's borrow ends: dropping it can run
        // arbitrary code, which may look at the slot.
        let ours = CONTEXT.try_with(|slot| std::mem::replace(&mut *slot.borrow_mut(), previous));
        drop(ours);
    }
}

/// Queues a runnable on its loop directly when that loop is running on this thread.
pub(crate) fn call_soon_local(runnable: RawRunnable) -> Result<(), RawRunnable> {
    match current() {
        Some(ctx) if Arc::ptr_eq(&ctx.shared, &runnable.metadata().shared) => {
            ctx.call_soon(Runnable::new(runnable));
            Ok(())
        }
        _ => Err(runnable),
    }
}

/// Delivers a report raised anywhere to the loop behind `shared`: at once if that loop runs on
/// this thread, through its remote queue otherwise, and to stderr if it has closed.
pub(crate) fn deliver(shared: &Arc<Shared>, report: Report) {
    if let Some(ctx) = current() {
        if Arc::ptr_eq(&ctx.shared, shared) {
            ctx.report(&report);
            return;
        }
    }
    if let Err(Remote::Report(report)) = shared.send(Remote::Report(report)) {
        report::default_handler(&report);
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::{Listeners, Listening, Registry};
    use crate::task::TaskId;

    #[test]
    fn listeners_are_found_whatever_order_they_came_in() {
        let ids: Vec<TaskId> = (0..5).map(|_| TaskId::next()).collect();
        let mut listeners = Listeners::default();
        for &i in &[3, 0, 4, 1] {
            let at = listeners.find(ids[i]).expect_err("not listening yet");
            let listening = Listening {
                id: ids[i],
                count: 1,
                waker: None,
            };
            listeners.by_id.insert(at, listening);
        }
        assert!(listeners.find(ids[2]).is_err());
        assert!(listeners.get_mut(ids[2]).is_none());
        for &i in &[0, 1, 3, 4] {
            assert_eq!(listeners.get_mut(ids[i]).map(|l| l.id), Some(ids[i]));
        }
        assert_eq!(listeners.remove(ids[1]).map(|l| l.id), Some(ids[1]));
        assert!(listeners.remove(ids[1]).is_none(), "removed once");
        let left: Vec<TaskId> = listeners.by_id.iter().map(|l| l.id).collect();
        assert_eq!(left, [ids[0], ids[3], ids[4]]);
    }

    #[test]
    fn registry_reuses_the_key_of_an_ended_task_and_counts_live_ones() {
        let mut registry = Registry::default();
        let a = registry.insert(Waker::noop().clone());
        let b = registry.insert(Waker::noop().clone());
        assert_ne!(a, b);
        assert_eq!(registry.live, 2);
        assert!(registry.remove(a).is_some());
        assert!(
            registry.get(a).is_none(),
            "an ended task's key wakes nothing"
        );
        assert!(registry.remove(a).is_none(), "a key is freed once");
        assert_eq!(registry.live, 1);
        assert_eq!(
            registry.insert(Waker::noop().clone()),
            a,
            "the freed key is reused"
        );
        assert_eq!(
            registry.insert(Waker::noop().clone()),
            2,
            "then the table grows"
        );
        assert_eq!(registry.live, 3);
        assert!(registry.get(b).is_some());
    }
}
