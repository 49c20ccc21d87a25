//! `TokioLoop::multi_thread`: corun's tasks on the loop's thread, `tokio::spawn` on tokio's
//! workers, what corun's functions do on a worker, the shutdown order; and
//! `tokio::task::spawn_local` on every flavour. All traffic on 127.0.0.1; every wait is bounded.

use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use corun::loops::TokioLoop;
use corun::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn multi_thread() -> Config {
    Config::new()
        .loop_factory(TokioLoop::multi_thread)
        .handle_signals(false)
}

fn current_thread() -> Config {
    Config::new()
        .loop_factory(TokioLoop::new)
        .handle_signals(false)
}

/// Where each kind of task ran.
#[derive(Debug)]
struct Threads {
    main: ThreadId,
    corun_task: ThreadId,
    tokio_task: ThreadId,
    local_task: ThreadId,
}

async fn threads_of_each_kind() -> Threads {
    let here = || thread::current().id();
    let corun_task = corun::spawn(async move { here() });
    let tokio_task = tokio::spawn(async move { here() });
    let local_task = tokio::task::spawn_local(async move { here() });
    Threads {
        main: here(),
        corun_task: corun_task.await,
        tokio_task: tokio_task.await.unwrap(),
        local_task: local_task.await.unwrap(),
    }
}

#[test]
fn corun_and_local_tasks_run_on_the_loops_thread_and_tokio_spawn_on_a_worker() {
    let threads = multi_thread().run(threads_of_each_kind());
    let loop_thread = thread::current().id();
    assert_eq!(threads.main, loop_thread);
    assert_eq!(threads.corun_task, loop_thread);
    assert_eq!(threads.local_task, loop_thread);
    assert_ne!(threads.tokio_task, loop_thread, "{threads:?}");
}

#[test]
fn every_kind_of_task_runs_on_the_loops_thread_on_new() {
    let threads = current_thread().run(threads_of_each_kind());
    let loop_thread = thread::current().id();
    assert_eq!(threads.main, loop_thread);
    assert_eq!(threads.corun_task, loop_thread);
    assert_eq!(threads.tokio_task, loop_thread);
    assert_eq!(threads.local_task, loop_thread);
}

#[test]
fn spawn_local_takes_a_future_that_is_not_send() {
    let sum = current_thread().run(async {
        let shared = std::rc::Rc::new(std::cell::Cell::new(1));
        let inside = shared.clone();
        let local = tokio::task::spawn_local(async move {
            tokio::task::yield_now().await;
            inside.set(inside.get() + 1);
        });
        local.await.unwrap();
        shared.get()
    });
    assert_eq!(sum, 2);
}

#[test]
fn corun_time_works_on_a_worker_on_the_loops_clock() {
    let (slept, timed_out, finished_in_time, loop_now, worker_now) = multi_thread().run(async {
        let loop_now = corun::now();
        let worker = tokio::spawn(async {
            let worker_now = corun::now();
            let start = std::time::Instant::now();
            corun::sleep(Duration::from_millis(20)).await;
            let slept = start.elapsed();
            let deadline = corun::now() + Duration::from_millis(5);
            corun::sleep_until(deadline).await;
            assert!(corun::now() >= deadline);
            let never = std::future::pending::<()>();
            let timed_out = corun::timeout(Duration::from_millis(10), never).await;
            let in_time = corun::timeout(Duration::from_secs(10), async { 7 }).await;
            (slept, timed_out, in_time, worker_now)
        });
        let (slept, timed_out, in_time, worker_now) = worker.await.unwrap();
        (slept, timed_out, in_time, loop_now, worker_now)
    });
    assert!(slept >= Duration::from_millis(20), "{slept:?}");
    assert!(timed_out.is_err());
    assert_eq!(finished_in_time, Ok(7));
    // One clock: the worker read it after the loop did.
    assert!(worker_now >= loop_now);
}

#[test]
fn current_task_is_none_on_a_worker() {
    let (on_loop, on_worker) = multi_thread().run(async {
        let on_worker = tokio::spawn(async { corun::current_task().is_some() });
        (corun::current_task().is_some(), on_worker.await.unwrap())
    });
    assert!(on_loop);
    assert!(!on_worker);
}

#[test]
fn corun_spawn_on_a_worker_panics_naming_what_to_use_instead() {
    let message = multi_thread().run(async {
        let worker = tokio::spawn(async {
            corun::spawn(async {});
        });
        let panic = worker.await.unwrap_err().into_panic();
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
            .unwrap()
    });
    assert!(message.contains("tokio worker"), "{message}");
    assert!(message.contains("tokio::spawn"), "{message}");
    assert!(message.contains("corun::Handle::spawn"), "{message}");
}

#[test]
fn a_handle_taken_on_the_loop_spawns_from_a_worker_onto_the_loop() {
    let (loop_thread, ran_on) = multi_thread().run(async {
        let handle = corun::Handle::current();
        let worker =
            tokio::spawn(async move { handle.spawn(async { thread::current().id() }).await });
        (thread::current().id(), worker.await.unwrap())
    });
    assert_eq!(ran_on, loop_thread);
}

