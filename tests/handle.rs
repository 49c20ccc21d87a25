//! `Handle`: reaching a running loop from other threads — spawning `Send` futures, waking an
//! idle loop at once, and a defined outcome once the loop has closed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use corun::{Handle, Task, TaskError, ToThread};
use futures::channel::oneshot;

fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
fn assert_send<T: Send>() {}

#[test]
fn handle_is_send_sync_clone_and_its_tasks_are_send() {
    assert_send_sync_clone::<Handle>();
    assert_send::<Task<u32>>();
    assert_send::<ToThread<u32>>();
}

#[test]
fn handle_current_outside_a_loop_panics_with_a_message() {
    let payload = std::panic::catch_unwind(Handle::current).unwrap_err();
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(
        message.contains("outside a running event loop"),
        "{message}"
    );
}

#[test]
fn handle_try_current_is_none_outside_a_loop_and_some_inside() {
    assert!(Handle::try_current().is_none());
    assert!(corun::run(async { Handle::try_current().is_some() }));
}

#[test]
fn handle_spawn_from_another_thread_runs_the_task_on_the_loop_thread() {
    let (loop_thread, task_thread) = corun::run(async {
        let handle = Handle::current();
        let task = thread::spawn(move || handle.spawn(async { thread::current().id() }))
            .join()
            .unwrap();
        (thread::current().id(), task.await)
    });
    assert_eq!(loop_thread, task_thread);
}

#[test]
fn a_task_from_handle_spawn_can_be_awaited_on_another_loop() {
    let value = corun::run(async {
        let handle = Handle::current();
        let task = handle.spawn(async {
            corun::sleep(Duration::from_millis(1)).await;
            5
        });
        // Another thread runs its own loop and awaits the task there.
        corun::to_thread(move || corun::run(task)).await
    });
    assert_eq!(value, 5);
}

#[test]
fn handle_spawn_from_another_thread_unparks_an_idle_loop_at_once() {
    let elapsed = corun::run(async {
        let handle = Handle::current();
        let (sent, received) = oneshot::channel();
        let start = Instant::now();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            drop(handle.spawn(async move { sent.send(()).unwrap() }));
        });
        // The loop has no timer to wake it: only the spawn can.
        received.await.unwrap();
        start.elapsed()
    });
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn a_wake_from_another_thread_unparks_an_idle_loop_at_once() {
    let elapsed = corun::run(async {
        let (sent, received) = oneshot::channel();
        let start = Instant::now();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            sent.send(()).unwrap();
        });
        received.await.unwrap();
        start.elapsed()
    });
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn handle_spawn_after_the_loop_closed_drops_the_future_and_the_task_reports_cancelled() {
    let handle = corun::run(async { Handle::current() });
    let drops = Arc::new(AtomicUsize::new(0));
    struct Token(Arc<AtomicUsize>);
    impl Drop for Token {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let token = Token(drops.clone());
    let task = handle.spawn(async move {
        let _token = token;
        1
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the future was dropped");
    assert!(task.is_finished());
    let joined = futures::executor::block_on(task.join());
    assert!(matches!(joined, Err(TaskError::Cancelled)));
}

#[test]
fn handle_spawn_while_the_run_shuts_down_is_cancelled() {
    let handle_task = corun::run(async {
        let handle = Handle::current();
        // Main returns at once; the thread spawns while the run is ending or after.
        thread::spawn(move || handle.spawn(std::future::pending::<()>()))
    });
    let task = handle_task.join().unwrap();
    let joined = futures::executor::block_on(task.join());
    assert!(matches!(joined, Err(TaskError::Cancelled)));
}

#[test]
fn a_task_awaited_on_another_loop_while_pending_wakes_that_loop_when_it_completes() {
    let value = corun::run(async {
        let handle = Handle::current();
        let (go, wait) = oneshot::channel::<u32>();
        let task = handle.spawn(async move { wait.await.unwrap() * 2 });
        corun::to_thread(move || {
            corun::run(async move {
                let mut task = std::pin::pin!(task);
                let mut go = Some(go);
                // The first poll finds the task pending, so the other loop keeps this loop's
                // waker; only then may the task finish, from here. Bounded: a lost wake fails
                // instead of hanging.
                let awaited = std::future::poll_fn(|cx| {
                    let polled = std::future::Future::poll(task.as_mut(), cx);
                    if let Some(go) = go.take() {
                        assert!(polled.is_pending());
                        go.send(21).unwrap();
                    }
                    polled
                });
                corun::timeout(Duration::from_secs(30), awaited).await
            })
        })
        .await
    });
    assert_eq!(
        value.ok(),
        Some(42),
        "the completion woke the awaiting loop"
    );
}
