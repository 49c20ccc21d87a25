//! Cooperative cancellation with `cancelled()`: listening tasks are woken and finish on their
//! own (within `shutdown_grace` at the end of a run); tasks not listening are dropped at the next
//! turn.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{virtual_time, Drops, OnDrop};

#[test]
fn a_task_waiting_on_cancelled_is_woken_and_finishes_on_its_own() {
    let (value, polls) = corun::run(async {
        let (listener, polls) = common::counted(async {
            corun::cancelled().await;
            // Cleanup that awaits: still allowed, the task is cooperative now.
            corun::sleep(Duration::from_millis(1)).await;
            "cleaned up"
        });
        let task = corun::spawn(listener);
        corun::yield_now().await;
        assert_eq!(polls.get(), 1);
        assert!(task.cancel());
        (task.await, polls)
    });
    assert_eq!(value, "cleaned up");
    assert!(polls.get() >= 2);
}

#[test]
fn task_cancel_on_a_listening_task_lets_it_return_its_value() {
    let joined = corun::run(async {
        let task = corun::spawn(async {
            let mut work_done = 0;
            let mut stop = std::pin::pin!(corun::cancelled());
            while corun::timeout(Duration::from_millis(1), stop.as_mut())
                .await
                .is_err()
            {
                work_done += 1;
            }
            work_done
        });
        corun::sleep(Duration::from_millis(5)).await;
        task.cancel();
        task.join().await
    });
    assert!(joined.unwrap() >= 1);
}

#[test]
fn a_task_not_listening_is_dropped_at_the_next_turn() {
    let drops = Drops::default();
    let token = drops.token();
    let (dropped_after_one_turn, polls) = corun::run(async move {
        let (work, polls) = common::counted(async move {
            let _token = token;
            std::future::pending::<()>().await
        });
        let task = corun::spawn(work);
        corun::yield_now().await;
        task.cancel();
        let before = drops.count();
        corun::yield_now().await;
        assert_eq!(before, 0, "not dropped inside cancel()");
        (drops.count(), polls)
    });
    assert_eq!(dropped_after_one_turn, 1);
    assert_eq!(polls.get(), 1, "a cancelled task is not polled again");
}

#[test]
fn at_shutdown_a_listening_task_finishes_its_cleanup_within_the_grace() {
    let cleaned = Rc::new(Cell::new(false));
    let flag = cleaned.clone();
    virtual_time().run(async move {
        drop(corun::spawn(async move {
            corun::cancelled().await;
            corun::sleep(Duration::from_secs(1)).await;
            flag.set(true);
        }));
        corun::yield_now().await;
    });
    assert!(cleaned.get());
}

#[test]
fn at_shutdown_a_listening_task_is_dropped_when_the_grace_runs_out() {
    let heard_at = Rc::new(Cell::new(None::<Instant>));
    let dropped_at = Rc::new(Cell::new(None::<Instant>));
    let finished = Rc::new(Cell::new(false));
    let (heard, dropped, done) = (heard_at.clone(), dropped_at.clone(), finished.clone());
    let real_start = Instant::now();
    virtual_time()
        .shutdown_grace(Duration::from_secs(5))
        .run(async move {
            drop(corun::spawn(async move {
                let _guard = OnDrop(move || dropped.set(Some(corun::now())));
                corun::cancelled().await;
                heard.set(Some(corun::now()));
                // Cleanup longer than the grace.
                corun::sleep(Duration::from_secs(60)).await;
                done.set(true);
            }));
            corun::yield_now().await;
        });
    assert!(
        !finished.get(),
        "the cleanup outlived the grace and was dropped"
    );
    let grace = dropped_at.get().unwrap() - heard_at.get().unwrap();
    assert_eq!(grace, Duration::from_secs(5));
    assert!(
        real_start.elapsed() < Duration::from_secs(2),
        "virtual time made it instant"
    );
}

