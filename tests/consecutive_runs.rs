//! Runs one after another on one thread: the next run on a thread reuses what the last one
//! allocated for the default loop (BENCHMARKS.md, "Cheaper `run()`"), and none of that run's
//! state reaches it: not its timers, its settings, its handler or its wakers.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

/// Polls `sleep` once, in the running task: whether it is over.
async fn poll_once(sleep: &mut Pin<Box<corun::Sleep>>) -> bool {
    poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx).is_ready())).await
}

#[test]
fn a_sleep_kept_from_an_ended_run_and_dropped_in_the_next_leaves_that_runs_timers_alone() {
    let kept = RefCell::new(None);
    corun::run(async {
        let mut sleep = Box::pin(corun::sleep(Duration::from_secs(3600)));
        // Armed on this run's loop, then kept past the run.
        assert!(!poll_once(&mut sleep).await);
        *kept.borrow_mut() = Some(sleep);
    });
    let over = corun::run(async {
        let mut mine = Box::pin(corun::sleep(Duration::from_secs(3600)));
        assert!(!poll_once(&mut mine).await);
        // Armed on the other loop: dropping it here disarms nothing of this run's (were the
        // loops taken for one, it would disarm `mine`, which would then look fired).
        drop(kept.borrow_mut().take());
        poll_once(&mut mine).await
    });
    assert!(!over, "an hour's sleep is not over");
}

#[test]
fn the_next_run_has_its_own_settings_and_handler() {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let seen = reports.clone();
    let first_debug = corun::Config::new()
        .debug(true)
        .main_name("first")
        .exception_handler(move |report| seen.borrow_mut().push(report.to_string()))
        .run(async { corun::is_debug() });
    assert!(first_debug);
    assert_eq!(
        Rc::strong_count(&reports),
        1,
        "the handler went with its run"
    );
    let second = corun::Config::new().debug(false).run(async {
        let main = corun::current_task().expect("main is a task");
        (corun::is_debug(), main.name().to_owned())
    });
    assert_eq!(second, (false, "main".to_owned()));
    assert!(reports.borrow().is_empty());
}

#[test]
fn a_task_cancelled_by_the_last_runs_shutdown_stays_gone() {
    let polls = Rc::new(RefCell::new(0));
    let counted = polls.clone();
    corun::run(async move {
        drop(corun::spawn(async move {
            loop {
                *counted.borrow_mut() += 1;
                corun::yield_now().await;
            }
        }));
        corun::yield_now().await;
    });
    let after_first = *polls.borrow();
    assert!(after_first >= 1);
    assert_eq!(Rc::strong_count(&polls), 1, "the task was dropped");
    corun::run(async {
        for _ in 0..10 {
            corun::yield_now().await;
        }
    });
    assert_eq!(*polls.borrow(), after_first);
}

#[test]
fn thread_work_runs_in_the_next_run_after_the_last_ones_pool_shut_down() {
    for run in 0..3 {
        let answer = corun::run(async move { corun::to_thread(move || run * 2).await });
        assert_eq!(answer, run * 2);
    }
}
