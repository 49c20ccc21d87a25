//! The end of a run, in asyncio's order: main finishes → every live task is cancelled (futures
//! dropped inside the loop's context) → panics while cancelling are reported → the loop closes →
//! the value is returned or main's panic resumed.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::catch_unwind;
use std::rc::Rc;
use std::time::Duration;

use common::{quiet_panics, Drops, OnDrop, Reports};
use corun::ReportKind;

#[test]
fn leftover_tasks_are_cancelled() {
    let drops = Drops::default();
    let tokens: Vec<_> = (0..100).map(|_| drops.token()).collect();
    corun::run(async move {
        for token in tokens {
            corun::spawn(async move {
                let _token = token;
                corun::sleep(Duration::from_secs(3600)).await;
            });
        }
        corun::yield_now().await;
    });
    assert_eq!(drops.count(), 100);
}

#[test]
fn a_task_spawned_just_before_main_returns_runs_to_its_first_await_then_is_cancelled() {
    let drops = Drops::default();
    let token = drops.token();
    let steps = Rc::new(RefCell::new(Vec::new()));
    let log = steps.clone();
    let (future, polls) = common::counted(async move {
        let _token = token;
        log.borrow_mut().push("before its first await");
        std::future::pending::<()>().await;
        log.borrow_mut().push("after its first await");
    });
    corun::run(async move {
        drop(corun::spawn(future));
    });
    assert_eq!(
        polls.get(),
        1,
        "it was ready when main finished: it got its turn"
    );
    assert_eq!(*steps.borrow(), ["before its first await"]);
    assert_eq!(drops.count(), 1, "then the shutdown cancelled it");
}

#[test]
fn only_the_work_ready_when_main_finished_runs_before_the_sweep() {
    let (inner, inner_polls) = common::counted(async {});
    let (outer, outer_polls) = common::counted(async move {
        // Spawned during the last batch: it waits for the sweep, which cancels it unpolled.
        drop(corun::spawn(inner));
        std::future::pending::<()>().await;
    });
    corun::run(async move {
        drop(corun::spawn(outer));
    });
    assert_eq!(outer_polls.get(), 1, "ready when main finished: it ran");
    assert_eq!(
        inner_polls.get(),
        0,
        "spawned after main finished: cancelled before it ran"
    );
}

#[test]
fn destructors_run_inside_the_loop_context() {
    let observed = Rc::new(RefCell::new(Vec::new()));
    let log = observed.clone();
    corun::run(async move {
        corun::spawn_named("holder", async move {
            let _guard = OnDrop(move || {
                let task = corun::current_task().map(|t| t.name().to_owned());
                log.borrow_mut().push(format!("current={task:?}"));
                // A destructor may read the clock, spawn and arm timers.
                let _ = corun::now();
                drop(corun::spawn(async {}));
                let log = log.clone();
                drop(corun::spawn(async move {
                    log.borrow_mut()
                        .push("spawned-during-shutdown polled".to_owned());
                }));
            });
            std::future::pending::<()>().await;
        });
        corun::yield_now().await;
    });
    let observed = observed.borrow();
    assert_eq!(observed[0], "current=Some(\"holder\")");
    assert!(
        !observed.iter().any(|line| line.contains("polled")),
        "tasks spawned while shutting down are cancelled before they run: {observed:?}"
    );
}

#[test]
fn tasks_spawned_during_shutdown_are_cancelled_and_dropped() {
    let drops = Drops::default();
    let inner = drops.clone();
    corun::run(async move {
        corun::spawn(async move {
            let inner = inner.clone();
            let _guard = OnDrop(move || {
                let token = inner.token();
                drop(corun::spawn(async move {
                    let _token = token;
                    std::future::pending::<()>().await;
                }));
            });
            std::future::pending::<()>().await;
        });
        corun::yield_now().await;
    });
    assert_eq!(
        drops.count(),
        1,
        "the task spawned by a destructor was dropped too"
    );
}