#[test]
fn at_shutdown_a_task_not_listening_is_dropped_without_waiting_for_the_grace() {
    let drops = Drops::default();
    let token = drops.token();
    let start = Instant::now();
    corun::Config::new()
        .shutdown_grace(Duration::from_secs(30))
        .run(async move {
            drop(corun::spawn(async move {
                let _token = token;
                corun::sleep(Duration::from_secs(3600)).await;
            }));
            corun::yield_now().await;
        });
    assert_eq!(drops.count(), 1);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn cancelled_awaited_on_another_thread_keeps_its_task_listening() {
    use std::future::Future;
    use std::sync::mpsc;

    let outcome = corun::run(async {
        let (polling_tx, polling_rx) = mpsc::channel();
        let task = corun::spawn(async move {
            let stop = corun::cancelled(); // names this task, wherever it is awaited
            corun::to_thread(move || {
                let mut stop = std::pin::pin!(stop);
                let mut first = true;
                futures::executor::block_on(std::future::poll_fn(|cx| {
                    let polled = stop.as_mut().poll(cx);
                    if std::mem::take(&mut first) {
                        polling_tx.send(()).unwrap();
                    }
                    polled
                }));
            })
            .await;
            "finished on its own"
        });
        corun::to_thread(move || polling_rx.recv().unwrap()).await;
        task.cancel();
        task.join().await
    });
    assert_eq!(outcome.unwrap(), "finished on its own");
}

/// A task that hands out a reference to itself, then waits forever unless asked to cancel while
/// listening (`listen`), when it returns `"finished"`.
fn spawn_handing_out_its_ref(
    listen: bool,
) -> (
    corun::Task<&'static str>,
    std::sync::mpsc::Receiver<corun::TaskRef>,
) {
    let (send, receive) = std::sync::mpsc::channel();
    let task = corun::spawn(async move {
        send.send(corun::current_task().unwrap()).unwrap();
        if listen {
            corun::cancelled().await;
            return "finished";
        }
        std::future::pending().await
    });
    (task, receive)
}

#[test]
fn task_ref_cancel_drops_a_task_not_listening_and_is_false_once_it_finished() {
    corun::run(async {
        let (task, refs) = spawn_handing_out_its_ref(false);
        corun::yield_now().await;
        let task_ref = refs.recv().unwrap();
        assert!(task_ref.cancel());
        assert!(task_ref.cancel(), "asked already, not finished yet");
        assert!(task.join().await.unwrap_err().is_cancelled());
        assert!(!task_ref.cancel(), "finished");
    });
}

#[test]
fn task_ref_cancel_lets_a_listening_task_return_its_value() {
    let value = corun::run(async {
        let (task, refs) = spawn_handing_out_its_ref(true);
        corun::yield_now().await;
        assert!(refs.recv().unwrap().cancel());
        task.join().await
    });
    assert_eq!(value.unwrap(), "finished");
}

#[test]
fn task_ref_cancel_works_from_another_thread() {
    corun::run(async {
        let (task, refs) = spawn_handing_out_its_ref(false);
        corun::yield_now().await;
        let task_ref = refs.recv().unwrap();
        let cancelled = corun::to_thread(move || task_ref.cancel()).await;
        assert!(cancelled);
        assert!(task.join().await.unwrap_err().is_cancelled());
    });
}

#[test]
fn a_task_cancelling_itself_is_dropped_at_its_next_turn() {
    let drops = Drops::default();
    let token = drops.token();
    corun::run(async move {
        let task = corun::spawn(async move {
            let _token = token;
            assert!(corun::current_task().unwrap().cancel());
            corun::yield_now().await;
            unreachable!("a cancelled task is not polled again");
        });
        assert!(task.join().await.unwrap_err().is_cancelled());
    });
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_task_may_cancel_main_which_then_has_no_value() {
    common::quiet_panics();
    let drops = Drops::default();
    let token = drops.token();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        corun::run(async move {
            let _token = token;
            let main = corun::current_task().unwrap();
            drop(corun::spawn(async move { assert!(main.cancel()) }));
            std::future::pending::<()>().await;
        })
    }));
    let payload = caught.expect_err("a cancelled main has no value");
    let message = payload.downcast_ref::<String>().expect("a message");
    assert!(
        message.starts_with("the main task 'main' was cancelled"),
        "{message}"
    );
    assert_eq!(drops.count(), 1, "main's future was dropped");
}

