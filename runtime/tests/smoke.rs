//! A first end-to-end pass over the runtime: tasks, gather, virtual time, nested runs, panics.

use corun_runtime::*;
use std::time::Duration;

#[test]
fn smoke() {
    let v = run(async {
        let a = spawn(async { 1 });
        let b = spawn(async {
            sleep(Duration::from_millis(5)).await;
            2
        });
        let (x, y) = gather!(a, b).await;
        x + y
    });
    assert_eq!(v, 3);
    let waited = Config::new()
        .loop_factory(loops::VirtualTimeLoop::new)
        .run(async {
            let s = now();
            sleep(Duration::from_secs(3600)).await;
            now() - s
        });
    assert_eq!(waited, Duration::from_secs(3600));
    let nested = run(async { Config::new().try_run(async {}) });
    assert_eq!(nested, Err(RunError::NestedRun));
    // A task's panic resumed in main and out of `run` needs unwinding (scripts/panic-abort.sh).
    if cfg!(panic = "unwind") {
        let r = std::panic::catch_unwind(|| run(async { spawn(async { panic!("boom") }).await }));
        assert!(r.is_err());
    }
    run(async {
        drop(spawn(std::future::pending::<()>()));
    });
}

/// The paths that reach a task's header from elsewhere, for Miri: the header lives in the task's
/// allocation and is lent to the context during polls (`current_task`, `cancelled`), read by
/// handles on another thread (`Task::cancel`, `name`), and copied into a `TaskRef` that outlives
/// the task.
#[test]
fn task_headers_are_reached_from_polls_handles_and_other_threads() {
    let (kept, cancelled) = run(async {
        let listener = spawn_named("listener", async {
            cancelled().await;
            current_task().unwrap()
        });
        let idle = spawn(std::future::pending::<()>());
        yield_now().await;
        assert_eq!(listener.name(), "listener");
        assert!(idle.name().starts_with("Task-"));
        let (listener, idle) = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    assert!(listener.cancel());
                    assert!(idle.cancel());
                    (listener, idle)
                })
                .join()
                .unwrap()
        });
        (listener.await, idle.join().await)
    });
    assert_eq!(kept.name(), "listener");
    assert!(cancelled.unwrap_err().is_cancelled());
}
