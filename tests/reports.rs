//! The exception handler and `Report`: what reaches it, what the default handler prints.

mod common;

use std::time::Duration;

use common::{quiet_panics, Reports};
use corun::ReportKind;

#[test]
fn report_carries_kind_message_task_name_and_spawn_site() {
    quiet_panics();
    let reports = Reports::default();
    reports.config().run(async {
        drop(corun::spawn_named("reporter", async {
            panic!("[expected] details")
        }));
        corun::yield_now().await;
    });
    let all = reports.all();
    assert_eq!(all.len(), 1);
    let report = &all[0];
    assert_eq!(report.kind(), ReportKind::UnretrievedPanic);
    assert_eq!(report.task_name(), Some("reporter"));
    assert!(report.message().contains("[expected] details"));
    assert!(report.task_id().is_some());
    let spawned_at = report.spawned_at().expect("spawn site recorded");
    assert!(spawned_at.file().ends_with("reports.rs"), "{spawned_at}");
}

#[test]
fn display_is_one_readable_line() {
    quiet_panics();
    let reports = Reports::default();
    reports.config().run(async {
        drop(corun::spawn_named("liner", async {
            panic!("[expected] one line")
        }));
        corun::yield_now().await;
    });
    let line = reports.all()[0].to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.starts_with("corun: unretrieved panic: task 'liner'"),
        "{line}"
    );
    assert!(line.contains("spawned at"), "{line}");
    assert!(line.contains("[expected] one line"), "{line}");
}

#[test]
fn a_panicking_handler_does_not_break_the_loop() {
    quiet_panics();
    let value = corun::Config::new()
        .exception_handler(|_| panic!("[expected] handler failed"))
        .run(async {
            drop(corun::spawn(async { panic!("[expected] task failed") }));
            corun::sleep(Duration::from_millis(1)).await;
            "still running"
        });
    assert_eq!(value, "still running");
}

#[test]
fn panic_dropped_on_another_thread_is_reported_to_its_loop() {
    // A task's unretrieved panic whose handle is dropped off the loop thread after the run
    // has closed goes to stderr: the loop is gone, and the report is still not lost. While the
    // loop runs, it arrives through the loop's remote queue.
    quiet_panics();
    let reports = Reports::default();
    reports.config().run(async {
        let task = corun::spawn(async { panic!("[expected] far away") });
        corun::yield_now().await;
        assert!(task.is_finished());
        let (sender, receiver) = std::sync::mpsc::channel();
        // `Task<T>` is `Send` when `T` is: move the handle to a thread and drop it there.
        let thread = std::thread::spawn(move || {
            drop(task);
            sender.send(()).unwrap();
        });
        receiver.recv().unwrap();
        thread.join().unwrap();
        corun::sleep(Duration::from_millis(1)).await;
    });
    assert_eq!(reports.of_kind(ReportKind::UnretrievedPanic).len(), 1);
}

#[test]
fn a_panic_whose_handle_was_leaked_is_reported_when_the_loop_closes() {
    quiet_panics();
    let reports = Reports::default();
    reports.config().run(async {
        let task = corun::spawn_named("leaked", async { panic!("[expected] leaked") });
        corun::yield_now().await;
        assert!(task.is_finished());
        std::mem::forget(task);
    });
    let unretrieved = reports.of_kind(ReportKind::UnretrievedPanic);
    assert_eq!(unretrieved.len(), 1, "{unretrieved:?}");
    assert_eq!(unretrieved[0].task_name(), Some("leaked"));
    assert!(
        unretrieved[0].message().contains("[expected] leaked"),
        "{}",
        unretrieved[0]
    );
}

#[test]
fn a_panic_whose_handle_outlives_the_run_is_reported_through_that_runs_handler_once() {
    quiet_panics();
    let reports = Reports::default();
    // Handed out of the run in an `Option`: the handle is a future, not the run's result.
    let task = reports.config().run(async {
        let task = corun::spawn_named("kept", async { panic!("[expected] kept") });
        corun::yield_now().await;
        Some(task)
    });
    let task = task.expect("the run hands the handle out");
    let unretrieved = reports.of_kind(ReportKind::UnretrievedPanic);
    assert_eq!(
        unretrieved.len(),
        1,
        "reported as the loop closed: {unretrieved:?}"
    );
    assert_eq!(unretrieved[0].task_name(), Some("kept"));
    // The handle still gives the panic afterwards; dropping it reports nothing more.
    let joined = futures::executor::block_on(task.join());
    let Err(corun::TaskError::Panicked(payload)) = joined else {
        panic!("the handle gives the panic: {joined:?}");
    };
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"[expected] kept"));
    assert_eq!(reports.all().len(), 1);
}

#[test]
fn a_panic_retrieved_in_a_later_run_of_the_same_runner_is_not_reported() {
    quiet_panics();
    let reports = Reports::default();
    let mut runner = corun::Runner::new(reports.config());
    let task = runner
        .run(async {
            let task = corun::spawn(async { panic!("[expected] later") });
            corun::yield_now().await;
            Some(task)
        })
        .unwrap()
        .expect("the run hands the handle out");
    let joined = runner.run(task.join()).unwrap();
    assert!(matches!(joined, Err(corun::TaskError::Panicked(_))));
    runner.close();
    assert_eq!(reports.all().len(), 0, "{:?}", reports.all());
}
