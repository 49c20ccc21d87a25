//! gather!, try_gather! and gather_all: concurrency, order of outputs, panics and errors.

mod common;

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use common::{quiet_panics, virtual_time, Drops};
use corun::{gather, try_gather};

#[test]
fn gather_polls_concurrently_and_keeps_the_order_of_outputs() {
    let (outputs, elapsed) = virtual_time().run(async {
        let start = corun::now();
        let outputs = gather!(
            async {
                corun::sleep(Duration::from_secs(3)).await;
                "slow"
            },
            async {
                corun::sleep(Duration::from_secs(1)).await;
                1
            },
            corun::spawn(async { 2.5 }),
        )
        .await;
        (outputs, corun::now() - start)
    });
    assert_eq!(outputs, ("slow", 1, 2.5));
    assert_eq!(
        elapsed,
        Duration::from_secs(3),
        "concurrent, not one after another"
    );
}

#[test]
fn gather_of_one_and_trailing_comma() {
    corun::run(async {
        let (one,) = gather!(async { 1 },).await;
        assert_eq!(one, 1);
    });
}

#[test]
fn gather_panic_propagates_at_once_dropping_futures_but_not_tasks() {
    quiet_panics();
    let drops = Drops::default();
    let (future_token, task_token) = (drops.token(), drops.token());
    let task_finished = Rc::new(RefCell::new(false));
    let flag = task_finished.clone();
    virtual_time().run(async move {
        let task = corun::spawn(async move {
            let _token = task_token;
            corun::sleep(Duration::from_secs(2)).await;
            *flag.borrow_mut() = true;
        });
        let gathered = corun::spawn(async move {
            gather!(
                async move {
                    let _token = future_token;
                    corun::sleep(Duration::from_secs(10)).await;
                },
                async {
                    corun::sleep(Duration::from_secs(1)).await;
                    panic!("[expected] gathered failure");
                },
                task,
            )
            .await
        });
        assert!(gathered.join().await.is_err());
        assert_eq!(
            drops.count(),
            1,
            "the plain future was dropped with the gather"
        );
        corun::sleep(Duration::from_secs(5)).await;
    });
    assert!(
        *task_finished.borrow(),
        "the task given to gather kept running"
    );
}

#[test]
fn try_gather_returns_the_first_error_at_once() {
    let (result, elapsed) = virtual_time().run(async {
        let start = corun::now();
        let result = try_gather!(
            async {
                corun::sleep(Duration::from_secs(10)).await;
                Ok::<u8, &str>(1)
            },
            async {
                corun::sleep(Duration::from_secs(1)).await;
                Err::<u8, &str>("second failed")
            },
        )
        .await;
        (result, corun::now() - start)
    });
    assert_eq!(result, Err("second failed"));
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn try_gather_gives_all_values_when_all_succeed() {
    corun::run(async {
        let result = try_gather!(async { Ok::<_, ()>(1) }, async { Ok(2) }, async { Ok(3) }).await;
        assert_eq!(result, Ok((1, 2, 3)));
    });
}

#[test]
fn gather_all_keeps_input_order_and_runs_concurrently() {
    let (outputs, elapsed) = virtual_time().run(async {
        let start = corun::now();
        let outputs = corun::gather_all((1..=5u64).rev().map(|s| async move {
            corun::sleep(Duration::from_secs(s)).await;
            s
        }))
        .await;
        (outputs, corun::now() - start)
    });
    assert_eq!(outputs, [5, 4, 3, 2, 1]);
    assert_eq!(elapsed, Duration::from_secs(5));
}

#[test]
fn gather_of_nothing_gives_unit_at_once() {
    /// A macro that forwards its list of futures, as user code does, called with none.
    macro_rules! all_of {
        ($($future:expr),*) => { gather!($($future),*) };
    }
    let polls = corun::run(async {
        let gathered = all_of!();
        let mut gathered = std::pin::pin!(gathered);
        let waker = std::task::Waker::noop();
        let polled = gathered
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        let () = gather!().await;
        polled
    });
    assert_eq!(polls, std::task::Poll::Ready(()), "ready at the first poll");
}

#[test]
fn gather_all_of_nothing_is_empty() {
    let empty: Vec<()> = corun::run(corun::gather_all(Vec::<std::future::Ready<()>>::new()));
    assert!(empty.is_empty());
}

#[test]
fn gather_all_panic_propagates() {
    quiet_panics();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        corun::run(corun::gather_all((0..3).map(|i| async move {
            if i == 1 {
                panic!("[expected] one of many");
            }
        })))
    }));
    assert!(caught.is_err());
}
