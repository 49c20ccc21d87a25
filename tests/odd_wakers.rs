//! Wakers used where a runtime does not expect them: from a thread-local destructor at thread
//! exit, from destructors running during shutdown, from another thread between two runs of a
//! `Runner` and after the loop closed; and a `Runner` kept in a thread-local, closed when its
//! thread exits. None of them may panic, abort or leak. The thread-exit cases run in a child
//! process (this test binary again), so that an abort shows up as a failed test.

mod common;

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use common::{Drops, OnDrop};
use corun::{Config, Runner};

/// Set in the child process: the scenario runs there instead of being re-launched.
const CHILD: &str = "CORUN_ODD_WAKERS_CHILD";

/// Runs `scenario` in a child process (this test, re-launched) and asserts that it exits
/// successfully: a panic in a thread-local destructor aborts the process, which would otherwise
/// take the whole test binary down without saying which test did it.
fn in_child_process(test_name: &str, scenario: impl FnOnce()) {
    if !common::ran_in_child_process(test_name, CHILD) {
        scenario();
    }
}

/// A future that stores its waker in `slot` at each poll and never completes.
fn parked_in(slot: Rc<RefCell<Option<Waker>>>) -> impl std::future::Future<Output = ()> {
    poll_fn(move |cx| {
        *slot.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    })
}

