//! `TokioLoop`: tokio's IO, timers and tasks inside corun runs, and corun's shutdown order with
//! tokio's tasks. All traffic on 127.0.0.1; every wait is bounded.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corun::loops::TokioLoop;
use corun::{Config, Runner};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

fn tokio_config() -> Config {
    Config::new()
        .loop_factory(TokioLoop::new)
        .handle_signals(false)
}

/// Serves every connection of `listener` as a corun task that echoes lines back.
async fn echo_lines(listener: TcpListener) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        corun::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Some(line) = lines.next_line().await.expect("read a line") {
                write
                    .write_all(format!("{line}\n").as_bytes())
                    .await
                    .expect("write");
            }
        });
    }
}

#[test]
fn echo_serves_several_concurrent_clients() {
    let replies = tokio_config().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        corun::spawn(echo_lines(listener));
        let clients = (0..8).map(|client| async move {
            let stream = TcpStream::connect(address).await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut replies = Vec::new();
            for round in 0..20 {
                let line = format!("client {client} round {round}");
                write
                    .write_all(format!("{line}\n").as_bytes())
                    .await
                    .unwrap();
                let reply = lines.next_line().await.unwrap().unwrap();
                assert_eq!(reply, line);
                replies.push(reply);
            }
            replies.len()
        });
        corun::gather_all(clients).await
    });
    assert_eq!(replies, vec![20; 8]);
}

#[test]
fn tokio_and_corun_timers_run_together_in_deadline_order() {
    let order = tokio_config().run(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let (a, b) = (order.clone(), order.clone());
        let (c, d) = (order.clone(), order.clone());
        corun::gather!(
            async move {
                tokio::time::sleep(Duration::from_millis(40)).await;
                a.borrow_mut().push("tokio 40 ms");
            },
            async move {
                corun::sleep(Duration::from_millis(10)).await;
                b.borrow_mut().push("corun 10 ms");
            },
            async move {
                tokio::time::sleep(Duration::from_millis(25)).await;
                c.borrow_mut().push("tokio 25 ms");
            },
            async move {
                corun::sleep(Duration::from_millis(60)).await;
                d.borrow_mut().push("corun 60 ms");
            },
        )
        .await;
        let order = order.borrow().clone();
        order
    });
    assert_eq!(
        order,
        ["corun 10 ms", "tokio 25 ms", "tokio 40 ms", "corun 60 ms"]
    );
}

#[test]
fn corun_timeout_ends_a_tokio_accept_that_never_completes() {
    let outcome = tokio_config().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        corun::timeout(Duration::from_millis(30), listener.accept()).await
    });
    assert!(outcome.is_err(), "nobody connected, so the timeout fired");
}

#[test]
fn a_tokio_spawned_task_is_awaited_from_corun() {
    let (from_tokio, corun_task_ran) = tokio_config().run(async {
        let ran = Rc::new(RefCell::new(false));
        let flag = ran.clone();
        corun::spawn(async move { *flag.borrow_mut() = true });
        let handle = tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::task::yield_now().await;
            "from tokio"
        });
        let from_tokio = handle.await.unwrap();
        let ran = *ran.borrow();
        (from_tokio, ran)
    });
    assert_eq!(from_tokio, "from tokio");
    assert!(corun_task_ran, "corun tasks progressed alongside");
}

/// Counts its drops.
struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn main_returning_drops_corun_and_tokio_tasks_holding_connections_at_once() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let reports = Rc::new(RefCell::new(Vec::new()));
    let seen = reports.clone();
    let started = Instant::now();
    let guards = dropped.clone();
    tokio_config()
        // A grace the run must not wait for: none of these tasks listens on `cancelled()`.
        .shutdown_grace(Duration::from_secs(3600))
        .exception_handler(move |report| seen.borrow_mut().push(report.to_string()))
        .run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            for _ in 0..3 {
                let guard = DropGuard(guards.clone());
                corun::spawn(async move {
                    let _guard = guard;
                    let mut stream = TcpStream::connect(address).await.unwrap();
                    let mut byte = [0];
                    let _ = stream.read(&mut byte).await;
                });
                let guard = DropGuard(guards.clone());
                tokio::spawn(async move {
                    let _guard = guard;
                    let mut stream = TcpStream::connect(address).await.unwrap();
                    let mut byte = [0];
                    let _ = stream.read(&mut byte).await;
                });
            }
            let mut held = Vec::new();
            for _ in 0..6 {
                held.push(listener.accept().await.unwrap());
            }
            corun::sleep(Duration::from_millis(5)).await;
        });
    assert_eq!(dropped.load(Ordering::SeqCst), 6, "every guard ran");
    assert!(
        reports.borrow().is_empty(),
        "nothing went wrong: {reports:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(600),
        "the run did not wait out the grace"
    );
}

