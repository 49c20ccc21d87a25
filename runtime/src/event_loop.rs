//! The loop layer: what every event loop provides, and the units of work it schedules.
//!
//! As in asyncio, the loop is the bottom layer. It keeps a queue of ready work
//! ([`call_soon`](EventLoop::call_soon)), keeps time and timers, and parks the thread when there
//! is nothing to do. Tasks, `sleep`, `timeout`, `gather!` and `to_thread` are built once, above
//! it, and work on every loop.
//!
//! Layer 2 (the loop layer): uses only the record (`record::header`'s runnable type and
//! `record::task_ref`), never the context, the run or the task layer; `loops/` is built on it.

use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::record::header::RawRunnable;
use crate::record::task_ref::TaskRef;

/// An event loop: the scheduler, clock and parking spot under one run.
///
/// The runtime drives a loop in turns, as asyncio's `_run_once` does:
///
/// 1. work that became ready is queued with [`call_soon`](Self::call_soon) (wakes from other
///    threads arrive through the runtime, which queues them here on the loop's thread);
/// 2. the runtime takes queued work with [`next_ready`](Self::next_ready) and runs it, at most a
///    fixed budget per turn so that timers and other threads are never starved;
/// 3. then the loop parks ([`park`](Self::park)): it fires the timers that are due (by waking
///    their wakers) and, when the runtime says nothing is ready, blocks until the next timer is
///    due or [`unparker`](Self::unparker) is woken.
///
/// The runtime hands the turns to the loop through [`drive`](Self::drive), whose provided
/// default is exactly that: turn, park, turn again.
///
/// Every method takes `&self`: work run by the loop calls back into it (a task that spawns calls
/// `call_soon`, a `sleep` calls `add_timer`), so a loop keeps its state in `Cell`/`RefCell` and
/// never holds a borrow while it wakes a waker. A loop is made, used and dropped on one thread.
/// The trait is object safe; the runtime holds a `Box<dyn EventLoop>` (the default loop it
/// calls directly).
///
/// A loop built on another runtime's reactor overrides [`drive`](Self::drive) to run the turns
/// inside that reactor's own `block_on`, [`enter`](Self::enter) to enter its context, and
/// [`shutdown_foreign`](Self::shutdown_foreign) to drop that runtime's tasks at the end, so that
/// its IO types work inside corun tasks (the shipped `TokioLoop` and `AsyncIoLoop` do). A loop
/// that wraps another forwards those three as well as the required methods.
///
/// # Examples
///
/// A loop that wraps [`DefaultLoop`](crate::loops::DefaultLoop) and counts what it schedules:
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::task::Waker;
/// use std::time::Instant;
/// use corun_runtime::{loops::DefaultLoop, Config, EventLoop, Park, Runnable, TimerId};
///
/// struct Counting { inner: DefaultLoop, scheduled: Rc<Cell<usize>> }
///
/// impl EventLoop for Counting {
///     fn call_soon(&self, work: Runnable) {
///         self.scheduled.set(self.scheduled.get() + 1);
///         self.inner.call_soon(work)
///     }
///     fn next_ready(&self) -> Option<Runnable> { self.inner.next_ready() }
///     fn now(&self) -> Instant { self.inner.now() }
///     fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
///         self.inner.add_timer(deadline, waker)
///     }
///     fn remove_timer(&self, timer: TimerId) -> bool { self.inner.remove_timer(timer) }
///     fn park(&self, mode: Park) { self.inner.park(mode) }
///     fn unparker(&self) -> Waker { self.inner.unparker() }
///     fn close(&self) { self.inner.close() }
/// }
///
/// let scheduled = Rc::new(Cell::new(0));
/// let counter = scheduled.clone();
/// Config::new()
///     .loop_factory(move || Counting { inner: DefaultLoop::new(), scheduled: counter })
///     .run(async {
///         corun_runtime::spawn(async {}).await;
///     });
/// assert!(scheduled.get() >= 1);
/// ```
pub trait EventLoop {
    /// Queues ready work to run on this loop, after the work already queued (asyncio's
    /// `call_soon`). Called on the loop's thread only.
    fn call_soon(&self, work: Runnable);

