//! SIGINT and SIGTERM during a run (`Config::handle_signals`): the first cancels the main task,
//! a second exits at once; outside runs each signal does what its disposition before the first
//! handling run did (for the usual `SIG_DFL`, the process dies of it).
//!
//! Layer 5 (beside the run): uses only `thread_pool::spawn_thread`; the run calls it.
//!
//! The handler is signal-hook-registry's, installed for each signal once per process, by the
//! first run that handles it, and never removed (the registry chains to the disposition it
//! found, but cannot put it back). On each signal it calls that previous handler, if there was
//! one, then the single action registered here (`unix::on_signal`), which:
//!
//! 1. while no run handles signals (`IDLE`), does what the previous disposition does: for
//!    `SIG_DFL` it resets the disposition to `SIG_DFL`, unblocks the signal and raises it again,
//!    so that the process dies of the signal exactly as without corun; for `SIG_IGN` or a
//!    handler (already called by the registry) it does nothing. This is how the previous
//!    disposition is restored after a run, including a process's own handler when
//!    `handle_signals(true)` took the signal over for the run;
//! 2. once a first signal reached the run (`RECEIVED`), exits at once with `128 + signal`;
//! 3. otherwise marks the signal received and pending, and writes one byte to a nonblocking
//!    self-pipe, read by the `corun-signals` thread, which records the signal in the
//!    [`Target`] and unparks the loop of every run listening to it. Each loop then cancels its
//!    main task on its own thread.
//!
//! The action only loads and stores atomics and calls async-signal-safe functions (`write`,
//! `_exit`, `sigaction`, `sigemptyset`, `sigaddset`, `pthread_sigmask`, `raise`, `abort`): it
//! never allocates, locks, or panics.
//!
//! Only one run at a time handles signals ([`Handling`]); a run that starts while another does
//! leaves them to it. The workers of a `Workers` share one handling ([`SharedSignals`]): the
//! first signal cancels every worker's main, and a second exits at once. On platforms other than
//! Unix, and without the `signals` cargo feature (on by default), nothing is installed and
//! `Config::handle_signals` has no effect.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// What signals reach while they are handled: the first signal received, and the runs it goes
/// to (the run that started the handling on its own; or every worker of a `Workers`, which share
/// one handling).
///
/// A run on its own has its side in the target itself, set before the target is published
/// (`unix::start`), rather than in the list: so starting and ending its handling takes no lock
/// of the list and no reference count of a side (about ten atomic operations of a `run()`;
/// BENCHMARKS.md, "Cheaper `run()`").
struct Target {
    /// The first signal received while handled; 0 before.
    first: AtomicI32,
    /// The side of the run that started the handling on its own; one that wakes nothing for a
    /// `Workers`' handling.
    own: RunSide,
    /// The workers of a `Workers` listening now, each with its own side.
    runs: Mutex<Vec<Arc<RunSide>>>,
}

/// One run's side of a [`Target`]: whether its loop took the signal, and what the signal wakes.
struct RunSide {
    /// Whether this run's loop has taken the first signal.
    taken: AtomicBool,
    unparker: Waker,
    /// Woken with the unparker once a signal is received (see `SignalGuard::also_wake`).
    also: Mutex<Option<Waker>>,
}

impl Target {
    /// A target whose own side wakes `own` (a run on its own's loop), or nothing.
    #[cfg_attr(not(all(unix, feature = "signals")), allow(dead_code))]
    fn new(own: Option<Waker>) -> Self {
        Target {
            first: AtomicI32::new(0),
            own: RunSide::new(own),
            runs: Mutex::new(Vec::new()),
        }
    }

