//! `#[corun::entry]` on functions other than `main`: each call is one run on a fresh loop.

#[corun::entry]
async fn answer() -> u32 {
    corun::spawn(async { 40 + 2 }).await
}

#[corun::entry]
async fn task_name() -> String {
    corun::current_task()
        .expect("inside a task")
        .name()
        .to_owned()
}

#[corun::entry]
async fn fails() -> Result<u32, std::num::ParseIntError> {
    let number: u32 = "not a number".parse()?;
    Ok(number)
}

#[test]
fn an_entry_function_returns_the_bodys_value() {
    assert_eq!(answer(), 42);
}

#[test]
fn each_call_is_a_separate_run() {
    assert_eq!(answer(), 42);
    assert_eq!(answer(), 42);
}

#[test]
fn the_main_task_is_named_after_the_function() {
    assert_eq!(task_name(), "task_name");
}

#[test]
fn question_mark_returns_the_error() {
    assert!(fails().is_err());
}
