//! `#[corun::test]` makes real tests: they run, `#[should_panic]` and `-> Result` work, options
//! apply, the main task is named after the test, and a task panic nobody retrieved fails it.

use std::time::Duration;

#[corun::test]
async fn a_test_runs_its_body_as_the_main_task() {
    let name = corun::current_task()
        .expect("the body runs as a task")
        .name()
        .to_owned();
    assert_eq!(name, "a_test_runs_its_body_as_the_main_task");
}

#[corun::test]
#[should_panic(expected = "the body's panic")]
async fn should_panic_sees_the_bodys_panic() {
    corun::yield_now().await;
    panic!("the body's panic");
}

#[corun::test]
async fn a_test_may_return_result() -> Result<(), std::num::ParseIntError> {
    let number: u32 = "42".parse()?;
    assert_eq!(number, 42);
    Ok(())
}

#[corun::test]
#[ignore = "shows that attributes after the macro are kept"]
async fn ignored_tests_stay_ignored() {
    panic!("an ignored test ran");
}

#[corun::test(debug)]
async fn debug_option_turns_debug_mode_on() {
    assert!(corun::is_debug());
}

#[corun::test(debug = false)]
async fn debug_false_turns_debug_mode_off() {
    assert!(!corun::is_debug());
}

#[corun::test(loop_factory = corun::loops::VirtualTimeLoop::new)]
async fn loop_factory_option_picks_the_loop() {
    let start = corun::now();
    corun::sleep(Duration::from_secs(3600)).await;
    assert_eq!(corun::now() - start, Duration::from_secs(3600));
}

#[corun::test]
#[should_panic(expected = "the test's run reported 1 failure(s) outside the test's own future")]
async fn a_test_whose_detached_task_panicked_fails() {
    drop(corun::spawn(async {
        panic!("a detached task's panic that nobody retrieves")
    }));
    corun::yield_now().await;
}

/// How many workers ran `each_worker_runs_the_test_on_its_own_thread`.
static WORKERS_RAN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[corun::test(workers = 2)]
async fn each_worker_runs_the_test_on_its_own_thread() {
    let worker = corun::worker().expect("the test runs in a worker");
    let thread = std::thread::current();
    assert_eq!(
        thread.name(),
        Some(&*format!("corun-worker-{}", worker.index()))
    );
    assert_eq!(worker.count(), 2);
    WORKERS_RAN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // Each worker waits until both have started: they run at once.
    let both = async {
        while WORKERS_RAN.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            corun::sleep(Duration::from_millis(1)).await;
        }
    };
    corun::timeout(Duration::from_secs(10), both)
        .await
        .expect("both workers run at once");
}

#[corun::test(workers = 2)]
#[should_panic(expected = "worker 1 panicked: only worker 1 fails")]
async fn a_workers_panic_fails_the_test_naming_the_worker() {
    if corun::worker().unwrap().index() == 1 {
        panic!("only worker 1 fails");
    }
    corun::cancelled().await;
}

#[corun::test(workers = 2)]
#[should_panic(expected = "worker 0: corun: unretrieved panic")]
async fn a_lost_task_panic_in_a_worker_fails_the_test() {
    if corun::worker().unwrap().index() == 0 {
        drop(corun::spawn(async { panic!("nobody awaits this task") }));
        corun::yield_now().await;
    }
}

#[corun::test(workers = 2, loop_factory = corun::loops::VirtualTimeLoop::new)]
async fn workers_take_the_other_options_too() -> Result<(), String> {
    let start = corun::now();
    corun::sleep(Duration::from_secs(3600)).await;
    if corun::now() - start != Duration::from_secs(3600) {
        return Err("not virtual time".into());
    }
    Ok(())
}
