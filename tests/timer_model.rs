//! The timer queue checked against a model. Random sequences of arm (at an offset from now,
//! past, zero, future, or at the very limit of `Instant`), disarm, and park (`Poll`, `Idle`,
//! `Wait` after an unpark) are applied both to a `VirtualTimeLoop`, through the `EventLoop`
//! methods, and to a `BTreeMap` of deadlines; after every step the timers fired (and their
//! order), what `remove_timer` answered and the clock must agree. Some timers disarm another
//! timer from inside their own wake. Edge cases of `sleep` on the running loop and a check that
//! the default loop never fires a timer early follow. `PROPTEST_CASES` sets the number of cases.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use corun::loops::{DefaultLoop, VirtualTimeLoop};
use corun::{EventLoop, Park, TimerId};
use proptest::prelude::*;

/// One step of a sequence.
#[derive(Clone, Debug)]
enum Op {
    /// Arm a timer `offset_ms` from the clock (negative: in the past). If `kill` is set, the
    /// timer's wake disarms the timer armed that many arms before it.
    Arm { offset_ms: i64, kill: Option<usize> },
    /// Arm a timer `back_ms` before the latest `Instant` there is.
    ArmAtLimit { back_ms: u64 },
    /// Disarm the timer armed `n`-th (modulo how many were armed; may be fired or gone).
    Disarm(usize),
    /// `park(Park::Poll)`: fire what is due, the clock stands still.
    Poll,
    /// `park(Park::Idle)`: the clock jumps to the next deadline (only issued with timers armed).
    Idle,
    /// An unpark, then `park(Park::Wait)`: returns at once, the clock must not jump.
    WaitUnparked,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (-20i64..200, prop::option::weighted(0.2, 1usize..6))
            .prop_map(|(offset_ms, kill)| Op::Arm { offset_ms, kill }),
        2 => Just(Op::Arm { offset_ms: 0, kill: None }),
        1 => (0u64..3).prop_map(|back_ms| Op::ArmAtLimit { back_ms }),
        3 => any::<usize>().prop_map(Op::Disarm),
        2 => Just(Op::Poll),
        3 => Just(Op::Idle),
        1 => Just(Op::WaitUnparked),
    ]
}

/// The latest instant `base` can be pushed to.
fn instant_limit(base: Instant) -> Instant {
    let (mut low, mut high) = (0u64, u64::MAX);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if base.checked_add(Duration::from_secs(mid)).is_some() {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    let whole = base + Duration::from_secs(low);
    let (mut low, mut high) = (0u32, 999_999_999u32);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if whole
            .checked_add(Duration::from_nanos(u64::from(mid)))
            .is_some()
        {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    whole + Duration::from_nanos(u64::from(low))
}

/// What the real loop's wakers did, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Fired(usize),
    /// Timer `.0`'s wake disarmed timer `.1`, and `remove_timer` answered `.2`.
    Killed(usize, usize, bool),
}

thread_local! {
    /// The loop under test, for wakers that disarm another timer from inside their wake.
    static LOOP: RefCell<Option<Rc<VirtualTimeLoop>>> = const { RefCell::new(None) };
    /// The ids of the timers armed so far, by arming order.
    static IDS: RefCell<Vec<TimerId>> = const { RefCell::new(Vec::new()) };
}

/// A timer's waker: records that it fired, then maybe disarms another timer.
struct Recorder {
    index: usize,
    kill: Option<usize>,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.events.lock().unwrap().push(Event::Fired(self.index));
        if let Some(target) = self.kill {
            let id = IDS.with(|ids| ids.borrow()[target]);
            let lp = LOOP.with(|lp| lp.borrow().clone()).expect("loop installed");
            let removed = lp.remove_timer(id);
            self.events
                .lock()
                .unwrap()
                .push(Event::Killed(self.index, target, removed));
        }
    }
}

/// The model: armed timers by (deadline, arming order), and the clock.
struct Model {
    clock: Instant,
    armed: BTreeMap<(Instant, usize), Option<usize>>,
    /// The key of each timer by arming order, while armed.
    keys: Vec<Option<(Instant, usize)>>,
}