    /// Takes the oldest queued work, if any.
    fn next_ready(&self) -> Option<Runnable>;

    /// The loop's clock. `sleep`, `timeout` and [`now`](crate::now) read it.
    fn now(&self) -> Instant;

    /// Arms a timer: once [`now`](Self::now) reaches `deadline`, a later [`park`](Self::park)
    /// wakes `waker` and forgets the timer (asyncio's `call_at`).
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId;

    /// Disarms a timer. Returns `true` if it was still armed, `false` if it had fired or was
    /// removed already. A stale id is harmless.
    fn remove_timer(&self, timer: TimerId) -> bool;

    /// Fires due timers and waits for events as `mode` allows. See [`Park`].
    fn park(&self, mode: Park);

    /// A waker that, woken from any thread, makes a blocked or upcoming [`park`](Self::park)
    /// return. Wakes are not lost: one that arrives before `park` makes it return at once.
    fn unparker(&self) -> Waker;

    /// Runs `f` with the loop's context entered. The runtime runs each whole run inside it. The
    /// default just calls `f`; a loop built on another runtime enters that runtime here.
    fn enter(&self, f: &mut dyn FnMut()) {
        f()
    }

    /// Drives the runtime's turns until `turn` returns `None`: each call of `turn` runs one turn
    /// of ready work and says how the loop may park before the next ([`Park`]).
    ///
    /// The default is the plain loop: `turn`, [`park`](Self::park) as asked, `turn` again. A loop
    /// built on another runtime's reactor overrides it to run the turns *inside* that reactor's
    /// own `block_on`, so the reactor's context, budget and wake-ups apply to corun's tasks as to
    /// its own, and parking is that `block_on` waiting for IO on this thread. Such a loop must
    /// still fire due timers between turns, and must call `turn` again, without waiting, when
    /// it returned [`Park::Poll`].
    ///
    /// Called on the loop's thread, inside [`enter`](Self::enter), once for the main task's part
    /// of a run and once for each sweep of the shutdown.
    ///
    /// # Examples
    ///
    /// A loop that counts the turns it drives and otherwise behaves as the default:
    ///
    /// ```
    /// # use std::cell::Cell;
    /// # use corun_runtime::{loops::DefaultLoop, EventLoop, Park};
    /// fn drive_counting(inner: &DefaultLoop, turns: &Cell<u64>, turn: &mut dyn FnMut() -> Option<Park>) {
    ///     while let Some(mode) = turn() {
    ///         turns.set(turns.get() + 1);
    ///         inner.park(mode);
    ///     }
    /// }
    /// let turns = Cell::new(0);
    /// let mut left = 3;
    /// drive_counting(&DefaultLoop::new(), &turns, &mut || {
    ///     left -= 1;
    ///     (left > 0).then_some(Park::Poll)
    /// });
    /// assert_eq!(turns.get(), 2);
    /// ```
    fn drive(&self, turn: &mut dyn FnMut() -> Option<Park>) {
        while let Some(mode) = turn() {
            self.park(mode);
        }
    }

    /// Drops the work this loop runs outside corun (another runtime's tasks) and returns how
    /// many such tasks it dropped; a wait for that runtime's threads lasts at most `timeout`
    /// (the run's `shutdown_timeout`).
    ///
    /// Called once, at the end of the last run on the loop: after every corun task was
    /// cancelled, before [`close`](Self::close), on the loop's thread inside
    /// [`enter`](Self::enter) and the runtime's context. Corun tasks spawned by what is dropped
    /// here are cancelled by the sweep that follows. The default owns nothing and returns 0.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// use corun_runtime::{loops::DefaultLoop, EventLoop};
    /// assert_eq!(DefaultLoop::new().shutdown_foreign(Duration::from_secs(1)), 0);
    /// ```
    fn shutdown_foreign(&self, timeout: Duration) -> usize {
        let _ = timeout;
        0
    }

    /// Closes the loop: drops its timers and anything it still holds. Called once, after the
    /// runtime has cancelled every task, from the loop's thread.
    fn close(&self);
}

