//! Code the runtime calls back calling into the runtime: destructors that cancel their own task
//! or each other, drop their own handle, start a nested run or close another `Runner` while a
//! loop shuts down; tasks that await each other's handles; an exception handler that spawns and
//! runs. Each must work or give `RunError::NestedRun`, never panic inside the runtime, and every
//! future is dropped exactly once.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use common::{quiet_panics, Drops, OnDrop};
use corun::{Config, ReportKind, RunError, Runner, Task, TaskError};

/// A place for a task's own handle, filled in after it is spawned.
type HandleSlot = Rc<RefCell<Option<Task<()>>>>;

#[test]
fn a_task_that_cancels_itself_while_running_is_dropped_at_its_next_turn() {
    let drops = Drops::default();
    let token = drops.token();
    let after_cancel = Rc::new(Cell::new(0));
    let outcome = corun::run({
        let after_cancel = after_cancel.clone();
        async move {
            let own: HandleSlot = Rc::default();
            let slot = own.clone();
            let task = corun::spawn(async move {
                let _token = token;
                let cancelled = slot.borrow().as_ref().expect("handle stored").cancel();
                assert!(cancelled, "cancel of a running task returns true");
                loop {
                    after_cancel.set(after_cancel.get() + 1);
                    corun::yield_now().await;
                }
            });
            *own.borrow_mut() = Some(task);
            for _ in 0..3 {
                corun::yield_now().await;
            }
            let task = own.borrow_mut().take().expect("still here");
            task.join().await
        }
    });
    assert!(matches!(outcome, Err(TaskError::Cancelled)));
    assert_eq!(
        after_cancel.get(),
        1,
        "the poll that cancelled went on; no poll came after it"
    );
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_destructor_that_cancels_its_own_task_during_shutdown_is_harmless() {
    let drops = Drops::default();
    let token = drops.token();
    let cancel_answers = Rc::new(RefCell::new(Vec::new()));
    corun::run({
        let cancel_answers = cancel_answers.clone();
        async move {
            let own: HandleSlot = Rc::default();
            let slot = own.clone();
            let task = corun::spawn(async move {
                let _token = token;
                let _guard = OnDrop(move || {
                    // The handle lives in the task's own future: cancel it, then drop it, from
                    // inside that future's destructor.
                    let handle = slot.borrow_mut().take();
                    if let Some(handle) = handle {
                        cancel_answers.borrow_mut().push(handle.cancel());
                        cancel_answers.borrow_mut().push(handle.is_finished());
                    }
                });
                std::future::pending::<()>().await;
            });
            *own.borrow_mut() = Some(task);
            corun::yield_now().await;
        }
    });
    assert_eq!(drops.count(), 1);
    assert_eq!(cancel_answers.borrow().len(), 2, "the destructor ran once");
}

#[test]
fn destructors_that_cancel_each_other_during_shutdown_drop_each_task_once() {
    let drops = Drops::default();
    let (token_a, token_b) = (drops.token(), drops.token());
    corun::run(async move {
        let a_slot: HandleSlot = Rc::default();
        let b_slot: HandleSlot = Rc::default();
        let (a_for_b, b_for_a) = (a_slot.clone(), b_slot.clone());
        let a = corun::spawn(async move {
            let _token = token_a;
            let _guard = OnDrop(move || {
                if let Some(b) = b_for_a.borrow().as_ref() {
                    b.cancel();
                }
            });
            std::future::pending::<()>().await;
        });
        let b = corun::spawn(async move {
            let _token = token_b;
            let _guard = OnDrop(move || {
                if let Some(a) = a_for_b.borrow().as_ref() {
                    a.cancel();
                }
            });
            std::future::pending::<()>().await;
        });
        *a_slot.borrow_mut() = Some(a);
        *b_slot.borrow_mut() = Some(b);
        corun::yield_now().await;
        // The slots stay alive in the other task's destructor: each holds the other's handle.
    });
    assert_eq!(drops.count(), 2);
}

#[test]
fn a_destructor_starting_a_run_during_shutdown_gets_nested_run() {
    let answers = Rc::new(RefCell::new(Vec::new()));
    corun::run({
        let answers = answers.clone();
        async move {
            corun::spawn(async move {
                let _guard = OnDrop(move || {
                    let direct = Config::new().try_run(async { 1 });
                    let mut runner = Runner::new(Config::new());
                    let through_runner = runner.run(async { 2 });
                    drop(runner);
                    answers
                        .borrow_mut()
                        .extend([direct.err(), through_runner.err()]);
                });
                std::future::pending::<()>().await;
            });
            corun::yield_now().await;
        }
    });
    assert_eq!(
        *answers.borrow(),
        [Some(RunError::NestedRun), Some(RunError::NestedRun)]
    );
}

#[test]
fn a_destructor_closing_another_runner_during_shutdown_shuts_that_loop_down_too() {
    let drops = Drops::default();
    let (outer_token, inner_token) = (drops.token(), drops.token());
    let mut inner = Runner::new(Config::new());
    inner
        .run(async move {
            corun::spawn(async move {
                let _token = inner_token;
                // The other loop's context is the current one while this is dropped.
                let _guard = OnDrop(|| assert!(corun::current_task().is_some()));
                corun::sleep(Duration::from_secs(3600)).await;
            });
            corun::yield_now().await;
        })
        .expect("the inner runner runs");
    let inner = Rc::new(RefCell::new(Some(inner)));
    let held = inner.clone();
    let closed_inside = Rc::new(Cell::new(false));
    let seen = closed_inside.clone();
    let probe = drops.clone();
    corun::run(async move {
        corun::spawn(async move {
            let _token = outer_token;
            let _guard = OnDrop(move || {
                let runner = held.borrow_mut().take();
                drop(runner);
                seen.set(probe.count() == 1);
                // And this loop is the current one again.
                let _ = corun::now();
                drop(corun::spawn(async {}));
            });
            std::future::pending::<()>().await;
        });
        corun::yield_now().await;
    });
    assert!(
        closed_inside.get(),
        "the inner runner's task was dropped by its close, inside the outer shutdown"
    );
    assert_eq!(drops.count(), 2);
    assert!(inner.borrow().is_none());
}

#[test]
fn a_runner_closed_from_inside_a_running_task_cancels_its_own_tasks() {
    let drops = Drops::default();
    let token = drops.token();
    let mut inner = Runner::new(Config::new());
    inner
        .run(async move {
            corun::spawn(async move {
                let _token = token;
                std::future::pending::<()>().await;
            });
            corun::yield_now().await;
        })
        .expect("the inner runner runs");
    let probe = drops.clone();
    let (dropped_inside, outer_task_after) = corun::run(async move {
        let outer = corun::current_task().expect("main").id();
        inner.close();
        (
            probe.count(),
            corun::current_task().map(|t| t.id()) == Some(outer),
        )
    });
    assert_eq!(dropped_inside, 1);
    assert!(outer_task_after, "the outer run's current task is restored");
}

#[test]
fn two_tasks_awaiting_each_other_are_cancelled_at_shutdown_and_dropped_once() {
    let drops = Drops::default();
    let (token_a, token_b) = (drops.token(), drops.token());
    corun::run(async move {
        let a_slot: HandleSlot = Rc::default();
        let b_slot: HandleSlot = Rc::default();
        let (a_for_b, b_for_a) = (a_slot.clone(), b_slot.clone());
        let a = corun::spawn(async move {
            let _token = token_a;
            corun::yield_now().await;
            let b = b_for_a
                .borrow_mut()
                .take()
                .expect("stored before a second poll");
            b.await;
        });
        let b = corun::spawn(async move {
            let _token = token_b;
            corun::yield_now().await;
            let a = a_for_b
                .borrow_mut()
                .take()
                .expect("stored before a second poll");
            a.await;
        });
        *a_slot.borrow_mut() = Some(a);
        *b_slot.borrow_mut() = Some(b);
        for _ in 0..3 {
            corun::yield_now().await;
        }
    });
    assert_eq!(drops.count(), 2);
}

#[test]
fn an_exception_handler_that_spawns_and_runs_does_not_break_the_loop() {
    quiet_panics();
    let nested = Rc::new(RefCell::new(Vec::new()));
    let spawned = Rc::new(Cell::new(0));
    let (nested_in_handler, spawned_in_handler) = (nested.clone(), spawned.clone());
    let value = Config::new()
        .exception_handler(move |report| {
            nested_in_handler
                .borrow_mut()
                .push(Config::new().try_run(async {}).err());
            let counter = spawned_in_handler.clone();
            drop(corun::spawn(async move {
                counter.set(counter.get() + 1);
            }));
            assert_eq!(report.kind(), ReportKind::UnretrievedPanic);
        })
        .run(async {
            drop(corun::spawn(async { panic!("[expected] lost") }));
            for _ in 0..3 {
                corun::yield_now().await;
            }
            7
        });
    assert_eq!(value, 7);
    assert_eq!(*nested.borrow(), [Some(RunError::NestedRun)]);
    assert_eq!(spawned.get(), 1, "the task the handler spawned ran");
}
