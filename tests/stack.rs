//! Stack use: a 64 KiB future spawned (and run as main) on a thread with a 256 KiB stack (384 KiB
//! in a debug build, see `SMALL_STACK`), and
//! chains of 100,000 tasks that wake, await or hold each other, on the same small stack: no
//! frame of the runtime copies a large future many times over, and nothing recurses per task.
//! Run in debug and in release (`cargo test --release --test stack`). Each scenario runs in a
//! child process (this test, re-launched), so that a stack overflow shows up as a failed test.

mod common;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::hint::black_box;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// The stack of the threads the scenarios run on: 256 KiB in release (where 96 KiB is enough).
/// A debug build copies a value at most moves: there, on a bare thread, a task that boxes a
/// 64 KiB future by hand needs 256 KiB, the same future passed to `spawn` 320 KiB, and run as
/// main 384 KiB, so the debug bar is 384 KiB. Before large futures were boxed by the public
/// function that receives them, `spawn` needed 512 KiB (release) and over 2 MiB (debug), and
/// `run` 320 KiB (release) and 768 KiB to 1 MiB (debug).
const SMALL_STACK: usize = if cfg!(debug_assertions) {
    384 * 1024
} else {
    256 * 1024
};
/// The size of the large future.
const LARGE: usize = 64 * 1024;
/// The length of the chains.
const CHAIN: usize = 100_000;

const CHILD: &str = "CORUN_STACK_CHILD";

/// Runs `scenario` on a thread with a `SMALL_STACK` stack, in a child process: a stack overflow
/// aborts the process, which would otherwise take the whole test binary down silently.
fn on_a_small_stack_in_a_child(test_name: &str, scenario: fn()) {
    if common::ran_in_child_process(test_name, CHILD) {
        return;
    }
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(scenario)
        .expect("a thread")
        .join()
        .expect("the scenario passes");
}

/// A future of at least `LARGE` bytes that is pending once.
async fn large_future() -> usize {
    let buffer = [7u8; LARGE];
    corun::yield_now().await;
    black_box(&buffer).iter().map(|&b| usize::from(b)).sum()
}

#[test]
fn a_64_kib_future_spawned_on_a_small_stack_does_not_overflow() {
    on_a_small_stack_in_a_child(
        "a_64_kib_future_spawned_on_a_small_stack_does_not_overflow",
        || {
            assert!(std::mem::size_of_val(&large_future()) >= LARGE);
            let sum = corun::run(async {
                let a = corun::spawn(large_future());
                let b = corun::spawn_named("large", large_future());
                a.await + b.await
            });
            assert_eq!(sum, 2 * 7 * LARGE);
        },
    );
}

#[test]
fn a_64_kib_main_future_on_a_small_stack_does_not_overflow() {
    on_a_small_stack_in_a_child(
        "a_64_kib_main_future_on_a_small_stack_does_not_overflow",
        || {
            let sum = corun::run(large_future());
            assert_eq!(sum, 7 * LARGE);
        },
    );
}

#[test]
fn a_chain_of_100_000_tasks_each_waking_the_next_does_not_recurse() {
    on_a_small_stack_in_a_child(
        "a_chain_of_100_000_tasks_each_waking_the_next_does_not_recurse",
        || {
            let finished = Rc::new(Cell::new(0usize));
            let done = finished.clone();
            corun::run(async move {
                let slots: Rc<Vec<RefCell<Option<Waker>>>> =
                    Rc::new((0..=CHAIN).map(|_| RefCell::new(None)).collect());
                let woken: Rc<Vec<Cell<bool>>> =
                    Rc::new((0..=CHAIN).map(|_| Cell::new(false)).collect());
                for i in 0..CHAIN {
                    let (slots, woken, done) = (slots.clone(), woken.clone(), done.clone());
                    drop(corun::spawn(poll_fn(move |cx| {
                        if !woken[i].get() {
                            *slots[i].borrow_mut() = Some(cx.waker().clone());
                            return Poll::Pending;
                        }
                        // Woken: wake the next one, from inside this poll, and finish.
                        woken[i + 1].set(true);
                        if let Some(next) = slots[i + 1].borrow_mut().take() {
                            next.wake();
                        }
                        done.set(done.get() + 1);
                        Poll::Ready(())
                    })));
                }
                corun::yield_now().await;
                woken[0].set(true);
                let first = slots[0]
                    .borrow_mut()
                    .take()
                    .expect("every task polled once");
                first.wake();
                while done.get() < CHAIN {
                    corun::yield_now().await;
                }
            });
            assert_eq!(finished.get(), CHAIN);
        },
    );
}

#[test]
fn a_chain_of_100_000_tasks_each_awaiting_the_previous_does_not_recurse() {
    on_a_small_stack_in_a_child(
        "a_chain_of_100_000_tasks_each_awaiting_the_previous_does_not_recurse",
        || {
            let last = corun::run(async {
                let mut previous = corun::spawn(async { 0usize });
                for _ in 0..CHAIN {
                    previous = corun::spawn(async move { previous.await + 1 });
                }
                previous.await
            });
            assert_eq!(last, CHAIN);
        },
    );
}

#[test]
fn a_chain_of_100_000_pending_tasks_holding_each_other_is_dropped_without_recursion() {
    on_a_small_stack_in_a_child(
        "a_chain_of_100_000_pending_tasks_holding_each_other_is_dropped_without_recursion",
        || {
            let dropped = Rc::new(Cell::new(0usize));
            let count = dropped.clone();
            corun::run(async move {
                // Each task's future owns the handle of the one before; all wait forever and are
                // cancelled at shutdown.
                let mut previous: Option<corun::Task<()>> = None;
                for _ in 0..CHAIN {
                    let guard = Counter(count.clone());
                    let held = previous.take();
                    previous = Some(corun::spawn(async move {
                        let _guard = guard;
                        let _held = held;
                        std::future::pending::<()>().await;
                    }));
                }
                corun::yield_now().await;
            });
            assert_eq!(dropped.get(), CHAIN);
        },
    );
}

/// Counts its drop.
struct Counter(Rc<Cell<usize>>);

impl Drop for Counter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}
