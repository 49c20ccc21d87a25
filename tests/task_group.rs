//! `task_group`, the contract's points one by one (API.md, "Task groups"): children that borrow,
//! each child a task, asyncio's failure semantics, cancellation from outside, a dropped or leaked
//! group. Drop and poll counters, and the virtual-time loop, rather than sleeps.

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{quiet_panics, virtual_time, Drops, OnDrop, Reports};
use corun::{cancelled, task_group, Failure, ReportKind, TaskError, TaskGroup};

/// Children borrow a `Vec` through a `RefCell`, a `&str` and a `&RefCell` of the enclosing
/// function: no `'static`, no `Rc`, no `unsafe`.
#[test]
fn children_borrow_from_the_enclosing_function() {
    corun::run(async {
        let mut filled = Vec::new();
        let cell = RefCell::new(&mut filled);
        let prefix = String::from("item");
        let prefix: &str = &prefix;
        let shared = RefCell::new(0);
        task_group(async |g| {
            for n in 0..3 {
                let (cell, shared) = (&cell, &shared);
                g.spawn(async move {
                    cell.borrow_mut().push(format!("{prefix}-{n}"));
                    *shared.borrow_mut() += n;
                });
            }
            Ok::<_, &str>(())
        })
        .await
        .unwrap();
        assert_eq!(filled, ["item-0", "item-1", "item-2"]);
        assert_eq!(shared.into_inner(), 3);
    });
}

/// The brief's case, as written: a child borrowing `cell` directly.
#[test]
fn a_child_borrows_a_refcell_of_a_vec() {
    corun::run(async {
        let mut v = Vec::new();
        let cell = RefCell::new(&mut v);
        task_group(async |g| {
            g.spawn(async { cell.borrow_mut().push(1) });
            Ok::<_, &str>(())
        })
        .await
        .unwrap();
        assert_eq!(v, [1]);
    });
}

#[test]
fn a_child_spawns_more_children_and_the_group_waits_for_all() {
    let finished = corun::run(async {
        let finished = Cell::new(0);
        task_group(async |g| {
            let group = g.clone();
            let finished = &finished;
            g.spawn(async move {
                for _ in 0..3 {
                    let inner = group.clone();
                    group.spawn(async move {
                        corun::yield_now().await;
                        inner.spawn(async move { finished.set(finished.get() + 1) });
                        finished.set(finished.get() + 1);
                    });
                }
            });
            Ok::<_, &str>(())
        })
        .await
        .unwrap();
        finished.get()
    });
    assert_eq!(finished, 6);
}

#[test]
fn the_group_returns_the_bodys_value_once_every_child_finished() {
    let (value, order) = virtual_time().run(async {
        let order = RefCell::new(Vec::new());
        let value = task_group(async |g| {
            let order = &order;
            g.spawn(async move {
                corun::sleep(Duration::from_secs(2)).await;
                order.borrow_mut().push("slow child");
            });
            order.borrow_mut().push("body");
            Ok::<_, &str>(7)
        })
        .await
        .unwrap();
        order.borrow_mut().push("after the group");
        (value, order.into_inner())
    });
    assert_eq!(value, 7);
    assert_eq!(order, ["body", "slow child", "after the group"]);
}

#[test]
fn child_outputs_come_in_the_order_children_finish_and_gather_works_over_children() {
    let (finished, gathered) = virtual_time().run(async {
        let finished = RefCell::new(Vec::new());
        let gathered = task_group(async |g| {
            let children: Vec<_> = [3u64, 1, 2]
                .into_iter()
                .map(|n| {
                    let finished = &finished;
                    g.spawn(async move {
                        corun::sleep(Duration::from_secs(n)).await;
                        finished.borrow_mut().push(n);
                        n
                    })
                })
                .collect();
            let mut children = children.into_iter();
            let (a, b, c) = (
                children.next().unwrap(),
                children.next().unwrap(),
                children.next().unwrap(),
            );
            Ok::<_, &str>(corun::gather!(a, b, c).await)
        })
        .await
        .unwrap();
        (finished.into_inner(), gathered)
    });
    assert_eq!(finished, [1, 2, 3], "in the order they finished");
    assert_eq!(gathered, (3, 1, 2), "gather! gives them in its own order");
}

// --- A child is a task in every way a user can see ---