    /// Makes a target no run listens to any more (held only by the caller) as
    /// [`new`](Self::new) makes one, keeping its list's room: the next handling reuses it
    /// instead of allocating a target and a list.
    #[cfg_attr(not(all(unix, feature = "signals")), allow(dead_code))]
    fn renew(&mut self, own: Option<Waker>) {
        *self.first.get_mut() = 0;
        self.own = RunSide::new(own);
        self.runs
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Once no run listens (held only by the caller): drops the wakers of the run on its own,
    /// so that nothing of that run outlives it while the target is kept for the next handling.
    #[cfg_attr(not(all(unix, feature = "signals")), allow(dead_code))]
    fn release(&mut self) {
        self.own = RunSide::new(None);
    }

    /// Records the first signal and wakes every run listening. A run that starts listening
    /// after the record finds the signal at its loop's first turn (`SignalGuard::take_new`).
    #[cfg_attr(not(all(unix, feature = "signals")), allow(dead_code))]
    fn receive(&self, signal: i32) {
        if self
            .first
            .compare_exchange(0, signal, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        self.own.wake();
        for run in self.runs().iter() {
            run.wake();
        }
    }

    fn runs(&self) -> MutexGuard<'_, Vec<Arc<RunSide>>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn received(&self) -> Option<i32> {
        match self.first.load(Ordering::Acquire) {
            0 => None,
            signal => Some(signal),
        }
    }
}

impl RunSide {
    /// The side of a run whose loop `unparker` wakes; with `None`, one that wakes nothing.
    fn new(unparker: Option<Waker>) -> Self {
        RunSide {
            taken: AtomicBool::new(false),
            unparker: unparker.unwrap_or_else(|| Waker::noop().clone()),
            also: Mutex::new(None),
        }
    }

    /// The signal came: wakes the run's loop, and what it asked to wake too.
    #[cfg_attr(not(all(unix, feature = "signals")), allow(dead_code))]
    fn wake(&self) {
        // Under the lock of `also`, so that `also_wake` either comes first and has its waker
        // woken here, or comes after and sees this signal (it then wakes its waker itself,
        // unless the loop has taken the signal meanwhile, as main's cancellation).
        let also = self.also();
        self.unparker.wake_by_ref();
        if let Some(waker) = also.as_ref() {
            waker.wake_by_ref();
        }
    }

    fn also(&self) -> MutexGuard<'_, Option<Waker>> {
        self.also.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The process handles SIGINT and SIGTERM while this lives: for one run, owned by its
/// [`SignalGuard`]; for the workers of a `Workers`, by their [`SharedSignals`]. Dropping it
/// gives the signals back to their previous disposition.
pub(crate) struct Handling {
    /// Always set; taken only by the handling's drop, to keep the target for the next one.
    target: Option<Arc<Target>>,
}

impl Handling {
    fn target(&self) -> &Arc<Target> {
        self.target
            .as_ref()
            .expect("a handling has its target until it drops")
    }

    /// Has a worker whose loop `unparker` wakes listen to the signals handled.
    fn listen(&self, unparker: Waker) -> SignalGuard {
        let run = Arc::new(RunSide::new(Some(unparker)));
        let target = self.target().clone();
        target.runs().push(run.clone());
        SignalGuard {
            side: Side::Worker { target, run },
        }
    }
}

/// Signals go to this run while the guard lives.
pub(crate) struct SignalGuard {
    side: Side,
}

/// Where a run's side is.
enum Side {
    /// A run on its own: the handling it started, ended with the guard; its side is the
    /// target's own.
    Own(Handling),
    /// A worker of a `Workers`, whose handling outlives each worker's run: its side is in the
    /// target's list while the guard lives.
    Worker {
        target: Arc<Target>,
        run: Arc<RunSide>,
    },
}

impl SignalGuard {
    fn parts(&self) -> (&Target, &RunSide) {
        match &self.side {
            Side::Own(handling) => {
                let target = handling.target();
                (target, &target.own)
            }
            Side::Worker { target, run } => (target, run),
        }
    }

    /// The first signal received, the first time this run asks for it; then `None`.
    pub(crate) fn take_new(&self) -> Option<i32> {
        let signal = self.received()?;
        let (_, run) = self.parts();
        (!run.taken.swap(true, Ordering::AcqRel)).then_some(signal)
    }

    /// The first signal received while this run's signals were handled, if any.
    pub(crate) fn received(&self) -> Option<i32> {
        self.parts().0.received()
    }

