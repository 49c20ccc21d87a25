//! Tasks: spawn, names and ids, awaiting and joining, cancellation, detaching, current_task.
//! Lifecycle checks count polls and drops after each step instead of sleeping.

mod common;

use std::cell::Cell;
use std::panic::catch_unwind;
use std::rc::Rc;
use std::time::Duration;

use common::{counted, quiet_panics, Drops, Reports};
use corun::{ReportKind, TaskError};

#[test]
fn spawned_task_is_scheduled_and_polled_once_per_wake() {
    corun::run(async {
        let (future, polls) = counted(async { corun::yield_now().await });
        let task = corun::spawn(future);
        assert_eq!(polls.get(), 0, "spawn only schedules");
        corun::yield_now().await;
        assert_eq!(polls.get(), 1, "first poll yields");
        corun::yield_now().await;
        assert_eq!(polls.get(), 2, "second poll completes");
        assert!(task.is_finished());
        task.await;
        assert_eq!(
            polls.get(),
            2,
            "awaiting a finished task does not poll it again"
        );
    });
}

#[test]
fn default_names_count_up_and_match_ids() {
    corun::run(async {
        let a = corun::spawn(async {});
        let b = corun::spawn(async {});
        assert_eq!(a.name(), format!("Task-{}", a.id()));
        assert_eq!(b.name(), format!("Task-{}", b.id()));
        assert!(b.id() > a.id());
    });
}

/// The default name is made on the first call, kept with the task and shared by every thread
/// that asks: a handle sent to another thread while the task runs shows the same string.
#[test]
fn a_default_name_is_made_once_and_kept_with_the_task() {
    corun::run(async {
        let task = corun::spawn(async { corun::yield_now().await });
        let first: *const str = task.name();
        let (task, there) = std::thread::spawn(move || {
            let there = task.name().to_owned();
            (task, there)
        })
        .join()
        .unwrap();
        assert_eq!(there, format!("Task-{}", task.id()));
        assert!(std::ptr::eq(first, task.name()), "made once, kept");
        task.await;
    });
}

#[test]
fn spawn_named_keeps_the_name() {
    corun::run(async {
        let task = corun::spawn_named("worker-1", async {
            corun::current_task().unwrap().name().to_owned()
        });
        assert_eq!(task.name(), "worker-1");
        assert_eq!(task.await, "worker-1");
    });
}

#[test]
fn main_runs_as_a_task() {
    let (name, inside, outside) = corun::run(async {
        let main = corun::current_task().expect("main is a task");
        let inner = corun::spawn(async { corun::current_task().unwrap().id() }).await;
        (
            main.name().to_owned(),
            inner != main.id(),
            corun::current_task().unwrap().id() == main.id(),
        )
    });
    assert_eq!(name, "main");
    assert!(inside && outside);
    assert!(corun::current_task().is_none(), "no task outside a run");
}

#[test]
fn awaiting_a_task_resumes_its_panic_in_the_awaiter() {
    quiet_panics();
    let caught = corun::run(async {
        let task = corun::spawn(async { panic!("[expected] task failed") });
        let awaiter = corun::spawn(task); // the awaiter task awaits the handle
        awaiter.join().await
    });
    match caught {
        Err(TaskError::Panicked(payload)) => {
            assert_eq!(
                payload.downcast_ref::<&str>(),
                Some(&"[expected] task failed")
            )
        }
        other => panic!("expected the panic to travel through the awaiter, got {other:?}"),
    }
}

#[test]
fn join_gives_the_outcome_as_a_result() {
    quiet_panics();
    corun::run(async {
        assert_eq!(corun::spawn(async { 3 }).join().await.unwrap(), 3);
        let failed = corun::spawn(async { panic!("[expected] join me") })
            .join()
            .await;
        assert!(matches!(failed, Err(TaskError::Panicked(_))));
        let cancelled = corun::spawn(std::future::pending::<()>());
        cancelled.cancel();
        assert!(cancelled.join().await.unwrap_err().is_cancelled());
    });
}