#[test]
fn a_main_listening_on_cancelled_finishes_with_its_value_when_a_task_cancels_it() {
    let value = corun::run(async {
        let main = corun::current_task().unwrap();
        drop(corun::spawn(async move { assert!(main.cancel()) }));
        corun::cancelled().await;
        "finished anyway"
    });
    assert_eq!(value, "finished anyway");
}

#[test]
fn main_cancelled_from_another_thread_is_woken_and_cancelled() {
    common::quiet_panics();
    let caught = std::panic::catch_unwind(|| {
        corun::Config::new().handle_signals(false).run(async {
            let main = corun::current_task().unwrap();
            std::thread::spawn(move || assert!(main.cancel()));
            // Parked, with nothing else to do: only the cancel's wake can end this.
            std::future::pending::<()>().await;
        })
    });
    assert!(caught.is_err());
}

// A task registers with its loop only once a poll leaves it pending (a task done in its first
// poll never touches the registry): a cancellation asked during that first poll finds no key to
// wake the task through, so the task must wake itself for it as it registers. In each test below
// nothing else wakes the task, and the virtual clock turns a lost wake into a timeout.

#[test]
fn a_task_cancelling_itself_during_its_first_poll_is_woken_and_cancelled() {
    virtual_time().run(async {
        let task = corun::spawn(async {
            assert!(corun::current_task().unwrap().cancel());
            std::future::pending::<()>().await;
        });
        let joined = corun::timeout(Duration::from_secs(60), task.join()).await;
        assert!(joined.expect("woken for the cancellation").is_err());
    });
}

#[test]
fn a_task_ref_taken_during_the_first_poll_cancels_the_task_later() {
    virtual_time().run(async {
        let taken = Rc::new(Cell::new(None));
        let put = taken.clone();
        let task = corun::spawn(async move {
            put.set(corun::current_task());
            std::future::pending::<()>().await;
        });
        corun::yield_now().await;
        let task_ref = taken.take().expect("the task ran its first poll");
        assert!(task_ref.cancel());
        let joined = corun::timeout(Duration::from_secs(60), task.join()).await;
        let error = joined.expect("woken through the key it registered under");
        assert!(error.unwrap_err().is_cancelled());
    });
}

#[test]
fn a_task_cancelled_from_another_thread_during_its_first_poll_is_woken_and_cancelled() {
    use std::sync::mpsc;
    corun::Config::new().handle_signals(false).run(async {
        let (in_first_poll, wait_for_poll) = mpsc::channel::<()>();
        let (cancelled, wait_for_cancel) = mpsc::channel::<()>();
        let (give_back, handle_back) = mpsc::channel();
        let task = corun::spawn(async move {
            in_first_poll.send(()).unwrap();
            // The other thread cancels while this first poll runs (before the task registers).
            wait_for_cancel.recv().unwrap();
            std::future::pending::<()>().await;
        });
        let canceller = std::thread::spawn(move || {
            wait_for_poll.recv().unwrap();
            assert!(task.cancel());
            cancelled.send(()).unwrap();
            give_back.send(task).unwrap();
        });
        corun::yield_now().await;
        let task = handle_back.recv().unwrap();
        canceller.join().unwrap();
        let joined = corun::timeout(Duration::from_secs(30), task.join()).await;
        let error = joined.expect("woken for the cancellation asked during its first poll");
        assert!(error.unwrap_err().is_cancelled());
    });
}
