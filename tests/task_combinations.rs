//! Every lifecycle of a task at once, as tokio's `task_combinations` does it: a task that panics
//! on poll (first or last) or not, on drop or not, listening on `cancelled()` or not; its handle
//! dropped before the first poll, while pending, after completion, or kept (joined or awaited);
//! cancelled before the first poll, while pending, after completion or never; main stopping at
//! each of those points, by returning or by panicking; debug mode off and on. After each run the
//! counters say: the future and the output were each dropped exactly once, every panic was either
//! delivered (to `join` or to the awaiting task) or reported to the exception handler exactly once,
//! and the task ended the way a model of it says.

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use common::{quiet_panics, Reports};
use corun::{ReportKind, TaskError};

/// The subject's name: in the cancelled-await panic's message, so `quiet_panics` hides it.
const NAME: &str = "[expected] subject";
const POLL_PANIC: &str = "[expected] subject panicked on poll";
const MAIN_PANIC: &str = "[expected] main panicked";

/// The points of a run at which something may happen to the subject, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Spawned, not polled yet.
    BeforePoll,
    /// Polled once and waiting on its gate.
    Pending,
    /// The gate was opened and the subject polled again.
    Completed,
    /// After the handle was joined or awaited.
    End,
}

const PHASES: [Phase; 4] = [
    Phase::BeforePoll,
    Phase::Pending,
    Phase::Completed,
    Phase::End,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PanicOnPoll {
    Never,
    First,
    /// At the poll after the gate opened (or after hearing a cancellation).
    Last,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HandleFate {
    DropAt(Phase),
    /// `join().await` at the end.
    Join,
    /// Awaited by another task at the end, which is joined.
    Await,
}

#[derive(Clone, Copy, Debug)]
struct Combination {
    panic_on_poll: PanicOnPoll,
    panic_on_drop: bool,
    listens: bool,
    handle: HandleFate,
    cancel: Option<Phase>,
    /// Main stops (returns or panics) after this phase's actions.
    stop: Phase,
    main_panics: bool,
    debug: bool,
}

impl Combination {
    /// The phase at which the handle stops being usable.
    fn handle_until(&self) -> Phase {
        match self.handle {
            HandleFate::DropAt(phase) => phase,
            HandleFate::Join | HandleFate::Await => Phase::End,
        }
    }

    /// Cancelling needs the handle; a cancel after main stopped cannot happen.
    fn is_possible(&self) -> bool {
        match self.cancel {
            None => true,
            Some(phase) => {
                phase <= self.handle_until() && phase <= self.stop && phase != Phase::End
            }
        }
    }
}

fn all_combinations() -> Vec<Combination> {
    let mut combinations = Vec::new();
    for panic_on_poll in [PanicOnPoll::Never, PanicOnPoll::First, PanicOnPoll::Last] {
        for panic_on_drop in [false, true] {
            for listens in [false, true] {
                for handle in [
                    HandleFate::DropAt(Phase::BeforePoll),
                    HandleFate::DropAt(Phase::Pending),
                    HandleFate::DropAt(Phase::Completed),
                    HandleFate::Join,
                    HandleFate::Await,
                ] {
                    for cancel in [
                        None,
                        Some(Phase::BeforePoll),
                        Some(Phase::Pending),
                        Some(Phase::Completed),
                    ] {
                        for stop in PHASES {
                            let combination = Combination {
                                panic_on_poll,
                                panic_on_drop,
                                listens,
                                handle,
                                cancel,
                                stop,
                                main_panics: false,
                                debug: false,
                            };
                            if combination.is_possible() {
                                combinations.push(combination);
                            }
                        }
                    }
                }
            }
        }
    }
    combinations
}

/// How the subject ended, as it observed it itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Returned its output.
    Ready,
    /// Panicked in a poll.
    Panicked,
    /// Dropped without returning or panicking.
    Cancelled,
}

#[derive(Default)]
struct Stats {
    polls: Cell<usize>,
    futures_dropped: Cell<usize>,
    outputs_made: Cell<usize>,
    outputs_dropped: Cell<usize>,
    poll_panics: Cell<usize>,
    drop_panics: Cell<usize>,
    /// Poll panics handed to the test by `join` or by the awaiting task.
    delivered: Cell<usize>,
    ending: Cell<Option<Ending>>,
}

fn bump(counter: &Cell<usize>) {
    counter.set(counter.get() + 1);
}

/// A gate the test opens once; wakes whoever waits on it.
#[derive(Default)]
struct Gate {
    open: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Gate {
    fn open(&self) {
        self.open.set(true);
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The subject's output; counts its drop.
struct Output(Rc<Stats>);

impl Drop for Output {
    fn drop(&mut self) {
        bump(&self.0.outputs_dropped);
    }
}

/// The task under test, written by hand so that a panic in `poll` leaves it in place (an async
/// block would drop its locals while unwinding, and a panicking destructor there would abort).
struct Subject {
    stats: Rc<Stats>,
    gate: Rc<Gate>,
    panic_on_poll: PanicOnPoll,
    panic_on_drop: bool,
    /// Whether the subject listens for cancellation.
    listens: bool,
    /// The subject's `cancelled()` future, made at its first poll (it names the task that makes
    /// it, so it is made inside the subject's task).
    cancelled: Option<Pin<Box<corun::Cancelled>>>,
}

impl Future for Subject {
    type Output = Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        let this = &mut *self;
        bump(&this.stats.polls);
        if this.panic_on_poll == PanicOnPoll::First && this.stats.polls.get() == 1 {
            bump(&this.stats.poll_panics);
            this.stats.ending.set(Some(Ending::Panicked));
            panic!("{POLL_PANIC}");
        }
        if this.listens && this.cancelled.is_none() {
            this.cancelled = Some(Box::pin(corun::cancelled()));
        }
        let heard_cancel = match &mut this.cancelled {
            Some(cancelled) => cancelled.as_mut().poll(cx).is_ready(),
            None => false,
        };
        if !this.gate.open.get() && !heard_cancel {
            *this.gate.waker.borrow_mut() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if this.panic_on_poll == PanicOnPoll::Last {
            bump(&this.stats.poll_panics);
            this.stats.ending.set(Some(Ending::Panicked));
            panic!("{POLL_PANIC}");
        }
        this.stats.ending.set(Some(Ending::Ready));
        bump(&this.stats.outputs_made);
        Poll::Ready(Output(this.stats.clone()))
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        bump(&self.stats.futures_dropped);
        if self.stats.ending.get().is_none() {
            self.stats.ending.set(Some(Ending::Cancelled));
        }
        // Dropping the `cancelled()` listener first: the panic below must not skip it.
        self.cancelled = None;
        if self.panic_on_drop {
            bump(&self.stats.drop_panics);
            panic!("[expected] subject panicked on drop");
        }
    }
}

/// What the model says: how the subject ends, how often it is polled, what `cancel` returns.
struct Expected {
    ending: Ending,
    polls: usize,
    cancel_returns: Option<bool>,
}

fn model(c: &Combination) -> Expected {
    let mut cancel_returns = None;
    // Before the first poll.
    if c.cancel == Some(Phase::BeforePoll) {
        cancel_returns = Some(true);
    }
    if c.cancel == Some(Phase::BeforePoll) {
        // Dropped at its first turn without being polled.
        return Expected {
            ending: Ending::Cancelled,
            polls: 0,
            cancel_returns,
        };
    }
    // The first poll.
    if c.panic_on_poll == PanicOnPoll::First {
        if c.cancel.is_some() {
            cancel_returns = Some(false);
        }
        return Expected {
            ending: Ending::Panicked,
            polls: 1,
            cancel_returns,
        };
    }
    // Pending: a cancel (or the shutdown) now drops it, unless it listens, when it finishes. A
    // main that stops right after spawning it still lets it run this far: it was ready when main
    // finished, so it gets its turn before the shutdown (asyncio's last batch).
    let completed = if c.panic_on_poll == PanicOnPoll::Last {
        Ending::Panicked
    } else {
        Ending::Ready
    };
    if c.cancel == Some(Phase::Pending) || c.stop <= Phase::Pending {
        if c.cancel == Some(Phase::Pending) {
            cancel_returns = Some(true);
        }
        let ending = if c.listens {
            completed
        } else {
            Ending::Cancelled
        };
        let polls = if c.listens { 2 } else { 1 };
        return Expected {
            ending,
            polls,
            cancel_returns,
        };
    }
    // The gate opens and it completes; a later cancel finds it finished.
    if c.cancel == Some(Phase::Completed) {
        cancel_returns = Some(false);
    }
    Expected {
        ending: completed,
        polls: 2,
        cancel_returns,
    }
}

/// Lets every task woken so far run (a turn of the loop per yield), without any clock.
async fn settle() {
    for _ in 0..3 {
        corun::yield_now().await;
    }
}

/// What the end of the subject's handle gave back, for the model check.
#[derive(Debug, PartialEq, Eq)]
enum Delivered {
    Output,
    Panic,
    Cancelled,
}

fn check_payload(stats: &Stats, payload: &(dyn std::any::Any + Send)) -> Delivered {
    if payload.downcast_ref::<&str>() == Some(&POLL_PANIC)
        || payload.downcast_ref::<String>().map(String::as_str) == Some(POLL_PANIC)
    {
        bump(&stats.delivered);
        return Delivered::Panic;
    }
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("was cancelled") && message.contains(NAME),
        "an awaited cancelled task panics naming it, got {message:?}"
    );
    Delivered::Cancelled
}

/// Runs one combination and checks every counter afterwards.
fn run_one(c: Combination) {
    let stats = Rc::new(Stats::default());
    let reports = Reports::default();
    let delivered = Rc::new(RefCell::new(None::<Delivered>));
    let cancel_returned = Rc::new(Cell::new(None::<bool>));
    let main = {
        let stats = stats.clone();
        let delivered = delivered.clone();
        let cancel_returned = cancel_returned.clone();
        async move {
            let gate = Rc::new(Gate::default());
            let subject = Subject {
                stats: stats.clone(),
                gate: gate.clone(),
                panic_on_poll: c.panic_on_poll,
                panic_on_drop: c.panic_on_drop,
                listens: c.listens,
                cancelled: None,
            };
            let mut handle = Some(corun::spawn_named(NAME, subject));
            for phase in PHASES {
                match phase {
                    Phase::BeforePoll => {}
                    Phase::Pending => settle().await,
                    Phase::Completed => {
                        gate.open();
                        settle().await;
                    }
                    Phase::End => {
                        if let Some(task) = handle.take() {
                            let got = match c.handle {
                                HandleFate::Join => match task.join().await {
                                    Ok(output) => {
                                        drop(output);
                                        Delivered::Output
                                    }
                                    Err(TaskError::Panicked(payload)) => {
                                        check_payload(&stats, &*payload)
                                    }
                                    Err(TaskError::Cancelled) => Delivered::Cancelled,
                                },
                                _ => match corun::spawn(task).join().await {
                                    Ok(output) => {
                                        drop(output);
                                        Delivered::Output
                                    }
                                    Err(TaskError::Panicked(payload)) => {
                                        check_payload(&stats, &*payload)
                                    }
                                    Err(TaskError::Cancelled) => {
                                        unreachable!("nobody cancels the awaiter")
                                    }
                                },
                            };
                            *delivered.borrow_mut() = Some(got);
                        }
                    }
                }
                if c.cancel == Some(phase) {
                    let task = handle
                        .as_ref()
                        .expect("a cancel comes while the handle is held");
                    cancel_returned.set(Some(task.cancel()));
                }
                if c.handle == HandleFate::DropAt(phase) {
                    drop(handle.take());
                }
                if c.stop == phase {
                    break;
                }
            }
            if c.main_panics {
                panic!("{MAIN_PANIC}");
            }
            // A handle still held is dropped here, with main's future.
        }
    };
    let config = reports.config().debug(c.debug);
    let result = catch_unwind(AssertUnwindSafe(|| config.run(main)));
    match result {
        Ok(()) => assert!(!c.main_panics, "{c:?}: main's panic was lost"),
        Err(payload) => {
            assert!(c.main_panics, "{c:?}: an unexpected panic came out of run");
            assert_eq!(
                payload.downcast_ref::<String>().map(String::as_str),
                Some(MAIN_PANIC),
                "{c:?}: run resumes main's own panic"
            );
        }
    }

    let expected = model(&c);
    let ending = stats.ending.get();
    assert_eq!(
        ending,
        Some(expected.ending),
        "{c:?}: how the subject ended"
    );
    assert_eq!(stats.polls.get(), expected.polls, "{c:?}: polls");
    assert_eq!(
        cancel_returned.get(),
        expected.cancel_returns,
        "{c:?}: cancel()"
    );
    assert_eq!(
        stats.futures_dropped.get(),
        1,
        "{c:?}: the future is dropped exactly once"
    );
    assert!(stats.outputs_made.get() <= 1, "{c:?}: one output at most");
    assert_eq!(
        stats.outputs_dropped.get(),
        stats.outputs_made.get(),
        "{c:?}: the output is dropped exactly once"
    );
    if let Some(delivered) = delivered.borrow().as_ref() {
        let want = match expected.ending {
            Ending::Ready => Delivered::Output,
            Ending::Panicked => Delivered::Panic,
            Ending::Cancelled => Delivered::Cancelled,
        };
        assert_eq!(*delivered, want, "{c:?}: what the handle gave back");
    }

    let unretrieved = reports.of_kind(ReportKind::UnretrievedPanic);
    let while_cancelling = reports.of_kind(ReportKind::PanicWhileCancelling);
    assert!(
        unretrieved
            .iter()
            .all(|r| r.message().contains(POLL_PANIC) && r.task_name() == Some(NAME)),
        "{c:?}: only the subject's panic is unretrieved: {unretrieved:?}"
    );
    assert_eq!(
        stats.delivered.get() + unretrieved.len(),
        stats.poll_panics.get(),
        "{c:?}: each poll panic is delivered or reported, exactly once"
    );
    assert_eq!(
        while_cancelling.len(),
        stats.drop_panics.get(),
        "{c:?}: each panic on drop is reported, exactly once: {while_cancelling:?}"
    );
    assert!(
        while_cancelling.iter().all(|r| r.task_name() == Some(NAME)),
        "{c:?}: the report names the subject"
    );
}

fn run_all(main_panics: bool, debug: bool) -> usize {
    quiet_panics();
    let combinations = all_combinations();
    for mut combination in combinations.iter().copied() {
        combination.main_panics = main_panics;
        combination.debug = debug;
        run_one(combination);
    }
    combinations.len()
}

#[test]
fn every_lifecycle_with_main_returning_drops_once_and_loses_no_panic() {
    let ran = run_all(false, false);
    assert!(ran > 500, "only {ran} combinations");
}

#[test]
fn every_lifecycle_with_main_panicking_drops_once_and_loses_no_panic() {
    run_all(true, false);
}

#[test]
fn every_lifecycle_in_debug_mode_drops_once_and_loses_no_panic() {
    run_all(false, true);
    run_all(true, true);
}

#[test]
fn the_model_covers_each_ending() {
    let endings: Vec<Ending> = all_combinations().iter().map(|c| model(c).ending).collect();
    for ending in [Ending::Ready, Ending::Panicked, Ending::Cancelled] {
        assert!(endings.contains(&ending), "no combination ends {ending:?}");
    }
}
