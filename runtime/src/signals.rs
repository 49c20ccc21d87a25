//! SIGINT and SIGTERM during a run (`Config::handle_signals`): the first cancels the main task,
//! a second exits at once; outside runs the two signals behave as their default disposition.
//!
//! The handlers are signal-hook's, installed for each signal once per process, by the first run
//! that handles it, and never removed (signal-hook cannot put the previous disposition back).
//! Each signal gets, in this order:
//!
//! 1. a conditional default action, armed while no run handles signals ([`IDLE`]): the process
//!    then dies of the signal exactly as with `SIG_DFL` — this is how the default disposition is
//!    restored after a run;
//! 2. a conditional exit with `128 + signal`, armed once a first signal reached the run
//!    ([`RECEIVED`]) — the second signal exits at once;
//! 3. a flag action that arms (2);
//! 4. signal-hook's self-pipe, read by the `corun-signals` thread, which records the signal in
//!    the run's [`Target`] and unparks its loop. The loop then cancels its main task on its own
//!    thread.
//!
//! Only one run at a time handles signals; a run that starts while another does leaves them to
//! it. On platforms other than Unix, and without the `signals` cargo feature (on by default),
//! nothing is installed and `Config::handle_signals` has no effect.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::task::Waker;

/// What a run's signals reach: the first signal received, and the loop's unparker.
struct Target {
    /// The first signal received during the run; 0 before.
    first: AtomicI32,
    /// Whether the loop has taken the first signal.
    taken: AtomicBool,
    unparker: Waker,
}

impl Target {
    #[cfg_attr(not(all(unix, feature = "signals")), allow(dead_code))]
    fn receive(&self, signal: i32) {
        if self
            .first
            .compare_exchange(0, signal, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.unparker.wake_by_ref();
        }
    }
}

/// Signals go to this run while the guard lives.
pub(crate) struct SignalGuard {
    target: Arc<Target>,
}

impl SignalGuard {
    /// The first signal received, the first time it is asked for; then `None`.
    pub(crate) fn take_new(&self) -> Option<i32> {
        let signal = self.received()?;
        (!self.target.taken.swap(true, Ordering::AcqRel)).then_some(signal)
    }

    /// The first signal received during the run, if any.
    pub(crate) fn received(&self) -> Option<i32> {
        match self.target.first.load(Ordering::Acquire) {
            0 => None,
            signal => Some(signal),
        }
    }
}

/// The exit status of a process stopped by `signal`, as shells report it.
pub(crate) fn exit_code(signal: i32) -> i32 {
    128 + signal
}

/// The name of `signal`, for reports.
pub(crate) fn name(signal: i32) -> &'static str {
    #[cfg(all(unix, feature = "signals"))]
    if let Some(name) = signal_hook::low_level::signal_name(signal) {
        return name;
    }
    let _ = signal;
    "a signal"
}

#[cfg(all(unix, feature = "signals"))]
pub(crate) use unix::handle;

#[cfg(not(all(unix, feature = "signals")))]
pub(crate) fn handle(_setting: Option<bool>, _unparker: &Waker) -> Option<SignalGuard> {
    None
}

#[cfg(all(unix, feature = "signals"))]
mod unix {
    use std::io;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
    use std::task::Waker;
    use std::thread;

    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    use signal_hook::iterator::{Handle as Forwarder, Signals};

    use super::{exit_code, SignalGuard, Target};

    const HANDLED: [i32; 2] = [SIGINT, SIGTERM];

    /// Set while no run handles signals: the handler then does what `SIG_DFL` does.
    static IDLE: AtomicBool = AtomicBool::new(true);
    /// Set by the handler once a signal reached the running run: a further one exits at once.
    static RECEIVED: AtomicBool = AtomicBool::new(false);
    static STATE: Mutex<State> = Mutex::new(State {
        installed: [None; 2],
        forwarder: None,
        target: None,
    });

    struct State {
        /// For SIGINT and SIGTERM, the disposition right after ours was installed, to tell ours
        /// from a handler the process installs later; `None` while not installed.
        installed: [Option<libc::sighandler_t>; 2],
        /// The self-pipe the `corun-signals` thread reads, once a signal is installed.
        forwarder: Option<Forwarder>,
        /// The run that handles signals now.
        target: Option<Arc<Target>>,
    }

    fn state() -> MutexGuard<'static, State> {
        STATE.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts handling signals for a run, unless another run handles them. `Some(true)`: SIGINT
    /// and SIGTERM both. Unset: on the main thread only, each of the two whose disposition is
    /// the default (or already ours), so that a process's own handler or an inherited `SIG_IGN`
    /// is left alone.
    pub(crate) fn handle(setting: Option<bool>, unparker: &Waker) -> Option<SignalGuard> {
        let mut state = state();
        if state.target.is_some() {
            return None;
        }
        let on_main_thread = || thread::current().name() == Some("main");
        let wanted: [bool; 2] = match setting {
            Some(false) => [false; 2],
            Some(true) => [true; 2],
            None if !on_main_thread() => [false; 2],
            None => [0, 1].map(|i| is_default_or_ours(&state, i)),
        };
        for (i, _) in wanted.iter().enumerate().filter(|(_, wanted)| **wanted) {
            if state.installed[i].is_some() {
                continue;
            }
            match install(&mut state, HANDLED[i]) {
                Ok(disposition) => state.installed[i] = Some(disposition),
                Err(error) => eprintln!(
                    "corun: could not install the {} handler: {error}",
                    super::name(HANDLED[i])
                ),
            }
        }
        if !(0..HANDLED.len()).any(|i| wanted[i] && state.installed[i].is_some()) {
            return None;
        }
        let target = Arc::new(Target {
            first: AtomicI32::new(0),
            taken: AtomicBool::new(false),
            unparker: unparker.clone(),
        });
        RECEIVED.store(false, Ordering::SeqCst);
        IDLE.store(false, Ordering::SeqCst);
        state.target = Some(target.clone());
        Some(SignalGuard { target })
    }

    impl Drop for SignalGuard {
        fn drop(&mut self) {
            let mut state = state();
            IDLE.store(true, Ordering::SeqCst);
            RECEIVED.store(false, Ordering::SeqCst);
            state.target = None;
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
            let result = libc::sigaction(signal, std::ptr::null(), &mut old);
            (result, old)
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(old.sa_sigaction)
    }

    /// Installs the actions for `signal` (see the module's documentation), starting the thread
    /// that forwards signals to the running run if needed; returns the resulting disposition.
    fn install(state: &mut State, signal: i32) -> io::Result<libc::sighandler_t> {
        flag::register_conditional_default(signal, &IDLE)?;
        flag::register_conditional_shutdown(signal, exit_code(signal), &RECEIVED)?;
        flag::register(signal, &RECEIVED)?;
        match &state.forwarder {
            Some(forwarder) => forwarder.add_signal(signal)?,
            None => {
                let mut signals = Signals::new([signal])?;
                let forwarder = signals.handle();
                thread::Builder::new()
                    .name("corun-signals".to_owned())
                    .spawn(move || {
                        for signal in signals.forever() {
                            forward(signal);
                        }
                    })?;
                state.forwarder = Some(forwarder);
            }
        }
        disposition(signal)
    }

    /// On the `corun-signals` thread: hands `signal` to the running run.
    fn forward(signal: i32) {
        let target = state().target.clone();
        match target {
            Some(target) => target.receive(signal),
            // The run ended between the handler and here: behave as the default disposition.
            None => drop(signal_hook::low_level::emulate_default_handler(signal)),
        }
    }
}