#[test]
fn awaiting_a_cancelled_task_panics_naming_it() {
    quiet_panics();
    let message = corun::run(async {
        let task = corun::spawn_named("doomed", std::future::pending::<()>());
        task.cancel();
        let awaiter = corun::spawn(task); // the awaiter task awaits the handle
        match awaiter.join().await {
            Err(TaskError::Panicked(payload)) => payload.downcast_ref::<String>().cloned(),
            _ => None,
        }
    });
    let message = message.expect("awaiting a cancelled task panics with a String");
    assert!(message.contains("'doomed' was cancelled"), "{message}");
}

/// Spawns a task that waits forever; returns its handle, its future's drop count and its poll
/// count.
fn spawn_waiting_forever() -> (corun::Task<()>, Drops, Rc<Cell<usize>>) {
    let drops = Drops::default();
    let token = drops.token();
    let (future, polls) = counted(async move {
        let _token = token;
        std::future::pending::<()>().await;
    });
    (corun::spawn(future), drops, polls)
}

#[test]
fn cancel_drops_the_future_at_the_next_turn_not_mid_poll() {
    corun::run(async {
        let (task, drops, polls) = spawn_waiting_forever();
        corun::yield_now().await;
        assert_eq!(polls.get(), 1);
        assert!(task.cancel());
        assert_eq!(drops.count(), 0, "cancel only asks");
        corun::yield_now().await;
        assert_eq!(drops.count(), 1, "dropped at the loop's next turn");
        assert_eq!(polls.get(), 1, "a cancelled future is not polled again");
        assert!(task.is_finished());
        assert!(!task.cancel(), "cancel of a finished task returns false");
    });
}

#[test]
fn cancel_before_the_first_poll_never_polls() {
    corun::run(async {
        let (future, polls) = counted(async {});
        let task = corun::spawn(future);
        assert!(task.cancel());
        assert!(task.join().await.unwrap_err().is_cancelled());
        assert_eq!(polls.get(), 0);
    });
}

#[test]
fn cancel_from_another_thread_drops_a_waiting_task_at_the_loops_next_turn() {
    corun::run(async {
        let (task, drops, polls) = spawn_waiting_forever();
        corun::yield_now().await;
        assert_eq!(polls.get(), 1, "the task waits, registered with its loop");
        // The handle goes to another thread, which cancels it and hands it back.
        let task = corun::to_thread(move || {
            assert!(task.cancel());
            task
        })
        .await;
        assert!(task.join().await.unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 1, "the future was dropped");
        assert_eq!(polls.get(), 1, "and not polled again");
    });
}

#[test]
fn cancel_from_another_thread_before_the_first_poll_never_polls() {
    corun::run(async {
        let (future, polls) = counted(async {});
        let task = corun::spawn(future);
        // Blocks the loop's thread while another thread cancels: the task is still queued,
        // never polled.
        std::thread::scope(|scope| {
            scope.spawn(|| assert!(task.cancel()));
        });
        assert!(task.join().await.unwrap_err().is_cancelled());
        assert_eq!(polls.get(), 0);
    });
}

#[test]
fn task_ref_outlives_its_task() {
    let (named, unnamed, line) = corun::run(async {
        let named = corun::spawn_named("short-lived", async { corun::current_task().unwrap() });
        let unnamed = corun::spawn(async { corun::current_task().unwrap() });
        (named.await, unnamed.await, line!() - 1)
    });
    // Both tasks and their loop are gone; the references still answer.
    assert_eq!(named.name(), "short-lived");
    assert_eq!(unnamed.name(), format!("Task-{}", unnamed.id()));
    assert!(named.id() < unnamed.id());
    assert_eq!(unnamed.spawned_at().line(), line);
    assert_eq!(unnamed.spawned_at().file(), file!());
}