#[test]
fn cancelled_made_in_a_corun_task_completes_on_a_worker_when_that_task_is_cancelled() {
    let value = multi_thread().run(async {
        let listener = corun::spawn(async {
            let cancelled = corun::cancelled();
            let on_worker = tokio::spawn(async move {
                cancelled.await;
                "cleaned up on a worker"
            });
            on_worker.await.unwrap()
        });
        corun::sleep(Duration::from_millis(10)).await;
        assert!(listener.cancel());
        listener.join().await
    });
    assert_eq!(value.ok(), Some("cleaned up on a worker"));
}

#[test]
fn a_corun_task_is_woken_by_io_that_a_worker_polled() {
    let echoed = multi_thread().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = corun::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 64];
            for _ in 0..100 {
                let read = stream.read(&mut buffer).await.unwrap();
                stream.write_all(&buffer[..read]).await.unwrap();
            }
        });
        let mut client = TcpStream::connect(address).await.unwrap();
        let mut echoed = 0;
        for round in 0..100u8 {
            client.write_all(&[round]).await.unwrap();
            let mut reply = [0];
            client.read_exact(&mut reply).await.unwrap();
            assert_eq!(reply[0], round);
            echoed += 1;
        }
        server.await;
        echoed
    });
    assert_eq!(echoed, 100);
}

#[test]
fn an_axum_handler_on_a_worker_sleeps_on_corun_and_the_server_stops_through_cancelled() {
    let (loop_thread, reply, handler_thread) = multi_thread().run(async {
        let handler_thread = Arc::new(Mutex::new(None));
        let seen = handler_thread.clone();
        let app = axum::Router::new().route(
            "/slow",
            axum::routing::get(move || async move {
                corun::sleep(Duration::from_millis(5)).await;
                *seen.lock().unwrap() = Some(thread::current().id());
                "slow"
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = corun::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(corun::cancelled())
                .await
        });
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: corun\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        server.cancel();
        server.join().await.unwrap().unwrap();
        let handler_thread = handler_thread.lock().unwrap().take();
        (thread::current().id(), reply, handler_thread)
    });
    assert!(reply.ends_with("slow"), "{reply}");
    assert_ne!(handler_thread, Some(loop_thread));
    assert!(handler_thread.is_some());
}

/// Pushes its name to a shared list when dropped.
struct Recorder(&'static str, Arc<Mutex<Vec<&'static str>>>);

impl Drop for Recorder {
    fn drop(&mut self) {
        self.1.lock().unwrap().push(self.0);
    }
}

fn leave_one_task_of_each_kind(order: &Arc<Mutex<Vec<&'static str>>>) {
    let corun = Recorder("corun", order.clone());
    let tokio = Recorder("tokio", order.clone());
    let local = Recorder("local", order.clone());
    corun::spawn(async move {
        let _held = corun;
        std::future::pending::<()>().await;
    });
    tokio::spawn(async move {
        let _held = tokio;
        std::future::pending::<()>().await;
    });
    tokio::task::spawn_local(async move {
        let _held = local;
        std::future::pending::<()>().await;
    });
}

#[test]
fn at_shutdown_corun_tasks_go_first_then_local_then_tokio_tasks_on_multi_thread() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let inside = order.clone();
    multi_thread().run(async move {
        leave_one_task_of_each_kind(&inside);
        corun::sleep(Duration::from_millis(10)).await;
    });
    assert_eq!(*order.lock().unwrap(), ["corun", "local", "tokio"]);
}

#[test]
fn at_shutdown_corun_tasks_go_first_then_local_then_tokio_tasks_on_new() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let inside = order.clone();
    current_thread().run(async move {
        leave_one_task_of_each_kind(&inside);
        corun::sleep(Duration::from_millis(10)).await;
    });
    assert_eq!(*order.lock().unwrap(), ["corun", "local", "tokio"]);
}

#[test]
fn handle_block_on_inside_a_task_panics_on_multi_thread_too() {
    let panicked = multi_thread().run(async {
        let task = corun::spawn(async {
            tokio::runtime::Handle::current().block_on(async {});
        });
        task.join().await.is_err()
    });
    assert!(panicked);
}

#[test]
fn a_worker_stuck_in_a_task_holds_the_end_of_the_run_at_most_the_shutdown_timeout() {
    let started = std::time::Instant::now();
    let finished = Arc::new(Mutex::new(false));
    let flag = finished.clone();
    multi_thread()
        .shutdown_timeout(Duration::from_millis(50))
        .run(async move {
            // A handler that blocks its worker, as a bad one would.
            let (began, begun) = futures::channel::oneshot::channel();
            drop(tokio::spawn(async move {
                let _ = began.send(());
                std::thread::sleep(Duration::from_secs(10));
                *flag.lock().unwrap() = true;
            }));
            begun.await.unwrap();
        });
    assert!(
        !*finished.lock().unwrap(),
        "the run returned without the blocked task"
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the run did not wait for the 10 s blocked worker"
    );
}

#[test]
fn the_tokio_tasks_dropped_at_shutdown_are_reported_in_debug_mode_on_multi_thread() {
    let reports = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = reports.clone();
    multi_thread()
        .debug(true)
        .exception_handler(move |report| seen.borrow_mut().push(report.message().to_owned()))
        .run(async {
            for _ in 0..2 {
                tokio::spawn(std::future::pending::<()>());
            }
            tokio::task::yield_now().await;
        });
    assert!(
        reports
            .borrow()
            .iter()
            .any(|message| message.contains("2 task(s) of the loop's own runtime were dropped")),
        "{reports:?}"
    );
}