#[test]
fn children_are_named_task_n_from_the_process_wide_counter_or_as_given() {
    corun::run(async {
        let before = corun::spawn(async {});
        task_group(async |g| {
            let child = g.spawn(async {});
            let named = g.spawn_named("indexer", async {});
            assert_eq!(
                child.id().get(),
                before.id().get() + 1,
                "the same counter as spawn"
            );
            assert_eq!(child.name(), format!("Task-{}", child.id()));
            assert_eq!(named.name(), "indexer");
            assert_eq!(named.id().get(), child.id().get() + 1);
            Ok::<_, &str>(())
        })
        .await
        .unwrap();
        let after = corun::spawn(async {});
        assert!(after.id().get() > before.id().get() + 2);
    });
}

#[test]
fn current_task_inside_a_child_is_the_child_and_the_parent_again_after() {
    corun::run(async {
        let main = corun::current_task().unwrap();
        task_group(async |g| {
            let child = g.spawn_named("worker", async {
                let me = corun::current_task().unwrap();
                corun::yield_now().await;
                let again = corun::current_task().unwrap();
                (me.name().to_owned(), me.id(), again.id())
            });
            let id = child.id();
            assert_eq!(
                corun::current_task().unwrap().id(),
                main.id(),
                "the body runs as main"
            );
            let (name, seen, again) = child.await;
            assert_eq!((name.as_str(), seen, again), ("worker", id, id));
            assert_eq!(corun::current_task().unwrap().id(), main.id());
            Ok::<_, &str>(())
        })
        .await
        .unwrap();
    });
}

#[test]
fn task_ref_cancel_cancels_just_that_child_without_failing_the_group() {
    let drops = Drops::default();
    let (sibling_done, joined) = corun::run(async {
        let sibling_done = Cell::new(false);
        let joined = task_group(async |g| {
            let token = drops.token();
            let (send, receive) = std::sync::mpsc::channel();
            let target = g.spawn(async move {
                let _token = token;
                send.send(corun::current_task().unwrap()).unwrap();
                std::future::pending::<()>().await
            });
            let sibling_done = &sibling_done;
            g.spawn(async move {
                corun::yield_now().await;
                corun::yield_now().await;
                sibling_done.set(true);
            });
            corun::yield_now().await;
            let reference = receive.recv().unwrap();
            assert!(reference.cancel());
            let joined = target.join().await;
            assert!(!reference.cancel(), "it has ended");
            Ok::<_, &str>(joined)
        })
        .await
        .unwrap();
        (sibling_done.get(), joined)
    });
    assert!(sibling_done);
    assert!(matches!(joined, Err(TaskError::Cancelled)));
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_child_cancelling_itself_through_its_task_ref_is_dropped_between_polls() {
    let (polls, joined) = corun::run(async {
        task_group(async |g| {
            let (child, polls) = common::counted(async {
                corun::current_task().unwrap().cancel();
                corun::yield_now().await;
                unreachable!("dropped after the poll that cancelled it");
            });
            let child = g.spawn(child);
            Ok::<_, &str>((polls, child.join().await))
        })
        .await
        .unwrap()
    });
    assert_eq!(polls.get(), 1);
    assert!(matches!(joined, Err(TaskError::Cancelled)));
}

#[test]
fn task_ref_cancel_from_another_thread_reaches_the_child() {
    let joined = corun::run(async {
        task_group(async |g| {
            let child = g.spawn(async {
                let me = corun::current_task().unwrap();
                std::thread::spawn(move || assert!(me.cancel()));
                std::future::pending::<()>().await
            });
            Ok::<_, &str>(child.join().await)
        })
        .await
        .unwrap()
    });
    assert!(matches!(joined, Err(TaskError::Cancelled)));
}

#[test]
fn cancelled_inside_a_child_listens_for_that_childs_own_cancellation() {
    let (value, other_polls) = virtual_time().run(async {
        task_group(async |g| {
            let listener = g.spawn(async {
                cancelled().await;
                corun::sleep(Duration::from_secs(1)).await; // cleanup that awaits
                "cleaned up"
            });
            let (other, polls) = common::counted(corun::sleep(Duration::from_secs(10)));
            let other = g.spawn(other);
            corun::yield_now().await;
            assert!(listener.cancel());
            let value = listener.join().await.unwrap();
            assert!(!other.is_finished(), "its sibling was not cancelled");
            other.await;
            Ok::<_, &str>((value, polls.get()))
        })
        .await
        .unwrap()
    });
    assert_eq!(value, "cleaned up");
    assert_eq!(other_polls, 2);
}

#[test]
fn debug_mode_reports_a_slow_child_by_name_and_spawn_site_and_not_its_parent() {
    const BLOCKED: Duration = Duration::from_millis(200);
    // Debug mode captures a backtrace at each spawn; the first capture in a process is slow.
    drop(std::backtrace::Backtrace::force_capture());
    let reports = Reports::default();
    reports
        .config()
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(20))
        .run(async {
            task_group(async |g| {
                g.spawn_named("blocker", async {
                    std::thread::sleep(BLOCKED);
                });
                Ok::<_, &str>(())
            })
            .await
            .unwrap();
        });
    let slow = reports.of_kind(ReportKind::SlowPoll);
    let child: Vec<_> = slow
        .iter()
        .filter(|r| r.task_name() == Some("blocker"))
        .collect();
    assert_eq!(child.len(), 1, "{slow:?}");
    assert_eq!(child[0].spawned_at().unwrap().file(), file!());
    assert!(child[0].elapsed().unwrap() >= BLOCKED);
    for parent in slow.iter().filter(|r| r.task_name() == Some("main")) {
        // Its poll may be slow on its own (spawn backtraces), never by the child's
        // blocking (a margin of 200 ms for a loaded machine).
        assert!(parent.elapsed().unwrap() < BLOCKED, "{parent:?}");
    }
}