/// How far [`EventLoop::park`] may wait.
///
/// # Examples
///
/// A loop that never blocks the thread, spinning instead (for illustration):
///
/// ```
/// use corun_runtime::{loops::DefaultLoop, EventLoop, Park};
///
/// fn park_without_blocking(inner: &DefaultLoop, mode: Park) {
///     match mode {
///         Park::Poll => inner.park(Park::Poll),
///         Park::Wait | Park::Idle => {
///             std::thread::yield_now();
///             inner.park(Park::Poll)
///         }
///     }
/// }
/// park_without_blocking(&DefaultLoop::new(), Park::Idle);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Park {
    /// Work is ready: fire due timers and poll for events, but do not block.
    Poll,
    /// Nothing is ready, but work outside the loop is under way (a `to_thread` job): block until
    /// the next timer is due or the loop is unparked. A virtual clock must not jump here.
    Wait,
    /// Nothing is ready and only timers can make progress: block as in [`Park::Wait`]; a loop with
    /// a virtual clock may instead advance it straight to the next timer.
    Idle,
}

/// A unit of ready work: one scheduled poll of a task.
///
/// Loops store and hand back `Runnable`s; only the runtime runs them. Dropping one without handing
/// it back cancels its task, so a loop must not drop queued work before [`EventLoop::close`].
/// A `Runnable` is neither `Send` nor `Sync`: the task's future may not be, so its work stays on
/// the loop's thread.
///
/// ```compile_fail
/// fn send<T: Send>() {}
/// send::<corun_runtime::Runnable>();
/// ```
pub struct Runnable {
    work: Work,
    _loop_thread_only: PhantomData<*const ()>,
}

/// What a runnable stands for. Main is polled by the run's driver, not as a spawned task, so
/// its turn is a variant of its own, which carries what `Runnable::task` shows of main.
enum Work {
    /// A scheduled poll of a spawned task.
    Task(RawRunnable),
    /// The main task's turn: the driver polls main when it comes.
    Main(Rc<TaskRef>),
}

impl Runnable {
    pub(crate) fn new(inner: RawRunnable) -> Self {
        Runnable {
            work: Work::Task(inner),
            _loop_thread_only: PhantomData,
        }
    }

    /// The turn of the main task `main`.
    pub(crate) fn main(main: Rc<TaskRef>) -> Self {
        Runnable {
            work: Work::Main(main),
            _loop_thread_only: PhantomData,
        }
    }

    /// The task this work belongs to: its name, id and where it was spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use corun_runtime::{Runnable};
    /// fn log(work: &Runnable) { eprintln!("scheduling {}", work.task().name()); }
    /// ```
    pub fn task(&self) -> TaskRef {
        match &self.work {
            Work::Task(runnable) => runnable.header().task_ref(),
            Work::Main(main) => TaskRef::clone(main),
        }
    }

    /// Polls the task once; for main's turn, returns `true` instead, for the driver to poll main.
    /// Only the runtime runs work.
    pub(crate) fn run(self) -> bool {
        match self.work {
            Work::Task(runnable) => {
                runnable.run();
                false
            }
            Work::Main(_) => true,
        }
    }
}

impl fmt::Debug for Runnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Runnable");
        match &self.work {
            Work::Task(runnable) => debug.field("task", &runnable.header().name()),
            Work::Main(main) => debug.field("task", &main.name()),
        };
        debug.finish()
    }
}

/// The id of an armed timer, given by [`EventLoop::add_timer`]. What it encodes is the loop's
/// business; a loop of your own makes them with [`TimerId::new`].
///
/// # Examples
///
/// ```
/// # use corun_runtime::TimerId;
/// let id = TimerId::new(7);
/// assert_eq!(id.get(), 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId(u64);

impl TimerId {
    /// Wraps a loop-defined value.
    ///
    /// # Examples
    ///
    /// ```
    /// let id = corun_runtime::TimerId::new(3);
    /// # assert_eq!(id.get(), 3);
    /// ```
    pub const fn new(value: u64) -> Self {
        TimerId(value)
    }

    /// The loop-defined value.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(corun_runtime::TimerId::new(9).get(), 9);
    /// ```
    pub const fn get(self) -> u64 {
        self.0
    }
}