#[test]
fn a_chain_of_spawn_on_drop_ends() {
    fn link(remaining: usize, counter: Rc<Cell<usize>>) {
        counter.set(counter.get() + 1);
        if remaining == 0 {
            return;
        }
        // The guard is made now and moved in, so dropping the future (even unpolled) runs it.
        let guard = OnDrop(move || link(remaining - 1, counter.clone()));
        drop(corun::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
    }
    let counter = Rc::new(Cell::new(0));
    let links = counter.clone();
    corun::run(async move { link(10_000, links) });
    assert_eq!(counter.get(), 10_001);
}

#[test]
fn destructors_may_wake_other_tasks_during_shutdown() {
    let drops = Drops::default();
    let tokens = (drops.token(), drops.token());
    corun::run(async move {
        let (token_a, token_b) = tokens;
        let waiter = corun::spawn(async move {
            let _token = token_b;
            std::future::pending::<()>().await;
        });
        let waiter = Rc::new(RefCell::new(Some(waiter)));
        let held = waiter.clone();
        corun::spawn(async move {
            let _token = token_a;
            let _guard = OnDrop(move || {
                if let Some(task) = held.borrow_mut().take() {
                    task.cancel();
                }
            });
            std::future::pending::<()>().await;
        });
        corun::yield_now().await;
    });
    assert_eq!(drops.count(), 2);
}

#[test]
fn panics_while_cancelling_are_reported_with_the_task_name_and_none_lost() {
    quiet_panics();
    let reports = Reports::default();
    reports.config().run(async {
        for i in 0..3 {
            corun::spawn_named(format!("bad-{i}"), async move {
                let _guard = OnDrop(move || panic!("[expected] cleanup {i} failed"));
                std::future::pending::<()>().await;
            });
        }
        corun::yield_now().await;
    });
    let mut names: Vec<_> = reports
        .of_kind(ReportKind::PanicWhileCancelling)
        .iter()
        .map(|r| r.task_name().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["bad-0", "bad-1", "bad-2"]);
}

#[test]
fn main_panic_is_resumed_after_the_tasks_are_cancelled() {
    quiet_panics();
    let drops = Drops::default();
    let token = drops.token();
    let seen_at_panic = Rc::new(Cell::new(usize::MAX));
    let probe = (drops.clone(), seen_at_panic.clone());
    let caught = catch_unwind(std::panic::AssertUnwindSafe(move || {
        corun::run(async move {
            corun::spawn(async move {
                let _token = token;
                std::future::pending::<()>().await;
            });
            corun::yield_now().await;
            probe.1.set(probe.0.count());
            panic!("[expected] main failed");
        })
    }));
    assert!(caught.is_err());
    assert_eq!(
        seen_at_panic.get(),
        0,
        "the task was alive when main panicked"
    );
    assert_eq!(
        drops.count(),
        1,
        "and cancelled before the panic reached the caller"
    );
}

#[test]
fn a_panic_in_one_task_propagates_after_the_others_are_cancelled() {
    quiet_panics();
    let drops = Drops::default();
    let tokens: Vec<_> = (0..3).map(|_| drops.token()).collect();
    let caught = catch_unwind(std::panic::AssertUnwindSafe(|| {
        common::virtual_time().run(async move {
            for token in tokens {
                corun::spawn(async move {
                    let _token = token;
                    corun::sleep(Duration::from_secs(60)).await;
                });
            }
            let failing = corun::spawn(async {
                corun::sleep(Duration::from_secs(1)).await;
                panic!("[expected] worker failed");
            });
            failing.await;
        })
    }));
    assert_eq!(
        caught.unwrap_err().downcast_ref::<&str>(),
        Some(&"[expected] worker failed")
    );
    assert_eq!(drops.count(), 3);
}

#[test]
fn the_value_is_returned_after_shutdown() {
    let drops = Drops::default();
    let token = drops.token();
    let probe = drops.clone();
    let (value, alive_at_return) = corun::run(async move {
        corun::spawn(async move {
            let _token = token;
            std::future::pending::<()>().await;
        });
        corun::yield_now().await;
        (42, probe.count() == 0)
    });
    assert_eq!(value, 42);
    assert!(alive_at_return);
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_waker_used_from_another_thread_after_the_run_does_nothing() {
    let waker = corun::run(async {
        let task = corun::spawn(std::future::poll_fn(|cx| {
            std::task::Poll::<std::task::Waker>::Ready(cx.waker().clone())
        }));
        task.await
    });
    let sleeping = corun::run(async {
        let waker = Rc::new(RefCell::new(None));
        let slot = waker.clone();
        corun::spawn(std::future::poll_fn(move |cx| {
            *slot.borrow_mut() = Some(cx.waker().clone());
            std::task::Poll::<()>::Pending
        }));
        corun::yield_now().await;
        let taken = waker.borrow_mut().take();
        taken.unwrap()
    });
    std::thread::spawn(move || {
        waker.wake_by_ref();
        sleeping.wake_by_ref();
        waker.wake();
        sleeping.wake();
    })
    .join()
    .expect("waking a finished run's tasks from another thread does not panic");
}

#[test]
fn runs_on_several_threads_at_once_are_independent() {
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            std::thread::spawn(move || {
                corun::run(async move {
                    let tasks: Vec<_> = (0..100u64)
                        .map(|j| {
                            corun::spawn(async move {
                                corun::yield_now().await;
                                i * 1000 + j
                            })
                        })
                        .collect();
                    let mut sum = 0;
                    for task in tasks {
                        sum += task.await;
                    }
                    sum
                })
            })
        })
        .collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let expected: Vec<u64> = (0..4).map(|i| i * 100_000 + 4950).collect();
    assert_eq!(sums, expected);
}
