//! Debug mode: slow polls, shutdown and never-polled reports, spawn backtraces, nested runs.

use std::cell::RefCell;
use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use corun_runtime::loops::VirtualTimeLoop;
use corun_runtime::{
    cancelled, is_debug, run, sleep, spawn, spawn_named, yield_now, Config, Report, ReportKind,
};

/// A config whose exception handler collects every report, and the collection.
fn collecting(config: Config) -> (Config, Rc<RefCell<Vec<Report>>>) {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let sink = reports.clone();
    let config = config.exception_handler(move |report| sink.borrow_mut().push(report.clone()));
    (config, reports)
}

/// Runs a closure when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

fn kinds(reports: &RefCell<Vec<Report>>) -> Vec<ReportKind> {
    reports.borrow().iter().map(Report::kind).collect()
}

/// Blocks the loop's thread, as a misplaced blocking call would.
fn block_the_loop() {
    std::thread::sleep(Duration::from_millis(20));
}

const SHORT: Duration = Duration::from_millis(1);

/// Debug mode for tests not about slow polls: a spawn in debug mode captures a backtrace, which
/// waits on a process-wide lock that a parallel test's panic hook may hold for a while.
fn debug_config() -> Config {
    Config::new()
        .debug(true)
        .slow_poll_threshold(Duration::from_secs(3600))
}

#[test]
fn debug_flag_is_what_the_config_says() {
    assert!(Config::new().debug(true).run(async { is_debug() }));
    assert!(!Config::new().debug(false).run(async { is_debug() }));
    assert!(!is_debug(), "outside a run there is no debug mode");
}

#[test]
fn slow_poll_of_a_spawned_task_is_reported_with_name_site_and_duration() {
    let (config, reports) = collecting(Config::new().debug(true).slow_poll_threshold(SHORT));
    let spawned_line = config.run(async {
        let (task, line) = (spawn_named("blocker", async { block_the_loop() }), line!());
        task.await;
        line
    });
    let reports = reports.borrow();
    let slow: Vec<&Report> = reports
        .iter()
        .filter(|r| r.kind() == ReportKind::SlowPoll && r.task_name() == Some("blocker"))
        .collect();
    assert_eq!(slow.len(), 1, "{reports:?}");
    let at = slow[0]
        .spawned_at()
        .expect("a task report has a spawn site");
    assert_eq!((at.file(), at.line()), (file!(), spawned_line));
    assert!(slow[0].elapsed().expect("a slow poll has a duration") >= Duration::from_millis(20));
    let line = slow[0].to_string();
    assert!(
        line.starts_with("corun: slow poll: task 'blocker' (#"),
        "{line}"
    );
    assert!(
        line.contains(&format!("spawned at {}:{spawned_line}", file!())),
        "{line}"
    );
    assert!(line.contains("(took "), "{line}");
}

#[test]
fn slow_poll_of_the_main_task_is_reported() {
    let (config, reports) = collecting(
        Config::new()
            .debug(true)
            .slow_poll_threshold(SHORT)
            .main_name("entry"),
    );
    let run_line = line!() + 1;
    config.run(async { block_the_loop() });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].kind(), ReportKind::SlowPoll);
    assert_eq!(reports[0].task_name(), Some("entry"));
    let at = reports[0]
        .spawned_at()
        .expect("the main task's site is the run's caller");
    assert_eq!((at.file(), at.line()), (file!(), run_line));
}