#[test]
fn what_tokio_tasks_spawn_while_dropped_is_cancelled_too() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let guards = dropped.clone();
    tokio_config().run(async move {
        /// Spawns a corun task and a tokio task when dropped, each holding a guard.
        struct SpawnOnDrop(Arc<AtomicUsize>);
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                let guard = DropGuard(self.0.clone());
                corun::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                });
                let guard = DropGuard(self.0.clone());
                tokio::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                });
            }
        }
        let spawner = SpawnOnDrop(guards);
        tokio::spawn(async move {
            let _spawner = spawner;
            std::future::pending::<()>().await;
        });
        tokio::task::yield_now().await;
    });
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        2,
        "both tasks spawned during the drop were dropped"
    );
}

#[test]
fn handle_block_on_inside_a_task_panics_with_tokios_message() {
    let outcome = tokio_config().run(async {
        corun::spawn(async {
            tokio::runtime::Handle::current().block_on(async { 1 });
        })
        .join()
        .await
    });
    let Err(corun::TaskError::Panicked(payload)) = outcome else {
        panic!("block_on inside a task must panic, got {outcome:?}");
    };
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    assert!(
        message.contains("Cannot start a runtime from within a runtime"),
        "{message}"
    );
}

#[test]
fn a_runner_keeps_one_tokio_runtime_across_runs() {
    let mut runner = Runner::new(tokio_config());
    let (listener, address) = runner
        .run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            (listener, address)
        })
        .unwrap();
    // A tokio task started in one run goes on in the next, on the same runtime.
    #[allow(clippy::async_yields_async)] // the handle is awaited in the next run
    let server = runner
        .run(async move {
            tokio::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0; 5];
                stream.read_exact(&mut buf).await.unwrap();
                buf
            })
        })
        .unwrap();
    let received = runner
        .run(async move {
            let mut client = TcpStream::connect(address).await.unwrap();
            client.write_all(b"hello").await.unwrap();
            server.await.unwrap()
        })
        .unwrap();
    assert_eq!(&received, b"hello");
    runner.close();
    assert!(runner.is_closed());
}

#[test]
fn a_multi_thread_runtime_is_taken_and_runs_tokio_spawn_on_its_workers() {
    let factory = || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        TokioLoop::with_runtime(runtime)
    };
    let (loop_thread, worker_thread) = Config::new()
        .loop_factory(factory)
        .handle_signals(false)
        .run(async {
            let worker = tokio::spawn(async { std::thread::current().id() });
            (std::thread::current().id(), worker.await.unwrap())
        });
    assert_eq!(loop_thread, std::thread::current().id());
    assert_ne!(worker_thread, loop_thread);
}

#[test]
#[should_panic(expected = "timers are disabled")]
fn a_multi_thread_runtime_without_time_is_refused_with_tokios_message() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_io()
        .build()
        .unwrap();
    let _loop = TokioLoop::with_runtime(runtime);
}

#[test]
#[should_panic(expected = "IO is disabled. Call `enable_io`")]
#[cfg(unix)]
fn a_multi_thread_runtime_without_io_is_refused_with_tokios_message() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let _loop = TokioLoop::with_runtime(runtime);
}

#[test]
#[should_panic(expected = "IO is disabled. Call `enable_io`")]
#[cfg(unix)]
fn a_current_thread_runtime_without_io_is_refused_with_tokios_message() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _loop = TokioLoop::with_runtime(runtime);
}

mod http {
    use std::net::SocketAddr;

    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::{connect::HttpConnector, Client};
    use hyper_util::rt::TokioExecutor;

    pub type HttpClient = Client<HttpConnector, Empty<Bytes>>;

    /// hyper-util's client: its connection tasks are tokio tasks.
    pub fn client() -> HttpClient {
        Client::builder(TokioExecutor::new()).build_http()
    }