#[test]
fn cancel_of_a_finished_task_returns_false() {
    corun::run(async {
        let task = corun::spawn(async { 1 });
        corun::yield_now().await;
        assert!(!task.cancel());
        assert_eq!(task.await, 1);
    });
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    corun::run(async move {
        drop(corun::spawn(async move {
            corun::sleep(Duration::from_millis(1)).await;
            flag.set(true);
        }));
        corun::sleep(Duration::from_millis(20)).await;
    });
    assert!(ran.get(), "a detached task keeps running");
}

#[test]
fn every_future_and_output_is_dropped_exactly_once() {
    let futures = Drops::default();
    let outputs = Drops::default();
    corun::run({
        let (futures, outputs) = (futures.clone(), outputs.clone());
        async move {
            let mut handles = Vec::new();
            for i in 0..10 {
                let (future_token, output_token) = (futures.token(), outputs.token());
                handles.push(corun::spawn(async move {
                    let _held = future_token;
                    corun::yield_now().await;
                    (i, output_token)
                }));
            }
            // Half awaited, half detached after completion, none leaked.
            let detached = handles.split_off(5);
            for handle in handles {
                drop(handle.await);
            }
            corun::yield_now().await;
            drop(detached);
        }
    });
    assert_eq!(futures.count(), 10);
    assert_eq!(outputs.count(), 10);
}

#[test]
fn the_loop_owns_tasks_that_nobody_references() {
    // No handle and no waker kept anywhere but by the loop: the task still finishes its sleep.
    let finished = Rc::new(Cell::new(false));
    let flag = finished.clone();
    corun::run(async move {
        drop(corun::spawn(async move {
            corun::sleep(Duration::from_millis(2)).await;
            flag.set(true);
        }));
        corun::sleep(Duration::from_millis(30)).await;
    });
    assert!(finished.get());
}

#[test]
fn unretrieved_panic_is_reported_not_lost() {
    quiet_panics();
    let reports = Reports::default();
    reports.config().run(async {
        drop(corun::spawn_named("lost", async {
            panic!("[expected] nobody listens")
        }));
        let kept = corun::spawn_named("kept-but-never-awaited", async {
            panic!("[expected] handle dropped later")
        });
        corun::yield_now().await;
        drop(kept);
    });
    let reported = reports.of_kind(ReportKind::UnretrievedPanic);
    let names: Vec<_> = reported.iter().filter_map(|r| r.task_name()).collect();
    assert_eq!(names, ["lost", "kept-but-never-awaited"]);
    assert!(reported[0].message().contains("never retrieved"));
    assert!(reported[0].message().contains("nobody listens"));
}

#[test]
fn retrieved_panic_is_not_reported() {
    quiet_panics();
    let reports = Reports::default();
    reports.config().run(async {
        let result = corun::spawn(async { panic!("[expected] retrieved") })
            .join()
            .await;
        assert!(result.is_err());
    });
    assert!(reports.all().is_empty());
}

#[test]
fn spawn_outside_a_loop_panics_with_a_message_that_says_so() {
    quiet_panics();
    let payload = catch_unwind(|| drop(corun::spawn(async {}))).unwrap_err();
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(
        message.contains("outside a running event loop"),
        "{message}"
    );
}

#[test]
fn task_output_can_be_any_type_and_handles_can_be_stored() {
    corun::run(async {
        let handles: Vec<corun::Task<String>> = (0..3)
            .map(|i| corun::spawn(async move { format!("#{i}") }))
            .collect();
        let mut outputs = Vec::new();
        for handle in handles {
            outputs.push(handle.await);
        }
        assert_eq!(outputs, ["#0", "#1", "#2"]);
    });
}

#[test]
fn tasks_complete_in_the_order_their_work_allows() {
    // Unordered completion: tasks finish by their own timing, not spawn order.
    let order = common::virtual_time().run(async {
        let finished = Rc::new(std::cell::RefCell::new(Vec::new()));
        let tasks: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .map(|ms| {
                let finished = finished.clone();
                corun::spawn(async move {
                    corun::sleep(Duration::from_millis(ms)).await;
                    finished.borrow_mut().push(ms);
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        finished.take()
    });
    assert_eq!(order, [10, 20, 30]);
}
