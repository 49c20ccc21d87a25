//! Default task names count the tasks created in the process. One test in its own binary: the
//! counter is process-wide, so no other test may create tasks while this one counts.

use std::thread;

#[test]
fn default_names_count_the_tasks_created_in_the_process_in_creation_order_on_any_thread() {
    let first = corun::run(async {
        let main = corun::current_task().unwrap().id().get();
        let task = corun::spawn(async {});
        (main, task.name().to_owned())
    });
    assert_eq!(
        first,
        (1, "Task-2".to_owned()),
        "the first run's main is task 1"
    );

    let second = thread::spawn(|| {
        corun::run(async {
            let main = corun::current_task().unwrap().id().get();
            let local = corun::spawn(async {}).name().to_owned();
            let handle = corun::Handle::current();
            let remote = thread::spawn(move || handle.spawn(async {}).name().to_owned())
                .join()
                .unwrap();
            (main, local, remote)
        })
    })
    .join()
    .unwrap();
    assert_eq!(
        second,
        (3, "Task-4".to_owned(), "Task-5".to_owned()),
        "another thread's run and a Handle on a third thread go on counting"
    );
}