/// Counts drops across threads.
struct CountDrop(&'static AtomicUsize);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Wakes (then drops) the waker it holds when the thread exits.
struct WakeOnExit(RefCell<Vec<Waker>>);

impl Drop for WakeOnExit {
    fn drop(&mut self) {
        for waker in self.0.borrow_mut().drain(..) {
            waker.wake_by_ref();
            waker.wake();
        }
    }
}

thread_local! {
    static WAKE_AT_EXIT: WakeOnExit = const { WakeOnExit(RefCell::new(Vec::new())) };
}

#[test]
fn a_waker_in_a_thread_local_woken_at_thread_exit_does_nothing() {
    in_child_process(
        "a_waker_in_a_thread_local_woken_at_thread_exit_does_nothing",
        || {
            static DROPPED: AtomicUsize = AtomicUsize::new(0);
            std::thread::spawn(|| {
                // The thread-local is made before the loop's own, so it is destroyed after it.
                WAKE_AT_EXIT.with(|_| {});
                corun::run(async {
                    let finished = corun::spawn(poll_fn(|cx| Poll::Ready(cx.waker().clone())));
                    let finished = finished.await;
                    let slot = Rc::new(RefCell::new(None));
                    let token = CountDrop(&DROPPED);
                    corun::spawn({
                        let slot = slot.clone();
                        async move {
                            let _token = token;
                            parked_in(slot).await
                        }
                    });
                    corun::yield_now().await;
                    let pending = slot.borrow_mut().take().expect("polled once");
                    WAKE_AT_EXIT.with(|w| w.0.borrow_mut().extend([finished, pending]));
                });
                assert_eq!(DROPPED.load(Ordering::SeqCst), 1, "cancelled by the run");
            })
            .join()
            .expect("the thread exits cleanly");
            assert_eq!(DROPPED.load(Ordering::SeqCst), 1, "dropped exactly once");
        },
    );
}

#[test]
fn a_waker_in_a_thread_local_made_after_the_loop_woken_at_thread_exit_does_nothing() {
    in_child_process(
        "a_waker_in_a_thread_local_made_after_the_loop_woken_at_thread_exit_does_nothing",
        || {
            std::thread::spawn(|| {
                // Here the loop's thread-locals exist first, so they are destroyed after ours.
                corun::run(async {
                    let slot = Rc::new(RefCell::new(None));
                    corun::spawn(parked_in(slot.clone()));
                    corun::yield_now().await;
                    let pending = slot.borrow_mut().take().expect("polled once");
                    WAKE_AT_EXIT.with(|w| w.0.borrow_mut().push(pending));
                });
            })
            .join()
            .expect("the thread exits cleanly");
        },
    );
}

static RUNNER_TASK_DROPPED: AtomicUsize = AtomicUsize::new(0);

/// A runner kept in a thread-local, with a task left on it.
struct KeptRunner(RefCell<Option<Runner>>);

thread_local! {
    static KEPT_RUNNER: KeptRunner = const { KeptRunner(RefCell::new(None)) };
}

fn leave_a_task_on_a_thread_local_runner() {
    KEPT_RUNNER.with(|kept| {
        let mut kept = kept.0.borrow_mut();
        let runner = kept.get_or_insert_with(|| Runner::new(Config::new()));
        runner
            .run(async {
                let token = CountDrop(&RUNNER_TASK_DROPPED);
                corun::spawn(async move {
                    let _token = token;
                    corun::sleep(Duration::from_secs(3600)).await;
                });
                // A cooperative one too: its cleanup makes the close park on a timer while the
                // thread is exiting.
                let token = CountDrop(&RUNNER_TASK_DROPPED);
                corun::spawn(async move {
                    let _token = token;
                    corun::cancelled().await;
                    corun::sleep(Duration::from_millis(1)).await;
                });
                corun::yield_now().await;
            })
            .expect("the runner runs");
    });
}

#[test]
fn a_runner_in_a_thread_local_made_before_the_loop_is_closed_at_thread_exit() {
    in_child_process(
        "a_runner_in_a_thread_local_made_before_the_loop_is_closed_at_thread_exit",
        || {
            std::thread::spawn(|| {
                // The runner's thread-local is touched first: it is destroyed after the loop's
                // own thread-locals.
                KEPT_RUNNER.with(|_| {});
                leave_a_task_on_a_thread_local_runner();
                assert_eq!(RUNNER_TASK_DROPPED.load(Ordering::SeqCst), 0, "still alive");
            })
            .join()
            .expect("the thread exits cleanly");
            assert_eq!(
                RUNNER_TASK_DROPPED.load(Ordering::SeqCst),
                2,
                "the tasks left on the runner are dropped when the thread exits"
            );
        },
    );
}

#[test]
fn a_runner_in_a_thread_local_made_after_the_loop_is_closed_at_thread_exit() {
    in_child_process(
        "a_runner_in_a_thread_local_made_after_the_loop_is_closed_at_thread_exit",
        || {
            std::thread::spawn(|| {
                // A first run touches the loop's thread-locals before the runner's.
                corun::run(async {});
                leave_a_task_on_a_thread_local_runner();
            })
            .join()
            .expect("the thread exits cleanly");
            assert_eq!(
                RUNNER_TASK_DROPPED.load(Ordering::SeqCst),
                2,
                "the tasks left on the runner are dropped when the thread exits"
            );
        },
    );
}

#[test]
fn destructors_during_shutdown_may_wake_any_task_from_any_thread() {
    let drops = Drops::default();
    let tokens = [drops.token(), drops.token(), drops.token()];
    corun::run(async move {
        let [token_a, token_b, token_c] = tokens;
        let finished = corun::spawn(poll_fn(|cx| Poll::Ready(cx.waker().clone()))).await;
        let other = Rc::new(RefCell::new(None));
        let own = Rc::new(RefCell::new(None));
        corun::spawn({
            let other = other.clone();
            async move {
                let _token = token_a;
                parked_in(other).await
            }
        });
        corun::spawn({
            let other = other.clone();
            let own = own.clone();
            async move {
                let _token = token_b;
                let own_slot = own.clone();
                let _guard = OnDrop(move || {
                    let wakers: Vec<Waker> = [&other, &own_slot]
                        .iter()
                        .filter_map(|slot| slot.borrow().clone())
                        .chain([finished.clone()])
                        .collect();
                    for waker in &wakers {
                        waker.wake_by_ref();
                    }
                    // And the same wakers from another thread, while this destructor runs.
                    std::thread::spawn(move || wakers.into_iter().for_each(Waker::wake))
                        .join()
                        .expect("waking from another thread does not panic");
                });
                parked_in(own).await
            }
        });
        corun::spawn(async move {
            let _token = token_c;
            corun::sleep(Duration::from_secs(3600)).await;
        });
        corun::yield_now().await;
    });
    assert_eq!(drops.count(), 3, "every task dropped exactly once");
}

#[test]
fn wakes_from_another_thread_between_runs_of_a_runner_are_not_lost() {
    let mut runner = Runner::new(Config::new());
    let slot = Rc::new(RefCell::new(None));
    let polls = Rc::new(std::cell::Cell::new(0));
    let task = runner
        .run({
            let slot = slot.clone();
            let polls = polls.clone();
            async move {
                let task = corun::spawn(poll_fn(move |cx| {
                    polls.set(polls.get() + 1);
                    if polls.get() == 2 {
                        return Poll::Ready(());
                    }
                    *slot.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }));
                corun::yield_now().await;
                // Handed out of the run as a plain value, to be awaited in the next run.
                Some(task)
            }
        })
        .expect("first run");
    let waker = slot.borrow_mut().take();
    let waker = waker.expect("polled once before the first run ended");
    std::thread::spawn(move || waker.wake())
        .join()
        .expect("no panic");
    runner
        .run(async move {
            task.expect("returned by the first run").await;
        })
        .expect("second run");
    assert_eq!(
        polls.get(),
        2,
        "the wake sent between runs reached the task"
    );
}

#[test]
fn wakers_dropped_or_woken_on_other_threads_after_the_loop_closed_do_nothing() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    let wakers = corun::run(async {
        let slots: Vec<_> = (0..16).map(|_| Rc::new(RefCell::new(None))).collect();
        for slot in &slots {
            let token = CountDrop(&DROPPED);
            let slot = slot.clone();
            corun::spawn(async move {
                let _token = token;
                parked_in(slot).await
            });
        }
        corun::yield_now().await;
        slots
            .iter()
            .map(|slot| slot.borrow_mut().take().expect("polled"))
            .collect::<Vec<_>>()
    });
    assert_eq!(DROPPED.load(Ordering::SeqCst), 16);
    let wakers = Arc::new(wakers);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let wakers = wakers.clone();
            std::thread::spawn(move || {
                for waker in wakers.iter() {
                    if i % 2 == 0 {
                        waker.wake_by_ref();
                    } else {
                        drop(waker.clone());
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no panic on another thread");
    }
    drop(Arc::into_inner(wakers));
    assert_eq!(DROPPED.load(Ordering::SeqCst), 16, "nothing dropped twice");
}

/// Main's waker (not a spawned task's waker: the driver polls main itself) kept after its run:
/// woken by a leftover task's destructor during the run's shutdown, from another thread between
/// runs of a runner, and on the loop's thread during the next run. Each gives main at most a
/// spurious turn; every run still returns its value.
#[test]
fn main_wakers_that_outlive_their_run_do_no_harm() {
    let mut runner = Runner::new(Config::new());
    let first_main = runner
        .run(async {
            let main = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
            let at_shutdown = main.clone();
            corun::spawn(async move {
                let _wake_main_when_dropped = OnDrop(move || at_shutdown.wake_by_ref());
                std::future::pending::<()>().await;
            });
            corun::yield_now().await;
            main
        })
        .expect("first run");
    let from_thread = first_main.clone();
    std::thread::spawn(move || from_thread.wake())
        .join()
        .expect("no panic on another thread");
    let second = runner
        .run(async move {
            first_main.wake_by_ref();
            corun::yield_now().await;
            first_main.wake();
            corun::yield_now().await;
            2
        })
        .expect("second run");
    assert_eq!(second, 2);
}