#[test]
#[cfg_attr(miri, ignore = "a real-time threshold: Miri makes every poll slow")]
fn fast_polls_are_not_reported() {
    // A generous threshold: a loaded test machine must not make this test fail.
    let threshold = Duration::from_secs(1);
    let (config, reports) = collecting(debug_config().slow_poll_threshold(threshold));
    config.run(async {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                spawn(async {
                    for _ in 0..10 {
                        yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
    });
    assert_eq!(kinds(&reports), []);
}

#[test]
fn slow_polls_are_not_reported_outside_debug_mode() {
    let (config, reports) = collecting(Config::new().debug(false).slow_poll_threshold(SHORT));
    config.run(async {
        spawn(async { block_the_loop() }).await;
        block_the_loop();
    });
    assert_eq!(kinds(&reports), []);
}

#[test]
fn slow_poll_threshold_is_measured_in_real_time_on_a_virtual_clock() {
    let (config, reports) = collecting(
        Config::new()
            .debug(true)
            .slow_poll_threshold(SHORT)
            .loop_factory(VirtualTimeLoop::new),
    );
    config.run(async {
        // An hour of virtual sleep holds the loop for no real time: not slow.
        sleep(Duration::from_secs(3600)).await;
        spawn_named("blocker", async { block_the_loop() }).await;
    });
    let reports = reports.borrow();
    let slow: Vec<_> = reports.iter().filter_map(Report::task_name).collect();
    // Main's poll that spawned "blocker" may be slow too (see `debug_config`); the sleep is not.
    assert!(slow.contains(&"blocker"), "{reports:?}");
    assert!(slow.iter().all(|&name| name == "blocker" || name == "main"));
}

#[test]
fn tasks_cancelled_at_shutdown_are_reported_with_name_and_spawn_site() {
    let (config, reports) = collecting(debug_config());
    let queued_line = std::rc::Rc::new(std::cell::Cell::new(0));
    let queued_at = queued_line.clone();
    let ran_line = config.run(async move {
        let (ran, ran_line) = (spawn_named("ran", pending::<()>()), line!());
        // A task spawned while the run shuts down (here by a destructor) never gets a turn.
        let spawn_on_drop = OnDrop(move || {
            let (queued, line) = (spawn_named("queued", pending::<()>()), line!());
            queued_at.set(line);
            drop(queued);
        });
        drop(spawn_named("holder", async move {
            let _spawn_on_drop = spawn_on_drop;
            pending::<()>().await;
        }));
        drop(ran);
        ran_line
    });
    let queued_line = queued_line.get();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 3, "{reports:?}");
    for report in reports.iter() {
        assert_eq!(report.kind(), ReportKind::CancelledAtShutdown);
    }
    let ran = reports.iter().find(|r| r.task_name() == Some("ran"));
    let ran = ran.expect("the task that ran is reported");
    assert_eq!(ran.spawned_at().map(|at| at.line()), Some(ran_line));
    assert!(
        ran.message().contains("while it was still running"),
        "{ran}"
    );
    let queued = reports.iter().find(|r| r.task_name() == Some("queued"));
    let queued = queued.expect("the task that never ran is reported");
    assert_eq!(queued.spawned_at().map(|at| at.line()), Some(queued_line));
    assert!(
        queued.message().contains("before it was ever polled"),
        "{queued}"
    );
}

#[test]
fn tasks_cancelled_at_shutdown_are_not_reported_outside_debug_mode() {
    let (config, reports) = collecting(Config::new().debug(false));
    config.run(async {
        drop(spawn(pending::<()>()));
        yield_now().await;
        drop(spawn(pending::<()>()));
    });
    assert_eq!(kinds(&reports), []);
}

#[test]
fn cooperative_task_that_outlives_the_shutdown_grace_is_reported_as_dropped() {
    let (config, reports) = collecting(
        debug_config()
            .loop_factory(VirtualTimeLoop::new)
            .shutdown_grace(Duration::from_secs(5)),
    );
    config.run(async {
        drop(spawn_named("stubborn", async {
            cancelled().await;
            // Heard the request, but its cleanup never ends.
            pending::<()>().await;
        }));
        yield_now().await;
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].kind(), ReportKind::CancelledAtShutdown);
    assert_eq!(reports[0].task_name(), Some("stubborn"));
    assert!(
        reports[0].message().contains("shutdown grace ran out"),
        "{}",
        reports[0]
    );
}

#[test]
fn cooperative_task_that_finishes_within_the_grace_is_not_reported() {
    let (config, reports) = collecting(
        debug_config()
            .loop_factory(VirtualTimeLoop::new)
            .shutdown_grace(Duration::from_secs(5)),
    );
    config.run(async {
        drop(spawn_named("tidy", async {
            cancelled().await;
            sleep(Duration::from_secs(1)).await;
        }));
        yield_now().await;
    });
    assert_eq!(kinds(&reports), []);
}

#[test]
fn task_cancelled_before_its_first_poll_is_pointed_out() {
    let (config, reports) = collecting(debug_config());
    let spawned_line = config.run(async {
        let (task, line) = (spawn_named("never-ran", async {}), line!());
        assert!(task.cancel());
        assert!(task.join().await.unwrap_err().is_cancelled());
        line
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].kind(), ReportKind::NeverPolled);
    assert_eq!(reports[0].task_name(), Some("never-ran"));
    assert_eq!(
        reports[0].spawned_at().map(|at| at.line()),
        Some(spawned_line)
    );
    assert!(
        reports[0].to_string().contains("never polled"),
        "{}",
        reports[0]
    );
}

#[test]
fn task_cancelled_after_it_ran_is_not_reported() {
    let (config, reports) = collecting(debug_config());
    config.run(async {
        let task = spawn(pending::<()>());
        yield_now().await;
        assert!(task.cancel());
        assert!(task.join().await.unwrap_err().is_cancelled());
    });
    assert_eq!(kinds(&reports), []);
}

#[test]
fn task_cancelled_before_its_first_poll_is_not_reported_outside_debug_mode() {
    let (config, reports) = collecting(Config::new().debug(false));
    config.run(async {
        let task = spawn(async {});
        task.cancel();
        assert!(task.join().await.is_err());
    });
    assert_eq!(kinds(&reports), []);
}

/// Spawns a task that panics and is never awaited, from a function whose name the backtrace
/// must show.
fn spawn_a_doomed_task() {
    drop(spawn_named("doomed", async { panic!("nobody awaits me") }));
}

#[test]
#[cfg_attr(panic = "abort", ignore = "relies on unwinding")]
fn unretrieved_panic_report_carries_the_spawn_backtrace_in_debug_mode() {
    let (config, reports) = collecting(debug_config());
    config.run(async {
        spawn_a_doomed_task();
        yield_now().await;
    });
    let reports = reports.borrow();
    assert_eq!(kinds_of(&reports), [ReportKind::UnretrievedPanic]);
    assert!(reports[0].message().contains("nobody awaits me"));
    let backtrace = reports[0]
        .spawn_backtrace()
        .expect("debug mode captures it");
    let backtrace = backtrace.to_string();
    assert!(backtrace.contains("spawn_a_doomed_task"), "{backtrace}");
}

#[test]
#[cfg_attr(panic = "abort", ignore = "relies on unwinding")]
fn reports_carry_no_backtrace_outside_debug_mode() {
    let (config, reports) = collecting(Config::new().debug(false));
    config.run(async {
        spawn_a_doomed_task();
        yield_now().await;
    });
    let reports = reports.borrow();
    assert_eq!(kinds_of(&reports), [ReportKind::UnretrievedPanic]);
    assert!(reports[0].spawn_backtrace().is_none());
}

fn kinds_of(reports: &[Report]) -> Vec<ReportKind> {
    reports.iter().map(Report::kind).collect()
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .unwrap_or_default(),
    }
}

#[test]
#[cfg_attr(panic = "abort", ignore = "relies on unwinding")]
fn nested_run_panic_says_where_the_running_loop_was_started() {
    let outer_line = line!() + 1;
    let message = run(async {
        let nested = catch_unwind(AssertUnwindSafe(|| run(async {})));
        panic_text(nested.expect_err("a nested run panics"))
    });
    assert!(
        message.contains("cannot be called from a running event loop"),
        "{message}"
    );
    let started = format!("the running loop was started at {}:{outer_line}:", file!());
    assert!(message.contains(&started), "{message}");
}

#[test]
#[cfg_attr(panic = "abort", ignore = "relies on unwinding")]
fn nested_run_from_a_spawned_task_names_the_outer_run_too() {
    let outer_line = line!() + 1;
    let message = Config::new().run(async {
        spawn(async {
            let nested = catch_unwind(AssertUnwindSafe(|| Config::new().run(async {})));
            panic_text(nested.expect_err("a nested run panics"))
        })
        .await
    });
    let started = format!("the running loop was started at {}:{outer_line}:", file!());
    assert!(message.contains(&started), "{message}");
}