impl Model {
    /// Fires everything due at the clock, as one batch: a timer disarmed by a wake in the same
    /// batch has been taken out already, so it still fires and the disarm answers `false`.
    fn fire_due(&mut self, events: &mut Vec<Event>) {
        let mut batch = Vec::new();
        while let Some(entry) = self.armed.first_entry() {
            if entry.key().0 > self.clock {
                break;
            }
            let ((_, index), kill) = entry.remove_entry();
            self.keys[index] = None;
            batch.push((index, kill));
        }
        for (index, kill) in batch {
            events.push(Event::Fired(index));
            if let Some(target) = kill {
                let removed = self.disarm(target);
                events.push(Event::Killed(index, target, removed));
            }
        }
    }

    fn disarm(&mut self, index: usize) -> bool {
        match self.keys[index].take() {
            Some(key) => self.armed.remove(&key).is_some(),
            None => false,
        }
    }
}

fn check(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let lp = Rc::new(VirtualTimeLoop::new());
    LOOP.with(|slot| *slot.borrow_mut() = Some(lp.clone()));
    IDS.with(|ids| ids.borrow_mut().clear());
    let limit = instant_limit(lp.now());
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut model = Model {
        clock: lp.now(),
        armed: BTreeMap::new(),
        keys: Vec::new(),
    };
    let mut expected = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Arm { .. } | Op::ArmAtLimit { .. } => {
                let (deadline, kill) = match op {
                    Op::Arm { offset_ms, kill } => {
                        let offset = Duration::from_millis(offset_ms.unsigned_abs());
                        let deadline = if offset_ms < 0 {
                            model.clock.checked_sub(offset)
                        } else {
                            model.clock.checked_add(offset)
                        };
                        (deadline, kill)
                    }
                    Op::ArmAtLimit { back_ms } => {
                        (limit.checked_sub(Duration::from_millis(back_ms)), None)
                    }
                    _ => unreachable!(),
                };
                // Past the limit of `Instant` there is nothing to arm (`sleep` treats it as never).
                let Some(deadline) = deadline else { continue };
                let index = model.keys.len();
                let kill = kill.and_then(|back| index.checked_sub(back));
                let waker = Waker::from(Arc::new(Recorder {
                    index,
                    kill,
                    events: events.clone(),
                }));
                let id = lp.add_timer(deadline, waker);
                IDS.with(|ids| ids.borrow_mut().push(id));
                model.armed.insert((deadline, index), kill);
                model.keys.push(Some((deadline, index)));
            }
            Op::Disarm(n) => {
                if model.keys.is_empty() {
                    continue;
                }
                let index = n % model.keys.len();
                let id = IDS.with(|ids| ids.borrow()[index]);
                let removed = lp.remove_timer(id);
                prop_assert_eq!(
                    removed,
                    model.disarm(index),
                    "step {}: disarm {}",
                    step,
                    index
                );
            }
            Op::Poll => {
                lp.park(Park::Poll);
                model.fire_due(&mut expected);
            }
            Op::Idle => {
                // With nothing armed an idle park would block for good.
                let Some(&(next, _)) = model.armed.keys().next() else {
                    continue;
                };
                lp.park(Park::Idle);
                model.clock = model.clock.max(next);
                model.fire_due(&mut expected);
            }
            Op::WaitUnparked => {
                lp.unparker().wake_by_ref();
                lp.park(Park::Wait);
                model.fire_due(&mut expected);
            }
        }
        prop_assert_eq!(lp.now(), model.clock, "step {}: the clock", step);
        let got = events.lock().unwrap().clone();
        prop_assert_eq!(&got, &expected, "step {}: timers fired", step);
    }
    lp.close();
    LOOP.with(|slot| slot.borrow_mut().take());
    Ok(())
}

proptest! {
    #[test]
    fn virtual_time_loop_fires_timers_as_the_model_does(ops in prop::collection::vec(op(), 0..80)) {
        check(ops)?;
    }
}

#[test]
fn same_deadline_fires_in_arming_order_and_a_wake_may_disarm_a_later_timer() {
    use Op::*;
    check(vec![
        Arm {
            offset_ms: 5,
            kill: None,
        },
        Arm {
            offset_ms: 5,
            kill: None,
        },
        Arm {
            offset_ms: 5,
            kill: Some(2),
        },
        Arm {
            offset_ms: 9,
            kill: Some(3),
        },
        Arm {
            offset_ms: 10,
            kill: None,
        },
        Idle,
        Idle,
        Idle,
    ])
    .unwrap();
}

