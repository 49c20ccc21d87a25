//! `#[corun::test]` fails when something failed anywhere in the test: its expansion calls
//! `corun::__private::run_test`, tested here by plain calls.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{quiet_panics, OnDrop, Reports};
use corun::__private::run_test;
use corun::{Config, ReportKind};

/// The message `run_test` failed with.
fn failure(run: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(run)).expect_err("the test failed");
    payload
        .downcast_ref::<String>()
        .cloned()
        .expect("a formatted message")
}

#[test]
fn a_test_whose_detached_task_panicked_fails_after_the_run_listing_the_report() {
    quiet_panics();
    let reports = Reports::default();
    let message = failure(|| {
        run_test(reports.config(), async {
            drop(corun::spawn_named("detached", async {
                panic!("[expected] lost in a task")
            }));
            corun::yield_now().await;
        })
    });
    assert!(
        message.starts_with("the test's run reported 1 failure(s) outside the test's own future"),
        "{message}"
    );
    assert!(
        message.contains("unretrieved panic: task 'detached'")
            && message.contains("[expected] lost in a task"),
        "{message}"
    );
    assert_eq!(
        reports.of_kind(ReportKind::UnretrievedPanic).len(),
        1,
        "the report still reached the run's handler"
    );
}

#[test]
fn a_test_with_a_panic_while_cancelling_at_shutdown_fails() {
    quiet_panics();
    let message = failure(|| {
        run_test(Config::new().exception_handler(|_| {}), async {
            drop(corun::spawn_named("messy", async {
                let _guard = OnDrop(|| panic!("[expected] cleanup failed"));
                std::future::pending::<()>().await;
            }));
        })
    });
    assert!(
        message.contains("panic while cancelling: task 'messy'")
            && message.contains("[expected] cleanup failed"),
        "{message}"
    );
}

#[test]
fn a_test_whose_leaked_handle_held_a_panic_fails() {
    quiet_panics();
    let message = failure(|| {
        run_test(Config::new().exception_handler(|_| {}), async {
            let task = corun::spawn(async { panic!("[expected] behind a leaked handle") });
            corun::yield_now().await;
            std::mem::forget(task);
        })
    });
    assert!(
        message.contains("[expected] behind a leaked handle"),
        "{message}"
    );
}

#[test]
fn a_test_that_retrieved_every_panic_passes_with_its_output() {
    quiet_panics();
    let output = run_test(Config::new(), async {
        let failed = corun::spawn(async { panic!("[expected] retrieved") })
            .join()
            .await;
        assert!(failed.is_err());
        "passed"
    });
    assert_eq!(output, "passed");
}

#[test]
fn the_tests_own_panic_comes_out_as_it_is() {
    quiet_panics();
    let payload = catch_unwind(|| {
        run_test(Config::new().exception_handler(|_| {}), async {
            drop(corun::spawn(async { panic!("[expected] in a task") }));
            corun::yield_now().await;
            panic!("[expected] the test's own");
        })
    })
    .expect_err("the test failed");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"[expected] the test's own"),
        "#[should_panic(expected = ..)] sees the body's panic"
    );
}