    /// Has the first signal also wake `waker` (replacing an earlier one); if it was received
    /// already and this run did not take it yet, wakes `waker` now. So a wait that does not park
    /// the loop (the shutdown's wait for thread work) ends at once when the first signal comes.
    pub(crate) fn also_wake(&self, waker: Waker) {
        let (target, run) = self.parts();
        let mut also = run.also();
        if target.received().is_some() && !run.taken.load(Ordering::Acquire) {
            waker.wake_by_ref();
        }
        *also = Some(waker);
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        // A run on its own ends its handling as the guard's fields drop.
        if let Side::Worker { target, run } = &self.side {
            target.runs().retain(|other| !Arc::ptr_eq(other, run));
        }
    }
}

/// Signals handled once for several runs at a time: the workers of a `Workers`, each on its own
/// thread. The first worker whose loop is made decides, from its `Config::handle_signals` and
/// whether `Workers::run` was called on the main thread, whether the process handles signals;
/// every worker then listens, and the first signal reaches them all. The handling ends when
/// `Workers::run` ends it, after every worker's run (so a second signal exits at once until
/// then).
pub(crate) struct SharedSignals {
    /// Whether the runs were started from the main thread (the default handles signals only
    /// there).
    on_main_thread: bool,
    /// `None` until the first worker decided; then the handling, if any.
    handling: Mutex<Option<Option<Handling>>>,
}

impl SharedSignals {
    /// Shared signals for runs started from the current thread.
    pub(crate) fn new() -> Self {
        SharedSignals {
            on_main_thread: on_main_thread(),
            handling: Mutex::new(None),
        }
    }

    /// Has the run whose loop's unparker `unparker` gives listen to the shared signals; the
    /// first call decides, with `setting`, whether signals are handled at all (see [`handle`]).
    pub(crate) fn listen(
        &self,
        setting: Option<bool>,
        unparker: impl FnOnce() -> Waker,
    ) -> Option<SignalGuard> {
        let mut handling = self.handling.lock().unwrap_or_else(PoisonError::into_inner);
        let handling = handling.get_or_insert_with(|| start(setting, self.on_main_thread, || None));
        Some(handling.as_ref()?.listen(unparker()))
    }

    /// Ends the handling (the signals' previous disposition is back).
    pub(crate) fn end(&self) {
        let handling = self
            .handling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(handling);
    }
}

/// Starts handling signals for a run on its own whose loop's unparker `unparker` gives (asked
/// only if signals are handled), unless another run handles them (see [`start`]); the guard
/// ends the handling.
pub(crate) fn handle(
    setting: Option<bool>,
    unparker: impl FnOnce() -> Waker,
) -> Option<SignalGuard> {
    let handling = start(setting, on_main_thread(), || Some(unparker()))?;
    Some(SignalGuard {
        side: Side::Own(handling),
    })
}

thread_local! {
    /// Whether this thread is the process's main thread, once asked (`thread::current` takes
    /// and drops a reference count each time).
    static ON_MAIN_THREAD: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Whether the current thread is the process's main thread (Rust names it "main").
fn on_main_thread() -> bool {
    let ask = || std::thread::current().name() == Some("main");
    ON_MAIN_THREAD
        .try_with(|known| {
            let on_main = known.get().unwrap_or_else(ask);
            known.set(Some(on_main));
            on_main
        })
        .unwrap_or_else(|_| ask())
}

/// The exit status of a process stopped by `signal`, as shells report it.
pub(crate) fn exit_code(signal: i32) -> i32 {
    128 + signal
}

/// The name of `signal`, for reports: only the two signals a run handles have one.
pub(crate) fn name(signal: i32) -> &'static str {
    #[cfg(all(unix, feature = "signals"))]
    if let Some(i) = unix::HANDLED.iter().position(|&handled| handled == signal) {
        return unix::NAMES[i];
    }
    let _ = signal;
    "a signal"
}

#[cfg(all(unix, feature = "signals"))]
use unix::start;

#[cfg(not(all(unix, feature = "signals")))]
fn start(
    _setting: Option<bool>,
    _on_main_thread: bool,
    _own: impl FnOnce() -> Option<Waker>,
) -> Option<Handling> {
    None
}

#[cfg(all(unix, feature = "signals"))]
mod unix {
    use std::io::{self, Read};
    use std::os::fd::IntoRawFd;
    use std::os::unix::net::UnixStream;
    use std::ptr;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
    use std::task::Waker;

    use super::{exit_code, Handling, Target};

    pub(super) const HANDLED: [i32; 2] = [libc::SIGINT, libc::SIGTERM];
    pub(super) const NAMES: [&str; 2] = ["SIGINT", "SIGTERM"];

    /// What the signal handler knows of one of the handled signals: atomics only.
    struct Slot {
        signal: i32,
        /// Whether the disposition before ours was `SIG_DFL`: while idle, the handler then
        /// kills the process by the signal. Set before our action is registered.
        idle_default: AtomicBool,
        /// Set by the handler for the `corun-signals` thread, which clears it.
        pending: AtomicBool,
    }

