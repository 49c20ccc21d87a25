//! A port of CPython's `Lib/test/test_asyncio/test_runners.py` (`RunTests` and `RunnerTests`,
//! without the signal cases, which live with the signal tests). Each test names the Python test it
//! ports; where Python checks a type at run time ("a coroutine was expected"), Rust's types do it
//! at compile time and the case lives in `tests/ui`.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use common::{quiet_panics, Drops, Reports};
use corun::{loops::DefaultLoop, Config, EventLoop, ReportKind, RunError, Runner, TaskError};

// ---- RunTests ----

#[test]
fn run_returns_the_value_of_main() {
    // test_asyncio_run_return
    let value = corun::run(async {
        corun::sleep(Duration::ZERO).await;
        42
    });
    assert_eq!(value, 42);
}

#[test]
fn run_resumes_the_panic_of_main() {
    // test_asyncio_run_raises
    quiet_panics();
    let caught = catch_unwind(|| {
        corun::run(async {
            corun::sleep(Duration::ZERO).await;
            panic!("[expected] spam");
        })
    });
    let payload = caught.expect_err("main's panic reaches the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"[expected] spam"));
}

#[test]
fn run_accepts_any_into_future() {
    // test_asyncio_run_only_coro, the half that checks what *is* accepted: a future, or
    // anything with IntoFuture (asyncio accepts only coroutines; the rejection is a type error).
    struct Answer;
    impl std::future::IntoFuture for Answer {
        type Output = u8;
        type IntoFuture = std::future::Ready<u8>;
        fn into_future(self) -> Self::IntoFuture {
            std::future::ready(7)
        }
    }
    assert_eq!(corun::run(Answer), 7);
    assert_eq!(corun::run(std::future::ready("ready")), "ready");
}

#[test]
fn run_debug_flag_reaches_the_loop() {
    // test_asyncio_run_debug
    assert!(Config::new().debug(true).run(async { corun::is_debug() }));
    assert!(!Config::new().debug(false).run(async { corun::is_debug() }));
}

#[test]
fn run_from_a_running_loop_is_rejected() {
    // test_asyncio_run_from_running_loop
    let nested = corun::run(async { Config::new().try_run(async { 1 }) });
    let error = nested.unwrap_err();
    assert_eq!(error, RunError::NestedRun);
    assert!(error
        .to_string()
        .contains("cannot be called from a running event loop"));
}

#[test]
fn run_from_a_running_loop_panics_with_the_message() {
    quiet_panics();
    let caught = corun::run(async {
        catch_unwind(|| corun::run(async {})).map_err(|payload| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default()
        })
    });
    assert!(caught
        .unwrap_err()
        .contains("cannot be called from a running event loop"));
}

#[test]
#[allow(clippy::async_yields_async)] // The task's handle is inspected after the run.
fn run_cancels_hanging_tasks() {
    // test_asyncio_run_cancels_hanging_tasks
    let drops = Drops::default();
    let token = drops.token();
    let finished = corun::run(async move {
        let hanging = corun::spawn(async move {
            let _token = token;
            corun::sleep(Duration::from_secs(1_000_000)).await;
        });
        corun::sleep(Duration::from_millis(1)).await;
        assert!(!hanging.is_finished());
        hanging
    });
    assert_eq!(drops.count(), 1, "the hanging task's future was dropped");
    assert!(finished.is_finished());
}

#[test]
fn run_reports_panics_of_hanging_tasks_while_cancelling() {
    // test_asyncio_run_reports_hanging_tasks_errors
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("[expected] boom while cancelling");
        }
    }
    quiet_panics();
    let reports = Reports::default();
    let name = reports.config().run(async {
        let task = corun::spawn(async {
            let _guard = PanicOnDrop;
            std::future::pending::<()>().await;
        });
        corun::yield_now().await;
        task.name().to_owned()
    });
    let reported = reports.of_kind(ReportKind::PanicWhileCancelling);
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].task_name(), Some(name.as_str()));
    assert!(reported[0].message().contains("boom while cancelling"));
}

#[test]
fn run_drops_every_leftover_future_even_after_a_panicking_one() {
    // test_asyncio_run_closes_gens_after_hanging_tasks_errors: one failing cleanup does not stop
    // the others.
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("[expected] first cleanup fails");
        }
    }
    quiet_panics();
    let drops = Drops::default();
    let reports = Reports::default();
    let tokens: Vec<_> = (0..3).map(|_| drops.token()).collect();
    reports.config().run(async move {
        corun::spawn(async {
            let _guard = PanicOnDrop;
            std::future::pending::<()>().await;
        });
        for token in tokens {
            corun::spawn(async move {
                let _token = token;
                std::future::pending::<()>().await;
            });
        }
        corun::yield_now().await;
    });
    assert_eq!(drops.count(), 3);
    assert_eq!(reports.of_kind(ReportKind::PanicWhileCancelling).len(), 1);
}

#[test]
fn run_uses_the_loop_factory() {
    // test_asyncio_run_loop_factory
    let made = Rc::new(Cell::new(0));
    let counter = made.clone();
    let value = Config::new()
        .loop_factory(move || {
            counter.set(counter.get() + 1);
            DefaultLoop::new()
        })
        .run(async { 5 });
    assert_eq!((value, made.get()), (5, 1));
}

// ---- RunnerTests ----

#[test]
fn runner_debug_flags() {
    // test_non_debug, test_debug
    let mut runner = Runner::new(Config::new().debug(false));
    assert!(!runner.run(async { corun::is_debug() }).unwrap());
    let mut runner = Runner::new(Config::new().debug(true));
    assert!(runner.run(async { corun::is_debug() }).unwrap());
}

