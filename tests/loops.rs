//! The loop layer: a user-written loop that wraps `DefaultLoop` and counts what it schedules;
//! tasks, sleep, timeout and gather working the same on every loop; the `enter`, `drive` and
//! `shutdown_foreign` hooks a loop built on another runtime's reactor needs; the park modes the
//! runtime asks for.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use corun::loops::{DefaultLoop, VirtualTimeLoop};
use corun::{gather, Config, EventLoop, Park, Runnable, TimerId};

/// What the counting loop saw.
#[derive(Default)]
struct Counts {
    /// Work scheduled for spawned tasks (the main task takes its turns in the queue too; those
    /// are counted apart).
    scheduled: Cell<usize>,
    main_turns: Cell<usize>,
    timers: Cell<usize>,
    parks: RefCell<Vec<Park>>,
    entered: Cell<bool>,
    closed: Cell<bool>,
}

/// A loop of the user's own: wraps another loop and counts what passes through it.
struct Counting<L> {
    inner: L,
    counts: Rc<Counts>,
}

impl<L: EventLoop> EventLoop for Counting<L> {
    fn call_soon(&self, work: Runnable) {
        let counter = if work.task().name() == "main" {
            &self.counts.main_turns
        } else {
            &self.counts.scheduled
        };
        counter.set(counter.get() + 1);
        self.inner.call_soon(work)
    }
    fn next_ready(&self) -> Option<Runnable> {
        self.inner.next_ready()
    }
    fn now(&self) -> Instant {
        self.inner.now()
    }
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        self.counts.timers.set(self.counts.timers.get() + 1);
        self.inner.add_timer(deadline, waker)
    }
    fn remove_timer(&self, timer: TimerId) -> bool {
        self.inner.remove_timer(timer)
    }
    fn park(&self, mode: Park) {
        self.counts.parks.borrow_mut().push(mode);
        self.inner.park(mode)
    }
    fn unparker(&self) -> Waker {
        self.inner.unparker()
    }
    fn enter(&self, f: &mut dyn FnMut()) {
        self.counts.entered.set(true);
        ENTERED.with(|flag| flag.set(true));
        self.inner.enter(f);
        ENTERED.with(|flag| flag.set(false));
    }
    fn close(&self) {
        self.counts.closed.set(true);
        self.inner.close()
    }
}

thread_local! {
    static ENTERED: Cell<bool> = const { Cell::new(false) };
}

fn counting<L: EventLoop + 'static>(inner: impl FnOnce() -> L + 'static) -> (Config, Rc<Counts>) {
    let counts = Rc::new(Counts::default());
    let shared = counts.clone();
    let config = Config::new().loop_factory(move || Counting {
        inner: inner(),
        counts: shared,
    });
    (config, counts)
}

#[test]
fn a_user_loop_wrapping_the_default_loop_counts_what_it_schedules() {
    let (config, counts) = counting(DefaultLoop::new);
    config.run(async {
        let tasks: Vec<_> = (0..10).map(|_| corun::spawn(async {})).collect();
        for task in tasks {
            task.await;
        }
    });
    assert_eq!(
        counts.scheduled.get(),
        10,
        "one schedule per spawn, no spurious ones"
    );
    assert!(counts.closed.get());
}

#[test]
fn each_wake_is_one_schedule() {
    let (config, counts) = counting(DefaultLoop::new);
    config.run(async {
        corun::spawn(async {
            for _ in 0..5 {
                corun::yield_now().await;
            }
        })
        .await;
    });
    assert_eq!(counts.scheduled.get(), 6, "the spawn plus five yields");
}

#[test]
fn sleep_arms_a_timer_on_the_running_loop() {
    let (config, counts) = counting(VirtualTimeLoop::new);
    config.run(async {
        corun::sleep(Duration::from_secs(1)).await;
        corun::sleep(Duration::from_secs(1)).await;
    });
    assert_eq!(counts.timers.get(), 2);
}

#[test]
fn the_runtime_parks_idle_when_only_timers_can_make_progress() {
    let (config, counts) = counting(VirtualTimeLoop::new);
    config.run(async {
        corun::sleep(Duration::from_secs(10)).await;
    });
    assert!(counts.parks.borrow().contains(&Park::Idle));
    assert!(
        !counts.parks.borrow().contains(&Park::Wait),
        "no thread work was in flight"
    );
}

#[test]
fn the_run_happens_inside_the_loops_enter_hook() {
    let (config, counts) = counting(DefaultLoop::new);
    let inside = config.run(async {
        let in_task = corun::spawn(async { ENTERED.with(Cell::get) }).await;
        ENTERED.with(Cell::get) && in_task
    });
    assert!(inside);
    assert!(counts.entered.get());
    assert!(!ENTERED.with(Cell::get));
}

/// The same program on every loop: spawn, sleep, timeout, gather.
async fn scenario() -> (u32, bool, (u8, u8)) {
    let task = corun::spawn(async {
        corun::sleep(Duration::from_millis(2)).await;
        40
    });
    let timed_out = corun::timeout(
        Duration::from_millis(1),
        corun::sleep(Duration::from_secs(60)),
    )
    .await
    .is_err();
    let pair = gather!(async { 1u8 }, async {
        corun::sleep(Duration::from_millis(1)).await;
        2u8
    })
    .await;
    (task.await + 2, timed_out, pair)
}