#[test]
fn debug_mode_reports_children_cancelled_at_shutdown_by_name() {
    let reports = Reports::default();
    reports.config().debug(true).run(async {
        corun::spawn(async {
            task_group(async |g| {
                g.spawn_named("left behind", std::future::pending::<()>());
                Ok::<_, &str>(())
            })
            .await
        });
        corun::yield_now().await;
        corun::yield_now().await;
    });
    let cancelled = reports.of_kind(ReportKind::CancelledAtShutdown);
    let child = cancelled
        .iter()
        .find(|report| report.task_name() == Some("left behind"))
        .unwrap_or_else(|| panic!("the child is reported: {cancelled:?}"));
    assert_eq!(child.spawned_at().unwrap().file(), file!());
}

// --- asyncio's semantics ---

#[test]
fn a_childs_panic_cancels_the_others_and_is_in_the_error_once() {
    quiet_panics();
    let reports = Reports::default();
    let drops = Drops::default();
    let error = reports.config().run(async {
        task_group(async |g| {
            for _ in 0..3 {
                let token = drops.token();
                g.spawn(async move {
                    let _token = token;
                    std::future::pending::<()>().await
                });
            }
            g.spawn_named("bad", async {
                corun::yield_now().await;
                panic!("[expected] boom")
            });
            Ok::<_, &str>(())
        })
        .await
        .unwrap_err()
    });
    assert_eq!(drops.count(), 3, "the others were cancelled");
    assert!(!error.was_cancelled());
    let [failure] = error.failures() else {
        panic!("one failure: {error:?}")
    };
    assert_eq!(failure.name(), "bad");
    assert!(matches!(failure.failure(), Failure::Panicked(_)));
    assert!(error.to_string().contains("[expected] boom"), "{error}");
    assert!(
        reports.all().is_empty(),
        "not reported as unretrieved: {:?}",
        reports.all()
    );
}

#[test]
fn a_try_spawn_childs_err_fails_the_group_and_names_it() {
    let error = corun::run(async {
        task_group(async |g| {
            g.spawn(async {});
            g.try_spawn(async { Err::<(), _>("no such file") });
            Ok(())
        })
        .await
        .unwrap_err()
    });
    let failure = &error.failures()[0];
    assert!(matches!(failure.failure(), Failure::Error("no such file")));
    assert!(failure.name().starts_with("Task-"));
    let shown = error.to_string();
    assert!(shown.contains(failure.name()), "{shown}");
    assert!(shown.contains(file!()), "the spawn site: {shown}");
    assert!(shown.contains("no such file"), "{shown}");
}