#[test]
fn runner_makes_its_loop_once_and_lazily() {
    // test_custom_factory, test_set_event_loop_called_once
    let made = Rc::new(Cell::new(0));
    let counter = made.clone();
    let mut runner = Runner::new(Config::new().loop_factory(move || {
        counter.set(counter.get() + 1);
        DefaultLoop::new()
    }));
    assert_eq!(made.get(), 0, "no loop before the first run");
    runner.run(async {}).unwrap();
    runner.run(async {}).unwrap();
    runner.close();
    assert_eq!(made.get(), 1);
}

#[test]
fn runner_runs_and_returns() {
    // test_run
    let mut runner = Runner::new(Config::new());
    let value = runner
        .run(async {
            corun::sleep(Duration::ZERO).await;
            42
        })
        .unwrap();
    assert_eq!(value, 42);
}

#[test]
fn runner_resumes_the_panic_of_main_and_stays_usable() {
    // test_run (raising coroutine) + the runner remains open
    quiet_panics();
    let mut runner = Runner::new(Config::new());
    let caught = catch_unwind(AssertUnwindSafe(|| {
        runner.run(async { panic!("[expected] in runner") })
    }));
    assert!(caught.is_err());
    assert!(!runner.is_closed());
    assert_eq!(runner.run(async { 1 }).unwrap(), 1);
}

#[test]
fn runner_explicit_close() {
    // test_explicit_close
    let mut runner = Runner::new(Config::new());
    runner.run(async {}).unwrap();
    runner.close();
    assert!(runner.is_closed());
}

#[test]
fn runner_double_close_is_a_no_op() {
    // test_double_close
    let mut runner = Runner::new(Config::new());
    runner.close();
    runner.close();
    assert!(runner.is_closed());
}

#[test]
fn runner_run_after_close_is_rejected() {
    // test_run_after_close, test_second_with_block_raises
    let mut runner = Runner::new(Config::new());
    runner.run(async {}).unwrap();
    runner.close();
    let error = runner.run(async {}).unwrap_err();
    assert_eq!(error, RunError::RunnerClosed);
    assert_eq!(error.to_string(), "Runner is closed");
}

#[test]
fn runner_recursive_run_is_rejected() {
    // test_recursive_run
    let inner = Rc::new(RefCell::new(Runner::new(Config::new())));
    let mut outer = Runner::new(Config::new());
    let nested = inner.clone();
    let result = outer
        .run(async move { nested.borrow_mut().run(async { 1 }) })
        .unwrap();
    assert_eq!(result, Err(RunError::NestedRun));
}

#[test]
#[allow(clippy::async_yields_async)] // The task's handle is inspected after the run.
fn runner_keeps_leftover_tasks_between_runs() {
    // asyncio.Runner: tasks outliving one run go on in the next; close cancels them.
    let drops = Drops::default();
    let token = drops.token();
    let ticks = Rc::new(Cell::new(0));
    let counter = ticks.clone();
    let mut runner = Runner::new(common::virtual_time());
    let leftover = runner
        .run(async move {
            corun::spawn(async move {
                let _token = token;
                loop {
                    corun::sleep(Duration::from_secs(1)).await;
                    counter.set(counter.get() + 1);
                }
            })
        })
        .unwrap();
    assert!(!leftover.is_finished());
    runner
        .run(async { corun::sleep(Duration::from_millis(3500)).await })
        .unwrap();
    assert_eq!(
        ticks.get(),
        3,
        "the leftover task ran during the second run"
    );
    assert_eq!(drops.count(), 0);
    runner.close();
    assert_eq!(drops.count(), 1, "close cancelled it");
    assert!(leftover.is_finished());
    let joined = corun::run(leftover.join());
    assert!(matches!(joined, Err(TaskError::Cancelled)));
}

#[test]
fn runner_drop_closes() {
    let drops = Drops::default();
    let token = drops.token();
    {
        let mut runner = Runner::new(Config::new());
        runner
            .run(async move {
                corun::spawn(async move {
                    let _token = token;
                    std::future::pending::<()>().await;
                });
            })
            .unwrap();
        assert_eq!(drops.count(), 0);
    }
    assert_eq!(drops.count(), 1);
}

#[test]
fn loop_is_closed_after_the_run() {
    // RunTests check `loop.is_closed()` after run; here a loop records its close.
    struct Recording {
        inner: DefaultLoop,
        closed: Rc<Cell<bool>>,
    }
    impl EventLoop for Recording {
        fn call_soon(&self, work: corun::Runnable) {
            assert!(!self.closed.get(), "no work after close");
            self.inner.call_soon(work)
        }
        fn next_ready(&self) -> Option<corun::Runnable> {
            self.inner.next_ready()
        }
        fn now(&self) -> std::time::Instant {
            self.inner.now()
        }
        fn add_timer(
            &self,
            deadline: std::time::Instant,
            waker: std::task::Waker,
        ) -> corun::TimerId {
            self.inner.add_timer(deadline, waker)
        }
        fn remove_timer(&self, timer: corun::TimerId) -> bool {
            self.inner.remove_timer(timer)
        }
        fn park(&self, mode: corun::Park) {
            self.inner.park(mode)
        }
        fn unparker(&self) -> std::task::Waker {
            self.inner.unparker()
        }
        fn close(&self) {
            self.closed.set(true);
            self.inner.close()
        }
    }
    let closed = Rc::new(Cell::new(false));
    let flag = closed.clone();
    let seen_open = Config::new()
        .loop_factory(move || Recording {
            inner: DefaultLoop::new(),
            closed: flag,
        })
        .run({
            let closed = closed.clone();
            async move { !closed.get() }
        });
    assert!(seen_open);
    assert!(closed.get());
}
