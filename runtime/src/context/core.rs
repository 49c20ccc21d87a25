//! `Context`: everything about the running loop that its tasks reach (the loop itself, the
//! registry of live tasks, the `cancelled()` listeners, the closing and forcing flags, the
//! current task, the exception handler, the thread pool). Layer 3 (the context): uses the loop
//! layer, the record, the reports and `thread_pool`; never the task layer or the run.
//!
//! Its turn (running ready work, choosing how to park) is in `turn.rs`; how a thread finds it,
//! in `this_thread.rs`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use super::awaiters::Awaiters;
use super::listeners::{Listener, Listeners};
use super::registry::Registry;
use super::the_loop::TheLoop;
use crate::event_loop::{EventLoop, Runnable};
use crate::record::control::Control;
use crate::record::header::{Header, Shared, CONTROLLED, COOPERATIVE};
use crate::record::id::TaskId;
use crate::record::raw_task::TaskPtr;
use crate::record::report::{self, Report, ReportKind};
use crate::record::task_ref::TaskRef;
use crate::report_sink::{self, Handler};
use crate::thread_pool::Threads;

/// The main task being driven, for its control: made when `current_task` is first called in
/// main, as a spawned task's is (most runs never ask, and a control is an allocation per run).
struct MainControl {
    id: TaskId,
    /// Main's waker, which a control made for main wakes.
    waker: Waker,
    control: Option<Arc<Control>>,
}

/// A live spawned task with a control (see `controls`).
struct Controlled {
    id: TaskId,
    control: Arc<Control>,
    /// The task's registry key once it is registered: a control taken during the task's first
    /// poll (before it registers) wakes it through this (see `wake_task_at`).
    slot: Option<u32>,
}

/// Everything about the running loop that its tasks reach through the thread-local.
pub(crate) struct Context {
    pub(crate) event_loop: TheLoop,
    pub(crate) shared: Arc<Shared>,
    /// The loop owns every live task: each registers here once a poll leaves it pending (a task
    /// done in its first poll never does), until its body is dropped.
    tasks: RefCell<Registry<TaskPtr<Header>>>,
    /// The header of the task being polled, lent by it for the duration of the poll (see
    /// `as_task`; read only through `with_current`).
    current: Cell<Option<NonNull<Header>>>,
    /// The run has ended: every task is to be cancelled, including ones spawned from now on.
    closing: Cell<bool>,
    /// The shutdown grace has run out: cooperative tasks are dropped too.
    forcing: Cell<bool>,
    /// How many runnables the runtime has queued on the loop and not yet taken back.
    pub(super) queued: Cell<usize>,
    /// The tasks listening on `cancelled()`, by id.
    listeners: RefCell<Listeners>,
    /// A run's main task is being driven: its turns in the ready queue are for `drive_main`.
    pub(super) main_active: Cell<bool>,
    /// The main task of the current (or last) run, which its turns carry.
    main: RefCell<Option<Rc<TaskRef>>>,
    pub(crate) debug: bool,
    /// Debug mode: a poll longer than this is reported. Set by `Runner::open`.
    pub(crate) slow_poll_threshold: Duration,
    /// Where the current (or last) run on this loop was started, for the nested-run panic.
    pub(crate) started_at: Cell<Option<&'static Location<'static>>>,
    /// The exception handler; `None` for the default one (`report_sink::default_handler`),
    /// which then costs no allocation per run.
    handler: Option<Handler>,
    /// The controls of live spawned tasks that a cancellable `TaskRef` was taken of, sorted by
    /// id (few tasks have one), and the main task's while it is driven.
    controls: RefCell<Vec<Controlled>>,
    main_control: RefCell<Option<MainControl>>,
    /// Task panics not yet retrieved nor reported, each with its report for the loop's close and
    /// the flag of whoever settles it first (see `task::supervise::Unretrieved`). Only unsettled
    /// ones stay.
    kept_panics: RefCell<Vec<(Arc<AtomicBool>, Report)>>,
    /// The loop's `to_thread` pool and its count of jobs in flight.
    pub(crate) threads: Threads,
    /// The wakers of code awaiting a task's handle while the task runs, by task: woken at its
    /// completion. Kept here rather than in every task (two words each), since few tasks are
    /// awaited while pending at any one time.
    awaiters: RefCell<Awaiters>,
}