    static SLOTS: [Slot; 2] = [Slot::new(HANDLED[0]), Slot::new(HANDLED[1])];

    impl Slot {
        const fn new(signal: i32) -> Slot {
            Slot {
                signal,
                idle_default: AtomicBool::new(false),
                pending: AtomicBool::new(false),
            }
        }
    }

    /// Set while no run handles signals: the handler then does what the previous disposition
    /// does.
    static IDLE: AtomicBool = AtomicBool::new(true);
    /// Set by the handler once a signal reached the running run: a further one exits at once.
    static RECEIVED: AtomicBool = AtomicBool::new(false);
    /// The write end of the self-pipe (nonblocking, never closed); -1 until the `corun-signals`
    /// thread runs.
    static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
    static STATE: Mutex<State> = Mutex::new(State {
        installed: [None; 2],
        forwarding: false,
        target: None,
        spare: None,
    });

    struct State {
        /// For SIGINT and SIGTERM, the disposition right after ours was installed, to tell ours
        /// from a handler the process installs later; `None` while not installed.
        installed: [Option<libc::sighandler_t>; 2],
        /// Whether the `corun-signals` thread and its self-pipe exist.
        forwarding: bool,
        /// The run that handles signals now.
        target: Option<Arc<Target>>,
        /// The target of the last handling once it ended, for the next one to reuse (see
        /// `SPARE_SIDE`).
        spare: Option<Arc<Target>>,
    }

    fn state() -> MutexGuard<'static, State> {
        STATE.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts handling signals, unless a run handles them already. `Some(true)`: SIGINT and
    /// SIGTERM both. Unset: only when the run is started on the main thread, each of the two
    /// whose disposition is the default (or already ours), so that a process's own handler or
    /// an inherited `SIG_IGN` is left alone.
    /// `own` gives the unparker of the run that starts the handling on its own (`None` for the
    /// workers of a `Workers`, which listen afterwards); it is asked only once the handling
    /// starts.
    pub(crate) fn start(
        setting: Option<bool>,
        on_main_thread: bool,
        own: impl FnOnce() -> Option<Waker>,
    ) -> Option<Handling> {
        // Generic only for `own`: the rest is compiled once, not once per caller.
        let state = install_wanted(setting, on_main_thread)?;
        Some(publish(state, own()))
    }

    /// The first half of [`start`]: installs our action for the signals wanted, and gives the
    /// locked state if the handling starts (no other run handles signals, and one of them is
    /// ours).
    fn install_wanted(
        setting: Option<bool>,
        on_main_thread: bool,
    ) -> Option<MutexGuard<'static, State>> {
        let mut state = state();
        if state.target.is_some() {
            return None;
        }
        let wanted: [bool; 2] = match setting {
            Some(false) => [false; 2],
            Some(true) => [true; 2],
            None if !on_main_thread => [false; 2],
            None => [is_default_or_ours(&state, 0), is_default_or_ours(&state, 1)],
        };
        for (i, slot) in SLOTS.iter().enumerate() {
            if !wanted[i] || state.installed[i].is_some() {
                continue;
            }
            match install(&mut state, slot) {
                Ok(disposition) => state.installed[i] = Some(disposition),
                Err(error) => {
                    eprintln!("corun: could not install the {} handler: {error}", NAMES[i])
                }
            }
        }
        if !(0..HANDLED.len()).any(|i| wanted[i] && state.installed[i].is_some()) {
            return None;
        }
        Some(state)
    }

    /// The second half of [`start`]: the handling, with `own` the unparker of the run on its own
    /// that starts it, published to the signal handler.
    fn publish(mut state: MutexGuard<'static, State>, own: Option<Waker>) -> Handling {
        // The last handling's target, if nothing holds it any more (the forwarding thread may,
        // for a moment), ready before it is published.
        let target = match state.spare.take() {
            Some(mut spare) => match Arc::get_mut(&mut spare) {
                Some(unique) => {
                    unique.renew(own);
                    spare
                }
                None => Arc::new(Target::new(own)),
            },
            None => Arc::new(Target::new(own)),
        };
        // Release stores, here and in `Handling::drop`: the handler loads `IDLE` before it looks
        // at `RECEIVED`, so it sees `RECEIVED` reset once it sees the run handling; nothing here
        // loads what the handler writes, so no total order is needed (plain stores on x86
        // instead of `xchg`: 4 of a `run()`'s 41 locked instructions).
        RECEIVED.store(false, Ordering::Release);
        IDLE.store(false, Ordering::Release);
        state.target = Some(target.clone());
        Handling {
            target: Some(target),
        }
    }