    /// The body of `GET http://address/path`.
    pub async fn get(client: &HttpClient, address: SocketAddr, path: &str) -> String {
        let uri = format!("http://{address}{path}").parse().unwrap();
        let response = client.get(uri).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    /// An axum app with a route that waits on corun's timer.
    pub fn app() -> axum::Router {
        axum::Router::new()
            .route("/", axum::routing::get(|| async { "hello" }))
            .route(
                "/slow",
                axum::routing::get(|| async {
                    corun::sleep(std::time::Duration::from_millis(5)).await;
                    "slow"
                }),
            )
    }
}

#[test]
fn axum_serves_an_http_client_in_the_same_run() {
    let bodies = tokio_config().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        corun::spawn(async move { axum::serve(listener, http::app()).await });
        let client = http::client();
        corun::gather!(
            http::get(&client, address, "/"),
            http::get(&client, address, "/slow"),
            http::get(&client, address, "/"),
        )
        .await
    });
    assert_eq!(bodies, ("hello".into(), "slow".into(), "hello".into()));
}

#[test]
fn graceful_shutdown_through_cancelled_lets_the_server_task_finish_with_its_value() {
    let (body, served) = tokio_config().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // axum awaits the shutdown signal in a tokio task of its own; the future names the
        // server task, which made it.
        let server = corun::spawn(async move {
            axum::serve(listener, http::app())
                .with_graceful_shutdown(corun::cancelled())
                .await
                .unwrap();
            "served until cancelled"
        });
        let body = http::get(&http::client(), address, "/slow").await;
        assert!(server.cancel(), "the server was running");
        (body, server.await)
    });
    assert_eq!((body.as_str(), served), ("slow", "served until cancelled"));
}

#[test]
fn tokio_tasks_are_dropped_after_corun_tasks_and_reported_in_debug_mode() {
    use std::cell::Cell;
    use std::sync::atomic::AtomicBool;

    /// Sets its flag when dropped (a tokio task's future must be `Send`).
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    /// When dropped, records whether the tokio task had been dropped already.
    struct Witness(Arc<AtomicBool>, Rc<Cell<Option<bool>>>);
    impl Drop for Witness {
        fn drop(&mut self) {
            self.1.set(Some(self.0.load(Ordering::SeqCst)));
        }
    }

    let tokio_dropped = Arc::new(AtomicBool::new(false));
    let tokio_dropped_first = Rc::new(Cell::new(None));
    let reports = Rc::new(RefCell::new(Vec::new()));
    let seen = reports.clone();
    let (flag, witness) = (tokio_dropped.clone(), tokio_dropped_first.clone());
    tokio_config()
        .debug(true)
        .exception_handler(move |report| seen.borrow_mut().push(report.message().to_owned()))
        .run(async move {
            let guard = SetOnDrop(flag.clone());
            tokio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            let witness = Witness(flag, witness);
            corun::spawn(async move {
                let _witness = witness;
                std::future::pending::<()>().await;
            });
            tokio::task::yield_now().await;
        });
    assert_eq!(
        tokio_dropped_first.get(),
        Some(false),
        "the corun task was cancelled while the tokio task was still alive"
    );
    assert!(
        tokio_dropped.load(Ordering::SeqCst),
        "then the tokio task was dropped"
    );
    assert!(
        reports
            .borrow()
            .iter()
            .any(|message| message.contains("1 task(s) of the loop's own runtime were dropped")),
        "{reports:?}"
    );
}

#[test]
fn tokios_blocking_pool_holds_the_end_of_the_run_at_most_the_shutdown_timeout() {
    let started = Instant::now();
    let finished = Arc::new(AtomicUsize::new(0));
    let flag = finished.clone();
    tokio_config()
        .shutdown_timeout(Duration::from_millis(50))
        .run(async move {
            // As a DNS lookup stuck on tokio's blocking pool would be.
            drop(tokio::task::spawn_blocking(move || {
                std::thread::sleep(Duration::from_secs(10));
                flag.fetch_add(1, Ordering::SeqCst);
            }));
            tokio::task::yield_now().await;
        });
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the run returned without the blocking work"
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the run did not wait for the 10 s blocking work"
    );
}

#[test]
fn the_feature_never_changes_the_default_loop() {
    // Built with the `tokio` feature on: a run that does not ask for `TokioLoop` has no tokio
    // context, as without the feature.
    let has_tokio_context = corun::run(async { tokio::runtime::Handle::try_current().is_ok() });
    assert!(!has_tokio_context);
    let on_tokio_loop = tokio_config().run(async { tokio::runtime::Handle::try_current().is_ok() });
    assert!(on_tokio_loop);
}