impl Context {
    pub(crate) fn new(event_loop: TheLoop, debug: bool, handler: Option<Handler>) -> Self {
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
            debug,
            slow_poll_threshold: Duration::from_millis(100),
            started_at: Cell::new(None),
            handler,
            controls: RefCell::default(),
            main_control: RefCell::new(None),
            kept_panics: RefCell::default(),
            awaiters: RefCell::default(),
            threads,
        }
    }

    /// Makes this context, whose run has ended and whose loop has closed, as [`Context::new`]
    /// makes one on the same loop (not in debug mode, with the default handler), for the next
    /// run on this thread to reuse (the runner's spare context): what the run left is dropped
    /// now, as dropping the context would; only allocations are kept: the context's own, the
    /// loop's (with its ready queue's room), its lists' room, and the mailbox's when nothing
    /// else holds it (else a new mailbox, so that a waker kept from the ended run reaches a
    /// closed one). Only for a loop that works again after [`EventLoop::close`] and keeps its
    /// unparker, as the default loop does.
    pub(crate) fn renew(&mut self) {
        // Closing again drops what destructors queued or armed during the first close, as
        // dropping the loop would.
        self.event_loop.close();
        // Every field is named, so that one added to `Context` is renewed here too.
        let Context {
            event_loop,
            shared,
            tasks,
            current,
            closing,
            forcing,
            queued,
            listeners,
            main_active,
            main,
            debug,
            slow_poll_threshold,
            started_at,
            handler,
            controls,
            main_control,
            kept_panics,
            threads,
            awaiters,
        } = self;
        // The loop's unparker stays the same: the mailbox and the pool keep theirs.
        match Arc::get_mut(shared) {
            Some(mailbox) => mailbox.reopen(),
            None => *shared = Arc::new(Shared::new(event_loop.unparker())),
        }
        *tasks.get_mut() = Registry::default();
        *current.get_mut() = None;
        *closing.get_mut() = false;
        *forcing.get_mut() = false;
        *queued.get_mut() = 0;
        *listeners.get_mut() = Listeners::default();
        *main_active.get_mut() = false;
        // The last main's reference keeps only its allocation, for the next run's main
        // (`set_main`): what it shows of that main is dropped.
        if let Some(last) = main.get_mut().as_mut().and_then(Rc::get_mut) {
            let TaskRef {
                id: _,
                location: _,
                given_name,
                default_name,
                spawn_backtrace,
                control,
            } = last;
            *given_name = None;
            *default_name = OnceLock::new();
            *spawn_backtrace = None;
            *control = None;
        } else {
            *main.get_mut() = None;
        }
        *debug = false;
        *slow_poll_threshold = Duration::from_millis(100);
        *started_at.get_mut() = None;
        *handler = None;
        controls.get_mut().clear();
        *main_control.get_mut() = None;
        kept_panics.get_mut().clear();
        awaiters.get_mut().clear();
        if threads.started() {
            *threads = Threads::new(event_loop.unparker());
        }
    }

    /// Sets up a context made by [`renew`](Self::renew) for its next run.
    pub(crate) fn reopen(&mut self, debug: bool, handler: Option<Handler>) {
        self.debug = debug;
        self.handler = handler;
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

    /// Registers task `header`, whose poll left it pending for the first time, under a new key
    /// (the header's `slot`). A cancellation asked during that poll had no key to wake the task
    /// through (`wake_task_at`, `Header::send_cancel`): the task then wakes itself, and its next
    /// poll sees the request. The task must stay registered only while its body is alive.
    pub(crate) fn register_task(&self, header: &Header, task: TaskPtr<Header>) {
        let slot = self.tasks.borrow_mut().insert(task);
        header.register(slot);
        if header.has(CONTROLLED) {
            let mut controls = self.controls.borrow_mut();
            if let Ok(at) = controls.binary_search_by(|other| other.id.cmp(&header.id())) {
                controls[at].slot = Some(slot);
            }
        }
        self.apply_cancel_request(header);
        if self.closing.get() || header.cancel_requested() {
            // SAFETY: registered from its own poll: its body is alive.
            unsafe { task.wake() };
        }
    }

    pub(crate) fn deregister_task(&self, slot: u32) {
        self.tasks.borrow_mut().remove(slot);
    }

    /// Keeps `waker` to wake when task `id` completes, in place of the one kept before.
    pub(crate) fn park_awaiter(&self, id: TaskId, waker: &Waker) {
        self.awaiters.borrow_mut().park(id, waker);
    }

    /// The waker kept for task `id`, which completes now.
    pub(crate) fn take_awaiter(&self, id: TaskId) -> Option<Waker> {
        self.awaiters.borrow_mut().take(id)
    }

    pub(crate) fn live_tasks(&self) -> usize {
        self.tasks.borrow().live()
    }

    /// The listener of task `id`, made if the task has none yet; `requested` says whether the
    /// task was asked to cancel already (a run that is ending asks every task).
    pub(crate) fn listener(&self, id: TaskId, requested: bool) -> Arc<Listener> {
        let listener = self.listeners.borrow_mut().get_or_add(id);
        if requested || self.closing.get() {
            listener.mark_requested();
        }
        listener
    }

    /// Has `waker` woken when task `header` is asked to cancel, as its `cancelled()` futures are,
    /// without making it listen: how a task group learns that a child's `TaskRef` asked.
    pub(crate) fn watch_cancel(&self, header: &Header, waker: &Waker) {
        self.listener(header.id(), header.cancel_requested())
            .watch(waker);
    }

    /// Forgets task `id`'s listeners once its future is gone.
    pub(crate) fn forget_listeners(&self, id: TaskId) {
        if self.listeners.borrow().is_empty() {
            return;
        }
        let removed = self.listeners.borrow_mut().remove(id);
        drop(removed);
    }

    /// Whether a `cancelled()` future of task `id` is being awaited, wherever, or was when the
    /// request came.
    pub(crate) fn is_listening(&self, id: TaskId) -> bool {
        let listeners = self.listeners.borrow();
        !listeners.is_empty() && listeners.get(id).is_some_and(|l| l.is_awaited())
    }

    /// Wakes a task (to let it see a cancellation): its listening `cancelled()` future, and the
    /// task itself once registered.
    pub(crate) fn wake_task(&self, header: &Header) {
        self.wake_task_at(header.id(), header.slot());
    }

    /// Wakes task `id`, registered under `slot` (or, for a task with a control, the key its
    /// control learnt when the task registered). Without a key the task was not registered when
    /// the request was made: it is queued or being polled, and its next poll, or its
    /// registration, sees the request.
    pub(crate) fn wake_task_at(&self, id: TaskId, slot: Option<u32>) {
        // Tells task `id`'s `cancelled()` futures, wherever they are, and wakes them.
        let mut listening = Vec::new();
        {
            let listeners = self.listeners.borrow();
            if let Some(listener) = listeners.get(id) {
                listener.request(&mut listening);
            }
        }
        for waker in listening {
            waker.wake();
        }
        let slot = slot.or_else(|| {
            let controls = self.controls.borrow();
            let found = controls.binary_search_by(|other| other.id.cmp(&id));
            found.ok().and_then(|at| controls[at].slot)
        });
        let task = slot.and_then(|slot| self.tasks.borrow().get(slot).copied());
        if let Some(task) = task {
            // SAFETY: registered, so its body is alive (it deregisters as the body goes).
            unsafe { task.wake() };
        }
    }

    /// Wakes every live task, so that each sees the shutdown at its next poll, and completes
    /// every `cancelled()` future.
    pub(crate) fn wake_all_tasks(&self) {
        if self.live_tasks() == 0 && self.listeners.borrow().is_empty() {
            return;
        }
        let mut wakers = Vec::new();
        for listener in self.listeners.borrow().iter() {
            listener.request(&mut wakers);
        }
        let tasks: Vec<TaskPtr<Header>> = self.tasks.borrow().values().copied().collect();
        for waker in wakers {
            waker.wake();
        }
        for task in tasks {
            // SAFETY: registered a moment ago, so alive: a wake only queues work (on this loop,
            // or another's for a listener's waker) and drops no task's body.
            unsafe { task.wake() };
        }
    }

    /// At the start of a poll of task `header`: whether its future must be dropped now instead
    /// of polled. It must when a cancellation was asked for (through a `TaskRef` too) or the run
    /// is shutting down, unless the task listens on `cancelled()` and the shutdown does not force
    /// it: it is then marked cooperative and polled, to finish on its own.
    // The usual answer, no, from three flag tests inline in every task's poll (generic, so
    // compiled in the user's crate: without LTO only an inline function can be inlined across
    // crates); the rest out of line. The call it saves was 17 of a yield's 237 instructions.
    #[inline]
    pub(crate) fn cancel_before_poll(&self, header: &Header) -> bool {
        if !(header.has(CONTROLLED) || header.cancel_requested() || self.closing.get()) {
            return false;
        }
        self.cancel_asked_before_poll(header)
    }

    /// `cancel_before_poll` for a task with a control, or asked to cancel, or on a closing loop.
    #[cold]
    fn cancel_asked_before_poll(&self, header: &Header) -> bool {
        self.apply_cancel_request(header);
        if !self.must_cancel(header) {
            return false;
        }
        if self.is_listening(header.id()) && !self.forcing.get() {
            header.set(COOPERATIVE);
            return false;
        }
        true
    }

    /// Whether the task must stop being polled: it was asked to cancel (or the run is ending)
    /// and it is not a cooperative task still within the grace period.
    #[inline]
    fn must_cancel(&self, header: &Header) -> bool {
        if !(self.closing.get() || header.cancel_requested()) {
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
        let handle = || report_sink::hand_to(self.handler.as_ref(), report);
        if catch_unwind(AssertUnwindSafe(handle)).is_err() {
            eprintln!("corun: the exception handler panicked while handling: {report}");
        }
    }

    /// The control of live task `header` (see `record::control`), made with `waker` on first
    /// use and kept until the task ends; the main task's wakes the waker its driver set.
    pub(crate) fn control_for(
        &self,
        header: &Header,
        waker: impl FnOnce() -> Waker,
    ) -> Arc<Control> {
        let id = header.id();
        if let Some(main) = &mut *self.main_control.borrow_mut() {
            if main.id == id {
                let MainControl { waker, control, .. } = main;
                return control
                    .get_or_insert_with(|| Arc::new(Control::new(waker.clone())))
                    .clone();
            }
        }
        let mut controls = self.controls.borrow_mut();
        match controls.binary_search_by(|other| other.id.cmp(&id)) {
            Ok(at) => controls[at].control.clone(),
            Err(at) => {
                let control = Arc::new(Control::new(waker()));
                let slot = header.slot();
                let controlled = Controlled {
                    id,
                    control: control.clone(),
                    slot,
                };
                controls.insert(at, controlled);
                header.set(CONTROLLED);
                control
            }
        }
    }

    /// Starts (with main's id and waker) or, with `None`, ends driving a main task: its
    /// control, if one was made, answers `false` to later requests.
    pub(crate) fn set_main_control(&self, main: Option<(TaskId, Waker)>) {
        let main = main.map(|(id, waker)| MainControl {
            id,
            waker,
            control: None,
        });
        let previous = self.main_control.replace(main);
        if let Some(control) = previous.and_then(|previous| previous.control) {
            control.finish();
        }
    }

    /// Whether the main task being driven was asked to cancel through a `TaskRef`.
    pub(crate) fn main_cancel_requested(&self) -> bool {
        let main = self.main_control.borrow();
        let control = main.as_ref().and_then(|main| main.control.as_ref());
        control.is_some_and(|control| control.is_requested())
    }

    /// At the start of a poll of task `header`: turns a cancellation asked for through a
    /// `TaskRef` into the header's own request. One flag test for a task without a control.
    #[inline]
    pub(crate) fn apply_cancel_request(&self, header: &Header) {
        if !header.has(CONTROLLED) {
            return;
        }
        let requested = {
            let controls = self.controls.borrow();
            let found = controls.binary_search_by(|other| other.id.cmp(&header.id()));
            found.is_ok_and(|at| controls[at].control.is_requested())
        };
        if requested && !header.request_cancel() {
            self.wake_task(header);
        }
    }

    /// Task `header` ended: its control, if it had one, answers `false` to later requests.
    pub(crate) fn forget_control(&self, header: &Header) {
        if !header.has(CONTROLLED) {
            return;
        }
        let id = header.id();
        let removed = {
            let mut controls = self.controls.borrow_mut();
            let found = controls.binary_search_by(|other| other.id.cmp(&id));
            found.ok().map(|at| controls.remove(at))
        };
        if let Some(removed) = removed {
            removed.control.finish();
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
        if self.kept_panics.borrow().is_empty() {
            return;
        }
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

    /// Starts or ends driving a run's main task (`main` is its reference, kept after the end for
    /// turns still queued).
    pub(crate) fn set_main(&self, main: Option<TaskRef>) {
        self.main_active.set(main.is_some());
        let Some(main) = main else {
            return;
        };
        let mut slot = self.main.borrow_mut();
        // The last run's reference is reused when nothing holds it any more (no turn of it is
        // queued): one allocation of a `run()` (BENCHMARKS.md, "Cheaper `run()`"). What it held
        // is dropped after the borrow ends.
        if let Some(unused) = slot.as_mut().and_then(Rc::get_mut) {
            let previous = std::mem::replace(unused, main);
            drop(slot);
            drop(previous);
            return;
        }
        let previous = slot.replace(Rc::new(main));
        drop(slot);
        drop(previous);
    }

    /// A turn of the main task of the current (or last) run; `None` before the first run.
    pub(crate) fn main_turn(&self) -> Option<Runnable> {
        let main = self.main.borrow().clone()?;
        Some(Runnable::main(main))
    }

    /// The instant `after` from now on the loop's clock, for grace periods. One past what
    /// `Instant` can hold is clamped to the latest instant there is: a virtual clock still jumps
    /// there, so a grace that cannot be represented ends instead of hanging the shutdown.
    pub(crate) fn deadline_after(&self, after: Duration) -> Instant {
        let now = self.event_loop.now();
        now.checked_add(after)
            .unwrap_or_else(|| saturating_add(now, after))
    }
}

/// `start + by`, or the latest `Instant` there is if that overflows.
fn saturating_add(start: Instant, by: Duration) -> Instant {
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

#[cfg(test)]
mod tests {
    use std::panic::Location;
    use std::rc::Rc;
    use std::sync::{Arc, OnceLock};

    use super::Context;
    use crate::context::the_loop::TheLoop;
    use crate::event_loop::EventLoop;
    use crate::record::id::TaskId;
    use crate::record::task_ref::{GivenName, TaskRef};
    use crate::report_sink::Handler;

    fn main_named(name: &str) -> TaskRef {
        TaskRef {
            id: TaskId::next(),
            location: Location::caller(),
            given_name: Some(GivenName::Chosen(Arc::from(name))),
            default_name: OnceLock::new(),
            spawn_backtrace: None,
            control: None,
        }
    }

    #[test]
    fn a_renewed_context_keeps_allocations_only_and_its_next_main_reuses_the_last_ones() {
        let handler: Handler = Rc::new(|_| {});
        let default = TheLoop::Default(Box::default());
        let mut ctx = Context::new(default, true, Some(handler.clone()));
        let first_mailbox = ctx.shared.id;
        ctx.set_main(Some(main_named("first")));
        ctx.start_closing();
        ctx.set_main(None);
        ctx.event_loop.close();
        ctx.renew();

        assert!(!ctx.debug && !ctx.is_closing() && !ctx.main_active.get());
        assert_eq!(
            Rc::strong_count(&handler),
            1,
            "the handler went with its run"
        );
        assert_ne!(ctx.shared.id, first_mailbox, "a new loop has a new id");
        let last = Rc::as_ptr(ctx.main.borrow().as_ref().expect("kept for the next main"));
        assert!(ctx.main.borrow().as_ref().unwrap().given_name.is_none());

        ctx.reopen(false, Some(handler.clone()));
        ctx.set_main(Some(main_named("second")));
        let main = ctx.main.borrow();
        let main = main.as_ref().unwrap();
        assert_eq!(Rc::as_ptr(main), last);
        assert_eq!(main.name(), "second");
    }
}
