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
