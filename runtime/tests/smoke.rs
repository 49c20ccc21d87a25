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