#[test]
fn tasks_time_and_combinators_work_on_every_loop() {
    let expected = (42, true, (1, 2));
    assert_eq!(
        Config::new().loop_factory(DefaultLoop::new).run(scenario()),
        expected
    );
    assert_eq!(
        Config::new()
            .loop_factory(VirtualTimeLoop::new)
            .run(scenario()),
        expected
    );
    let (config, _) = counting(DefaultLoop::new);
    assert_eq!(config.run(scenario()), expected);
    let (config, _) = counting(VirtualTimeLoop::new);
    assert_eq!(config.run(scenario()), expected);
}

#[test]
fn the_trait_is_object_safe() {
    let loops: Vec<Box<dyn EventLoop>> = vec![
        Box::new(DefaultLoop::new()),
        Box::new(VirtualTimeLoop::new()),
    ];
    for event_loop in &loops {
        event_loop.park(Park::Poll);
        assert!(event_loop.next_ready().is_none());
        event_loop.close();
    }
}

#[test]
fn virtual_time_loop_jumps_to_the_next_timer_only_when_idle() {
    let event_loop = VirtualTimeLoop::new();
    let start = event_loop.now();
    event_loop.add_timer(start + Duration::from_secs(5), Waker::noop().clone());
    event_loop.park(Park::Poll);
    assert_eq!(event_loop.now(), start, "polling never moves the clock");
    event_loop.park(Park::Idle);
    assert_eq!(event_loop.now(), start + Duration::from_secs(5));
}

#[test]
fn unparker_wakes_a_parked_default_loop_from_another_thread() {
    let event_loop = DefaultLoop::new();
    let unparker = event_loop.unparker();
    let waker_thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        unparker.wake();
    });
    // Nothing armed: without the unpark this would block forever.
    event_loop.park(Park::Idle);
    waker_thread.join().unwrap();
}

#[test]
fn removing_a_fired_or_unknown_timer_is_harmless() {
    let event_loop = VirtualTimeLoop::new();
    let id = event_loop.add_timer(event_loop.now(), Waker::noop().clone());
    event_loop.park(Park::Poll);
    assert!(!event_loop.remove_timer(id), "it fired");
    assert!(!event_loop.remove_timer(TimerId::new(u64::MAX)));
}

/// A loop that owns the drive, as the IO loops do: it runs the turns itself and records what
/// the runtime hands it at the end.
struct OwnsTheDrive {
    inner: DefaultLoop,
    turns: Rc<Cell<usize>>,
    events: Rc<RefCell<Vec<String>>>,
}

impl EventLoop for OwnsTheDrive {
    fn call_soon(&self, work: Runnable) {
        self.inner.call_soon(work)
    }
    fn next_ready(&self) -> Option<Runnable> {
        self.inner.next_ready()
    }
    fn now(&self) -> Instant {
        self.inner.now()
    }
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        self.inner.add_timer(deadline, waker)
    }
    fn remove_timer(&self, timer: TimerId) -> bool {
        self.inner.remove_timer(timer)
    }
    fn park(&self, mode: Park) {
        self.inner.park(mode)
    }
    fn unparker(&self) -> Waker {
        self.inner.unparker()
    }
    fn drive(&self, turn: &mut dyn FnMut() -> Option<Park>) {
        self.events.borrow_mut().push("drive".to_owned());
        while let Some(mode) = turn() {
            self.turns.set(self.turns.get() + 1);
            self.inner.park(mode);
        }
    }
    fn shutdown_foreign(&self, timeout: Duration) -> usize {
        self.events
            .borrow_mut()
            .push(format!("shutdown_foreign {timeout:?}"));
        0
    }
    fn close(&self) {
        self.events.borrow_mut().push("close".to_owned());
        self.inner.close()
    }
}

#[test]
fn a_loop_that_owns_the_drive_runs_every_turn_and_hears_of_the_shutdown_in_order() {
    let turns = Rc::new(Cell::new(0));
    let events = Rc::new(RefCell::new(Vec::new()));
    let (t, e) = (turns.clone(), events.clone());
    let task_dropped = Rc::new(Cell::new(false));
    let dropped = task_dropped.clone();
    let recorded = events.clone();
    let output = Config::new()
        .loop_factory(move || OwnsTheDrive {
            inner: DefaultLoop::new(),
            turns: t,
            events: e,
        })
        .shutdown_timeout(Duration::from_secs(7))
        .run(async move {
            /// Records its drop among the loop's events.
            struct Guard(Rc<Cell<bool>>, Rc<RefCell<Vec<String>>>);
            impl Drop for Guard {
                fn drop(&mut self) {
                    self.0.set(true);
                    self.1.borrow_mut().push("task dropped".to_owned());
                }
            }
            let guard = Guard(dropped, recorded);
            corun::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            corun::sleep(Duration::from_millis(2)).await;
            "done"
        });
    assert_eq!(output, "done");
    assert!(task_dropped.get());
    assert!(turns.get() >= 1, "the sleep needed a park between turns");
    // One drive for main's part of the run, one per shutdown sweep (before and after the
    // foreign work is dropped), and the hook between them: after corun's tasks, before close.
    assert_eq!(
        *events.borrow(),
        [
            "drive",
            "drive",
            "task dropped",
            "shutdown_foreign 7s",
            "drive",
            "close"
        ]
    );
}