    impl Drop for Handling {
        fn drop(&mut self) {
            let mut state = state();
            IDLE.store(true, Ordering::Release);
            RECEIVED.store(false, Ordering::Release);
            drop(state.target.take());
            // Kept for the next handling, without the wakers of the run it ends; unless the
            // forwarding thread still holds it, which then drops it.
            if let Some(mut target) = self.target.take() {
                if let Some(unique) = Arc::get_mut(&mut target) {
                    unique.release();
                    state.spare = Some(target);
                }
            }
        }
    }

    /// Whether `HANDLED[i]` has the default disposition, or ours. Once ours is installed the
    /// disposition is not asked again (a system call per run): a process that later installs
    /// its own handler through signal-hook keeps ours in the chain, where no query could tell
    /// them apart, and one that replaces ours with `sigaction` takes the signal from us anyway.
    fn is_default_or_ours(state: &State, i: usize) -> bool {
        state.installed[i].is_some()
            || disposition(HANDLED[i]).is_ok_and(|current| current == libc::SIG_DFL)
    }

    /// The current handler of `signal` (or `SIG_DFL`, `SIG_IGN`), without changing it.
    fn disposition(signal: i32) -> io::Result<libc::sighandler_t> {
        // SAFETY: an all-zero `sigaction` is a valid value of that plain C struct (integers, a
        // handler address that is `SIG_DFL` when zero, a bit-set `sigset_t`), so `zeroed` is
        // sound. `sigaction` with a null new action only reads the current one into `old`, which
        // is a valid, writable `sigaction` that outlives the call; nothing is installed or
        // changed, so no other code's assumptions about the disposition are affected.
        let (result, old) = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            let result = libc::sigaction(signal, ptr::null(), &mut old);
            (result, old)
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(old.sa_sigaction)
    }

    /// Installs our action for `slot`'s signal (see the module's documentation), starting the
    /// thread that forwards signals to the running run if needed; returns the resulting
    /// disposition.
    fn install(state: &mut State, slot: &'static Slot) -> io::Result<libc::sighandler_t> {
        if !state.forwarding {
            start_forwarding()?;
            state.forwarding = true;
        }
        let previous = disposition(slot.signal)?;
        slot.idle_default
            .store(previous == libc::SIG_DFL, Ordering::SeqCst);
        // SAFETY: `register` requires an action that is safe to run inside a signal handler, on
        // any thread, at any moment. `on_signal` only touches `'static` atomics and calls
        // async-signal-safe functions (see its comments); it cannot panic (no indexing, no
        // arithmetic that can overflow for a signal number, no allocation). SIGINT and SIGTERM
        // are not among the registry's forbidden signals, so `register` does not panic either.
        unsafe { signal_hook_registry::register(slot.signal, move || on_signal(slot)) }?;
        disposition(slot.signal)
    }

    /// The action run inside the signal handler for `slot`'s signal, after the previous
    /// disposition's handler if there was one.
    fn on_signal(slot: &Slot) {
        if IDLE.load(Ordering::SeqCst) {
            if slot.idle_default.load(Ordering::SeqCst) {
                die_of(slot.signal);
            }
            return;
        }
        if RECEIVED.swap(true, Ordering::SeqCst) {
            // SAFETY: `_exit` is async-signal-safe and takes no pointers; it ends the process
            // without running atexit hooks or destructors, which is what a second signal asks.
            unsafe { libc::_exit(exit_code(slot.signal)) }
        }
        // Pending before the byte: the thread that reads the byte then sees the flag.
        slot.pending.store(true, Ordering::SeqCst);
        let fd = WAKE_FD.load(Ordering::SeqCst);
        if fd >= 0 {
            let byte = 1_u8;
            // SAFETY: `write` is async-signal-safe; the buffer is one readable byte on this
            // stack frame; `fd` is the self-pipe's write end, never closed once stored, and
            // nonblocking, so the handler cannot hang. The result is ignored: the only failure
            // worth a thought is `EAGAIN` (the pipe is full of unread bytes), and then the
            // thread wakes anyway and sees the pending flag.
            unsafe { libc::write(fd, ptr::from_ref(&byte).cast(), 1) };
        }
    }