#[test]
fn zero_past_and_limit_deadlines_behave() {
    use Op::*;
    check(vec![
        Arm {
            offset_ms: 0,
            kill: None,
        },
        Arm {
            offset_ms: -10,
            kill: None,
        },
        ArmAtLimit { back_ms: 0 },
        ArmAtLimit { back_ms: 1 },
        Poll,
        Idle,
        Idle,
        Arm {
            offset_ms: 1,
            kill: None,
        },
        Arm {
            offset_ms: -1,
            kill: None,
        },
        Poll,
    ])
    .unwrap();
}

/// A waker that stores the instant it was woken at.
struct WokenAt(Mutex<Option<Instant>>);

impl Wake for WokenAt {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let mut at = self.0.lock().unwrap();
        at.get_or_insert_with(Instant::now);
    }
}

#[test]
fn default_loop_never_fires_a_timer_early() {
    let lp = DefaultLoop::new();
    // Deadlines spread over a few ticks, off the millisecond grid, armed out of order.
    let now = Instant::now();
    let timers: Vec<(Instant, Arc<WokenAt>)> = (0..40u64)
        .map(|i| {
            let deadline = now + Duration::from_micros((i * 7_919) % 4_000 + 1);
            let woken = Arc::new(WokenAt(Mutex::new(None)));
            lp.add_timer(deadline, Waker::from(woken.clone()));
            (deadline, woken)
        })
        .collect();
    while timers.iter().any(|(_, w)| w.0.lock().unwrap().is_none()) {
        lp.park(Park::Idle);
    }
    for (deadline, woken) in &timers {
        let at = woken.0.lock().unwrap().expect("fired");
        assert!(at >= *deadline, "fired {:?} early", *deadline - at);
    }
}

#[test]
fn default_loop_accepts_deadlines_at_the_limit_of_instant() {
    let lp = DefaultLoop::new();
    let limit = instant_limit(Instant::now());
    let far = lp.add_timer(limit, Waker::noop().clone());
    let past = Instant::now() - Duration::from_millis(5);
    let near = lp.add_timer(past, Waker::noop().clone());
    lp.park(Park::Poll);
    assert!(!lp.remove_timer(near), "the due timer fired");
    assert!(lp.remove_timer(far), "the far one is still armed");
}

#[test]
fn sleep_edge_durations_on_both_loops() {
    async fn scenario() {
        corun::sleep(Duration::ZERO).await;
        corun::sleep_until(corun::now() - Duration::from_millis(1)).await;
        let limit = instant_limit(corun::now());
        for never in [
            corun::sleep(Duration::MAX),
            corun::sleep_until(limit),
            corun::sleep(limit - corun::now()),
        ] {
            let result = corun::timeout(Duration::from_millis(2), never).await;
            assert!(result.is_err(), "a deadline at the limit never comes");
        }
    }
    corun::run(scenario());
    corun::Config::new()
        .loop_factory(VirtualTimeLoop::new)
        .run(scenario());
}

#[test]
fn a_sleep_dropped_from_inside_another_timers_wake_never_fires() {
    use std::cell::Cell;
    let fired = Rc::new(Cell::new(false));
    corun::Config::new()
        .loop_factory(VirtualTimeLoop::new)
        .run({
            let fired = fired.clone();
            async move {
                let victim = Rc::new(RefCell::new(Some(corun::spawn(async move {
                    corun::sleep(Duration::from_secs(2)).await;
                    fired.set(true);
                }))));
                let held = victim.clone();
                corun::spawn(async move {
                    corun::sleep(Duration::from_secs(1)).await;
                    // Its turn came from the first timer's wake; cancel drops the other sleep.
                    if let Some(task) = held.borrow_mut().take() {
                        task.cancel();
                    }
                });
                corun::sleep(Duration::from_secs(3)).await;
                assert!(victim.borrow().is_none());
            }
        });
    assert!(!fired.get());
}

#[test]
fn shutdown_grace_still_ends_when_the_virtual_clock_is_at_the_limit_of_instant() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        corun::Config::new()
            .loop_factory(VirtualTimeLoop::new)
            .shutdown_grace(Duration::from_secs(5))
            .run(async {
                // A cooperative task that never finishes its cleanup: the grace must end it.
                corun::spawn(async {
                    corun::cancelled().await;
                    std::future::pending::<()>().await;
                });
                let limit = instant_limit(corun::now());
                corun::sleep_until(limit - Duration::from_secs(1)).await;
            });
        done.send(()).unwrap();
    });
    // A watchdog, not a timing: the run ends in microseconds or never.
    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("the shutdown ended although the grace deadline cannot be represented");
}