#[test]
fn listening_children_finish_their_cleanup_before_the_group_returns() {
    let cleaned = virtual_time().run(async {
        let cleaned = Cell::new(0);
        let error = task_group(async |g| {
            for _ in 0..2 {
                let cleaned = &cleaned;
                g.spawn(async move {
                    cancelled().await;
                    corun::sleep(Duration::from_secs(5)).await; // flush, say
                    cleaned.set(cleaned.get() + 1);
                });
            }
            g.try_spawn(async {
                corun::sleep(Duration::from_secs(1)).await;
                Err::<(), _>("failed")
            });
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(error.failures().len(), 1);
        cleaned.get()
    });
    assert_eq!(cleaned, 2);
}

#[test]
fn the_bodys_err_and_panic_are_failures_named_after_the_task_running_the_group() {
    quiet_panics();
    corun::run(async {
        let error = task_group(async |g| {
            g.spawn(std::future::pending::<()>());
            Err::<(), _>("bad request")
        })
        .await
        .unwrap_err();
        let failure = &error.failures()[0];
        assert_eq!(failure.name(), "main");
        assert_eq!(failure.id(), corun::current_task().unwrap().id());
        assert!(matches!(failure.failure(), Failure::Error("bad request")));

        let error = task_group(async |_: &TaskGroup<'_, &str>| -> Result<(), &str> {
            panic!("[expected] body panicked")
        })
        .await
        .unwrap_err();
        assert!(error.to_string().contains("the body"), "{error}");
        assert!(matches!(
            error.failures()[0].failure(),
            Failure::Panicked(_)
        ));
    });
}

#[test]
fn a_body_that_fails_while_waiting_is_dropped_and_its_children_cancelled() {
    let drops = Drops::default();
    let error = corun::run(async {
        task_group(async |g| {
            let token = drops.token();
            g.spawn(async move {
                let _token = token;
                std::future::pending::<()>().await
            });
            corun::yield_now().await;
            Err::<(), _>(1)
        })
        .await
        .unwrap_err()
    });
    assert_eq!(drops.count(), 1);
    assert_eq!(error.failures().len(), 1);
}

#[test]
fn every_failure_is_collected_in_order() {
    quiet_panics();
    let error = virtual_time().run(async {
        task_group(async |g| {
            g.spawn_named("second", async {
                cancelled().await;
                panic!("[expected] while cleaning up");
            });
            g.try_spawn(async {
                corun::sleep(Duration::from_secs(1)).await;
                Err::<(), _>("first")
            });
            Ok(())
        })
        .await
        .unwrap_err()
    });
    let names: Vec<&str> = error.failures().iter().map(|f| f.name()).collect();
    assert_eq!(names.len(), 2);
    assert!(matches!(
        error.failures()[0].failure(),
        Failure::Error("first")
    ));
    assert_eq!(names[1], "second");
}

#[test]
fn a_child_spawned_while_the_group_is_failing_starts_cancelled() {
    let (polls, joined) = corun::run(async {
        let polls = Rc::new(Cell::new(0));
        let joined = Rc::new(RefCell::new(None));
        let error = task_group(async |g| {
            let group = g.clone();
            let (polls, joined) = (polls.clone(), joined.clone());
            g.spawn(async move {
                cancelled().await;
                let (late, late_polls) = common::counted(async {});
                polls.set(late_polls.get());
                let late = group.spawn(late);
                *joined.borrow_mut() = Some(late.join().await);
                polls.set(late_polls.get());
            });
            g.try_spawn(async { Err::<(), _>("err") });
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(error.failures().len(), 1, "the late child is not a failure");
        (polls.get(), joined.take())
    });
    assert_eq!(polls, 0, "none of its code ran");
    assert!(matches!(joined, Some(Err(TaskError::Cancelled))));
}

#[test]
fn awaiting_a_failed_child_cancels_the_awaiting_code_at_that_point() {
    quiet_panics();
    let (after_await, dropped) = corun::run(async {
        let after_await = Cell::new(false);
        let dropped = Cell::new(false);
        let error = task_group(async |g| {
            let failing = g.spawn(async {
                corun::yield_now().await;
                panic!("[expected] failing")
            });
            let (after_await, dropped) = (&after_await, &dropped);
            g.spawn(async move {
                let _listening = std::pin::pin!(cancelled()); // listening does not keep it
                let _guard = OnDrop(|| dropped.set(true));
                failing.await;
                after_await.set(true);
            });
            Ok::<_, &str>(())
        })
        .await
        .unwrap_err();
        assert_eq!(
            error.failures().len(),
            1,
            "the awaiter's end is not another failure"
        );
        (after_await.get(), dropped.get())
    });
    assert!(!after_await);
    assert!(dropped);
}

#[test]
fn a_listening_child_selecting_a_failed_child_and_cancelled_goes_on_with_its_cleanup() {
    quiet_panics();
    let cleaned = virtual_time().run(async {
        let cleaned = Cell::new(false);
        let error = task_group(async |g| {
            let failing = g.spawn(async {
                corun::yield_now().await;
                panic!("[expected] failing")
            });
            let cleaned = &cleaned;
            g.spawn(async move {
                // The child first, so that it is polled (and gives nothing) before cancelled().
                let stop = std::pin::pin!(cancelled());
                let _ = futures::future::select(failing, stop).await;
                corun::sleep(Duration::from_secs(1)).await; // cleanup that awaits
                cleaned.set(true);
            });
            Ok::<_, &str>(())
        })
        .await
        .unwrap_err();
        assert_eq!(error.failures().len(), 1);
        cleaned.get()
    });
    assert!(cleaned);
}

#[test]
fn awaiting_a_child_cancelled_on_request_panics_naming_it_and_join_gives_err() {
    quiet_panics();
    let error = corun::run(async {
        task_group(async |g| {
            let a = g.spawn_named("stopped", std::future::pending::<()>());
            let b = g.spawn(std::future::pending::<()>());
            a.cancel();
            b.cancel();
            assert!(matches!(b.join().await, Err(TaskError::Cancelled)));
            a.await;
            Ok::<_, &str>(())
        })
        .await
        .unwrap_err()
    });
    let [failure] = error.failures() else {
        panic!("the body's panic: {error:?}")
    };
    assert!(
        failure.to_string().contains("'stopped' was cancelled"),
        "{failure}"
    );
}

#[test]
fn a_child_cancelled_on_request_does_not_fail_the_group() {
    let value = corun::run(async {
        task_group(async |g| {
            let child = g.spawn(std::future::pending::<()>());
            corun::yield_now().await;
            assert!(child.cancel());
            assert!(!child.is_finished());
            corun::yield_now().await;
            assert!(child.is_finished());
            assert!(!child.cancel(), "already ended");
            Ok::<_, &str>("fine")
        })
        .await
    });
    assert_eq!(value.unwrap(), "fine");
}

#[test]
fn task_group_cancel_ends_the_group_with_was_cancelled_and_no_failures() {
    let drops = Drops::default();
    let (error, late_polls, body_went_on) = corun::run(async {
        let late_polls = Rc::new(Cell::new(0));
        let body_went_on = Cell::new(false);
        let error = task_group(async |g| {
            let token = drops.token();
            g.spawn(async move {
                let _token = token;
                std::future::pending::<()>().await
            });
            g.cancel();
            let (late, polls) = common::counted(async {});
            late_polls.set(usize::MAX);
            let late_polls = late_polls.clone();
            let _record = OnDrop(move || late_polls.set(polls.get()));
            g.spawn(late); // starts cancelled, as cancel() came first
            corun::yield_now().await;
            body_went_on.set(true); // never: the body is dropped at its await
            Ok::<_, &str>(())
        })
        .await
        .unwrap_err();
        (error, late_polls.get(), body_went_on.get())
    });
    assert!(error.was_cancelled());
    assert!(error.failures().is_empty());
    assert_eq!(error.to_string(), "task group was cancelled");
    assert_eq!(drops.count(), 1);
    assert!(!body_went_on, "the body did not go on past its await");
    assert_eq!(late_polls, 0, "the child spawned after cancel() never ran");
}

#[test]
fn a_failure_in_an_outer_group_reaches_an_inner_group_through_its_child() {
    let (inner_cancelled, cleaned) = virtual_time().run(async {
        let inner_cancelled = Cell::new(false);
        let cleaned = Cell::new(false);
        let error = task_group(async |outer| {
            let (inner_cancelled, cleaned) = (&inner_cancelled, &cleaned);
            outer.spawn_named("runs a group", async move {
                let inner = task_group(async |g| {
                    g.spawn(async {
                        cancelled().await;
                        corun::sleep(Duration::from_secs(1)).await;
                        cleaned.set(true);
                    });
                    Ok::<_, &str>(())
                })
                .await;
                inner_cancelled.set(inner.unwrap_err().was_cancelled());
            });
            outer.try_spawn(async {
                corun::sleep(Duration::from_secs(1)).await;
                Err::<(), _>("outer failure")
            });
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(error.failures().len(), 1);
        (inner_cancelled.get(), cleaned.get())
    });
    assert!(
        inner_cancelled,
        "the inner group was cancelled from outside"
    );
    assert!(cleaned, "its listening child finished its cleanup first");
}

// --- Cancelled from outside, dropped, leaked ---

#[test]
fn a_group_whose_task_is_cancelled_and_not_listening_is_dropped_with_its_children() {
    let drops = Drops::default();
    let joined = corun::run(async {
        let token = drops.token();
        let task = corun::spawn(async move {
            task_group(async move |g| {
                g.spawn(async move {
                    let _token = token;
                    std::future::pending::<()>().await
                });
                std::future::pending::<()>().await;
                Ok::<_, &str>(())
            })
            .await
        });
        corun::yield_now().await;
        corun::yield_now().await;
        task.cancel();
        task.join().await
    });
    assert!(matches!(joined, Err(TaskError::Cancelled)));
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_group_whose_task_is_cancelled_lets_listening_children_finish_and_says_cancelled() {
    let (outcome, cleaned) = virtual_time().run(async {
        let task = corun::spawn(async {
            let cleaned = Rc::new(Cell::new(false));
            let flag = cleaned.clone();
            let outcome = task_group(async move |g| {
                g.spawn(async move {
                    cancelled().await;
                    corun::sleep(Duration::from_secs(1)).await;
                    flag.set(true);
                });
                g.spawn(std::future::pending::<()>());
                Ok::<_, &str>(())
            })
            .await;
            (outcome.map_err(|e| e.was_cancelled()), cleaned.get())
        });
        corun::yield_now().await;
        corun::yield_now().await;
        task.cancel();
        task.await
    });
    assert_eq!(outcome, Err(true));
    assert!(cleaned);
}

#[test]
fn task_ref_cancel_of_main_reaches_a_group_with_a_listening_child() {
    let outcome = virtual_time().run(async {
        let main = corun::current_task().unwrap();
        let outcome = task_group(async |g| {
            g.spawn(async {
                cancelled().await;
                corun::sleep(Duration::from_secs(1)).await;
            });
            g.spawn(async move {
                corun::sleep(Duration::from_secs(1)).await;
                main.cancel();
            });
            Ok::<_, &str>(())
        })
        .await;
        outcome.map_err(|e| e.was_cancelled())
    });
    assert_eq!(outcome, Err(true));
}

#[test]
fn a_timeout_around_the_group_drops_every_child_at_once_as_itself() {
    let dropped_as = RefCell::new(Vec::new());
    let elapsed = virtual_time().run(async {
        let outcome = corun::timeout(
            Duration::from_secs(1),
            task_group(async |g| {
                for name in ["a", "b"] {
                    let dropped_as = &dropped_as;
                    g.spawn_named(name, async move {
                        let _guard = OnDrop(|| {
                            let me = corun::current_task().map(|t| t.name().to_owned());
                            dropped_as.borrow_mut().push(me);
                        });
                        std::future::pending::<()>().await
                    });
                }
                Ok::<_, &str>(())
            }),
        )
        .await;
        outcome.is_err()
    });
    assert!(elapsed);
    assert_eq!(
        dropped_as.into_inner(),
        [Some("a".to_owned()), Some("b".to_owned())]
    );
}

#[test]
fn a_panic_collected_by_a_group_dropped_midway_is_reported_once() {
    quiet_panics();
    let reports = Reports::default();
    reports
        .config()
        .loop_factory(corun::loops::VirtualTimeLoop::new)
        .run(async {
            let outcome = corun::timeout(
                Duration::from_secs(1),
                task_group(async |g| {
                    g.spawn(async {
                        cancelled().await;
                        std::future::pending::<()>().await // a cleanup that never ends
                    });
                    g.spawn_named("crashed", async { panic!("[expected] lost?") });
                    Ok::<_, &str>(())
                }),
            )
            .await;
            assert!(outcome.is_err());
        });
    let lost = reports.of_kind(ReportKind::UnretrievedPanic);
    assert_eq!(lost.len(), 1, "{:?}", reports.all());
    assert_eq!(lost[0].task_name(), Some("crashed"));
    assert!(lost[0].message().contains("[expected] lost?"));
}

#[test]
fn the_run_shuts_down_a_group_left_running_and_its_listening_children_clean_up() {
    let cleaned = Rc::new(Cell::new(false));
    let flag = cleaned.clone();
    virtual_time().run(async move {
        corun::spawn(async move {
            task_group(async move |g| {
                g.spawn(async move {
                    cancelled().await;
                    corun::sleep(Duration::from_millis(10)).await;
                    flag.set(true);
                });
                Ok::<_, &str>(())
            })
            .await
        });
        corun::yield_now().await;
        corun::yield_now().await;
    });
    assert!(cleaned.get());
}

/// Polls a future once, then leaks it.
struct PollOnceThenLeak<F>(Option<Pin<Box<F>>>);

impl<F: Future> Future for PollOnceThenLeak<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut future = self.0.take().unwrap();
        assert!(future.as_mut().poll(cx).is_pending());
        std::mem::forget(future);
        Poll::Ready(())
    }
}

#[test]
fn a_leaked_group_only_stops_its_children() {
    let drops = Drops::default();
    let polls = corun::run(async {
        let token = drops.token();
        let (child, polls) = common::counted(async move {
            let _token = token;
            loop {
                corun::yield_now().await;
            }
        });
        let mut child = Some(child);
        PollOnceThenLeak(Some(Box::pin(task_group(async move |g| {
            g.spawn(child.take().unwrap());
            std::future::pending::<()>().await;
            Ok::<_, &str>(())
        }))))
        .await;
        corun::yield_now().await;
        corun::yield_now().await;
        polls.get()
    });
    assert_eq!(
        polls, 0,
        "the leaked group never polls its child again (nor did it start)"
    );
    assert_eq!(drops.count(), 0, "nor drops it: leaked, not freed");
}

#[test]
fn a_panic_while_dropping_a_cancelled_child_is_reported() {
    quiet_panics();
    let reports = Reports::default();
    let error = reports.config().run(async {
        task_group(async |g| {
            g.spawn_named("bad destructor", async {
                let _guard = OnDrop(|| panic!("[expected] in drop"));
                std::future::pending::<()>().await
            });
            g.try_spawn(async {
                corun::yield_now().await;
                Err::<(), _>("err")
            });
            Ok(())
        })
        .await
        .unwrap_err()
    });
    assert_eq!(error.failures().len(), 1);
    let reported = reports.of_kind(ReportKind::PanicWhileCancelling);
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].task_name(), Some("bad destructor"));
}

#[test]
fn a_wake_polls_only_the_woken_child() {
    let (others, woken) = corun::run(async {
        let others = RefCell::new(Vec::new());
        let woken = Cell::new(0);
        let outcome = task_group(async |g| {
            let mut polls = Vec::new();
            for _ in 0..100 {
                let (child, count) = common::counted(std::future::pending::<()>());
                g.spawn(child);
                polls.push(count);
            }
            let slot: Rc<RefCell<Option<std::task::Waker>>> = Rc::default();
            let seen = slot.clone();
            let (child, count) = common::counted(std::future::poll_fn(move |cx| {
                if seen.borrow_mut().replace(cx.waker().clone()).is_some() {
                    return Poll::Ready(());
                }
                Poll::Pending
            }));
            g.spawn(child);
            corun::yield_now().await;
            slot.borrow().as_ref().unwrap().wake_by_ref();
            corun::yield_now().await;
            *others.borrow_mut() = polls.iter().map(|c| c.get()).collect();
            woken.set(count.get());
            g.cancel();
            Ok::<_, &str>(())
        })
        .await;
        assert!(outcome.unwrap_err().was_cancelled());
        (others.into_inner(), woken.get())
    });
    assert_eq!(woken, 2, "polled again when woken");
    assert!(others.iter().all(|&polls| polls == 1), "{others:?}");
}