    /// Does what `SIG_DFL` does for SIGINT and SIGTERM: the process dies of `signal`. As
    /// signal-hook's `emulate_default_handler`: reset the disposition, unblock the signal (it is
    /// blocked while its handler runs), raise it; should the process survive that (another
    /// thread installed a handler in between), abort.
    fn die_of(signal: i32) -> ! {
        // SAFETY: every call is async-signal-safe (POSIX.1-2008 lists `sigaction`,
        // `sigemptyset`, `sigaddset`, `pthread_sigmask`, `raise` and `abort`), so this may run
        // inside a signal handler. All-zero `sigaction` and `sigset_t` are valid values of those
        // plain C structs (`SIG_DFL` is zero). The pointers passed are to locals that outlive
        // each call, or null where the old value is not wanted. Replacing the disposition under
        // the registry is sound: the process is about to end.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            if libc::sigaction(signal, &action, ptr::null_mut()) == 0 {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, signal);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
                libc::raise(signal);
            }
            libc::abort()
        }
    }

    /// Makes the self-pipe and the `corun-signals` thread that reads it.
    fn start_forwarding() -> io::Result<()> {
        let (reader, writer) = UnixStream::pair()?;
        writer.set_nonblocking(true)?;
        crate::thread_pool::spawn_thread(
            "corun-signals",
            Box::new(move || forward_forever(reader)),
        )?;
        // Leaked on purpose: the handler may write to it at any time from now on.
        WAKE_FD.store(writer.into_raw_fd(), Ordering::SeqCst);
        Ok(())
    }

    /// The `corun-signals` thread: on each wake-up byte, hands every pending signal to the
    /// running run.
    fn forward_forever(mut reader: UnixStream) {
        let mut buffer = [0_u8; 16];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    eprintln!("corun: signals are no longer forwarded to runs: {error}");
                    return;
                }
            }
            for slot in &SLOTS {
                if slot.pending.swap(false, Ordering::SeqCst) {
                    forward(slot);
                }
            }
        }
    }

    /// On the `corun-signals` thread: hands `slot`'s signal to the running run.
    fn forward(slot: &Slot) {
        let target = state().target.clone();
        match target {
            Some(target) => target.receive(slot.signal),
            // The run ended between the handler and here: do what the signal does between runs
            // (the registry already called a previous handler, if there was one).
            None if slot.idle_default.load(Ordering::SeqCst) => die_of(slot.signal),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::task::Waker;

    use super::{RunSide, Side, SignalGuard, Target};
    use crate::record::count_wakes::CountWakes;

    fn worker_guard(target: &Arc<Target>, unparker: Waker) -> SignalGuard {
        let run = Arc::new(RunSide::new(Some(unparker)));
        target.runs().push(run.clone());
        SignalGuard {
            side: Side::Worker {
                target: target.clone(),
                run,
            },
        }
    }

    #[test]
    fn the_first_signal_wakes_the_run_on_its_own_and_every_worker_once() {
        let (own, own_waker) = CountWakes::waker();
        let (worker, worker_waker) = CountWakes::waker();
        let target = Arc::new(Target::new(Some(own_waker)));
        let guard = worker_guard(&target, worker_waker);
        target.receive(2);
        target.receive(15);
        assert_eq!(own.count(), 1);
        assert_eq!(worker.count(), 1);
        assert_eq!(guard.take_new(), Some(2));
        assert_eq!(guard.take_new(), None);
        drop(guard);
        assert!(
            target.runs().is_empty(),
            "a worker's side leaves with its guard"
        );
    }

    #[test]
    fn a_released_target_keeps_no_waker_of_its_run_and_a_renewed_one_starts_over() {
        let (own, own_waker) = CountWakes::waker();
        let (also, also_waker) = CountWakes::waker();
        let mut target = Target::new(Some(own_waker));
        *target.own.also() = Some(also_waker);
        target.receive(2);
        target.own.taken.store(true, Ordering::SeqCst);
        target.release();
        assert_eq!(Arc::strong_count(&own), 1, "no unparker kept");
        assert_eq!(Arc::strong_count(&also), 1, "no other waker kept");

        let (next, next_waker) = CountWakes::waker();
        target.renew(Some(next_waker));
        assert_eq!(
            target.received(),
            None,
            "the last handling's signal is forgotten"
        );
        assert!(!target.own.taken.load(Ordering::SeqCst));
        target.receive(15);
        assert_eq!(next.count(), 1);
        assert_eq!(own.count(), 1);
    }
}
