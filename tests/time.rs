//! Time on the loop's clock: sleep, sleep_until, timeout, now, yield_now, and their edge cases
//! (zero, past deadlines, `Duration::MAX`). Timing is checked on the virtual-time loop.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{counted, virtual_time};

#[test]
fn sleep_of_an_hour_returns_at_once_in_virtual_time() {
    let started = Instant::now();
    let waited = virtual_time().run(async {
        let before = corun::now();
        corun::sleep(Duration::from_secs(3600)).await;
        corun::now() - before
    });
    assert_eq!(waited, Duration::from_secs(3600));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "no real hour passed"
    );
}

#[test]
fn sleep_zero_yields_exactly_once() {
    corun::run(async {
        let (future, polls) = counted(corun::sleep(Duration::ZERO));
        let task = corun::spawn(future);
        corun::yield_now().await;
        assert_eq!(polls.get(), 1, "first poll yields");
        assert!(!task.is_finished());
        corun::yield_now().await;
        assert!(task.is_finished());
        assert_eq!(polls.get(), 2);
    });
}

#[test]
fn sleep_until_a_past_deadline_yields_once_and_completes() {
    virtual_time().run(async {
        let past = corun::now() - Duration::from_secs(10);
        let (future, polls) = counted(corun::sleep_until(past));
        future.await;
        assert_eq!(polls.get(), 2);
    });
}

#[test]
fn sleep_of_duration_max_never_completes_and_does_not_overflow() {
    virtual_time().run(async {
        let never = corun::timeout(Duration::from_secs(1), corun::sleep(Duration::MAX)).await;
        assert!(never.is_err());
    });
}

#[test]
fn timeout_of_duration_max_never_runs_out() {
    virtual_time().run(async {
        let done = corun::timeout(Duration::MAX, async {
            corun::sleep(Duration::from_secs(7 * 24 * 3600)).await;
            "a week later"
        })
        .await;
        assert_eq!(done, Ok("a week later"));
    });
}

#[test]
fn timeout_zero_gives_a_ready_future_its_value() {
    virtual_time().run(async {
        assert_eq!(corun::timeout(Duration::ZERO, async { 1 }).await, Ok(1));
        let pending = corun::timeout(Duration::ZERO, std::future::pending::<()>()).await;
        assert_eq!(pending, Err(corun::Elapsed::new()));
    });
}

#[test]
fn timeout_drops_the_future_when_time_runs_out() {
    let drops = common::Drops::default();
    let token = drops.token();
    virtual_time().run(async move {
        let slow = async move {
            let _token = token;
            corun::sleep(Duration::from_secs(10)).await;
        };
        assert!(corun::timeout(Duration::from_secs(1), slow).await.is_err());
        assert_eq!(drops.count(), 1);
    });
}

#[test]
fn timers_fire_in_deadline_order() {
    let order = virtual_time().run(async {
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let tasks: Vec<_> = [5u64, 1, 4, 2, 3]
            .into_iter()
            .map(|s| {
                let order = order.clone();
                corun::spawn(async move {
                    corun::sleep(Duration::from_secs(s)).await;
                    order.borrow_mut().push(s);
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        order.take()
    });
    assert_eq!(order, [1, 2, 3, 4, 5]);
}

#[test]
fn dropping_an_armed_sleep_disarms_it() {
    // Armed and dropped a million times: the loop does not accumulate timers, and the virtual
    // clock never jumps to one of them.
    virtual_time().run(async {
        let before = corun::now();
        for _ in 0..1000 {
            let mut sleep = std::pin::pin!(corun::sleep(Duration::from_secs(3600)));
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            assert!(sleep.as_mut().poll(&mut cx).is_pending());
        }
        corun::yield_now().await;
        corun::sleep(Duration::from_millis(1)).await;
        assert_eq!(corun::now() - before, Duration::from_millis(1));
    });
}

use std::future::Future;

#[test]
fn a_sleep_moved_to_another_task_wakes_that_task() {
    virtual_time().run(async {
        let mut sleep = Box::pin(corun::sleep(Duration::from_secs(5)));
        // Poll once here, registering this task's waker...
        let waker = std::task::Waker::noop();
        assert!(sleep
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_pending());
        // ...then finish it in another task: the timer must wake the new one.
        let task = corun::spawn(sleep);
        task.await;
    });
}

#[test]
fn now_is_the_loop_clock() {
    let real = corun::run(async {
        let before = Instant::now();
        let now = corun::now();
        now >= before
    });
    assert!(real);
    let frozen = virtual_time().run(async {
        let a = corun::now();
        std::thread::sleep(Duration::from_millis(5));
        corun::now() == a
    });
    assert!(frozen, "the virtual clock stands still while work runs");
}

#[test]
fn yield_now_lets_every_ready_task_run_once() {
    corun::run(async {
        let ran = Rc::new(Cell::new(0));
        for _ in 0..10 {
            let ran = ran.clone();
            drop(corun::spawn(async move {
                ran.set(ran.get() + 1);
                corun::yield_now().await;
                ran.set(ran.get() + 1);
            }));
        }
        corun::yield_now().await;
        assert_eq!(ran.get(), 10);
        corun::yield_now().await;
        assert_eq!(ran.get(), 20);
    });
}

#[test]
fn default_loop_sleep_waits_at_least_the_duration() {
    corun::run(async {
        let start = Instant::now();
        corun::sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn deadline_near_the_limit_of_instant_is_treated_as_never() {
    virtual_time().run(async {
        let far = corun::now().checked_add(Duration::from_secs(u64::MAX / 4));
        let result = corun::timeout(Duration::from_secs(1), async {
            match far {
                Some(deadline) => corun::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        })
        .await;
        assert!(result.is_err());
        // Arithmetic on the deadline inside sleep never overflows.
        let never = corun::timeout(
            Duration::from_secs(1),
            corun::sleep(Duration::from_secs(u64::MAX)),
        )
        .await;
        assert!(never.is_err());
    });
}
