//! `AsyncIoLoop`: async-io's reactor (async-net's TCP types, async-io's timers) inside corun runs.
//! All traffic on 127.0.0.1; every wait is bounded.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use corun::loops::AsyncIoLoop;
use corun::Config;
use futures_lite::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use futures_lite::StreamExt;

fn async_io_config() -> Config {
    Config::new()
        .loop_factory(AsyncIoLoop::new)
        .handle_signals(false)
}

#[test]
fn echo_serves_several_concurrent_clients() {
    let replies = async_io_config().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        corun::spawn(async move {
            let mut incoming = listener.incoming();
            while let Some(stream) = incoming.next().await {
                let stream = stream.unwrap();
                corun::spawn(async move {
                    let mut writer = stream.clone();
                    let mut lines = BufReader::new(stream).lines();
                    while let Some(line) = lines.next().await {
                        let line = line.unwrap();
                        writer
                            .write_all(format!("{line}\n").as_bytes())
                            .await
                            .unwrap();
                    }
                });
            }
        });
        let clients = (0..8).map(|client| async move {
            let stream = TcpStream::connect(address).await.unwrap();
            let mut writer = stream.clone();
            let mut lines = BufReader::new(stream).lines();
            let mut count = 0;
            for round in 0..20 {
                let line = format!("client {client} round {round}");
                writer
                    .write_all(format!("{line}\n").as_bytes())
                    .await
                    .unwrap();
                assert_eq!(lines.next().await.unwrap().unwrap(), line);
                count += 1;
            }
            count
        });
        corun::gather_all(clients).await
    });
    assert_eq!(replies, vec![20; 8]);
}

#[test]
fn async_io_and_corun_timers_run_together_in_deadline_order() {
    let order = async_io_config().run(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let (a, b, c) = (order.clone(), order.clone(), order.clone());
        corun::gather!(
            async move {
                async_io::Timer::after(Duration::from_millis(30)).await;
                a.borrow_mut().push("async-io 30 ms");
            },
            async move {
                corun::sleep(Duration::from_millis(10)).await;
                b.borrow_mut().push("corun 10 ms");
            },
            async move {
                corun::sleep(Duration::from_millis(50)).await;
                c.borrow_mut().push("corun 50 ms");
            },
        )
        .await;
        let order = order.borrow().clone();
        order
    });
    assert_eq!(order, ["corun 10 ms", "async-io 30 ms", "corun 50 ms"]);
}

#[test]
fn corun_timeout_ends_an_accept_that_never_completes() {
    let outcome = async_io_config().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        corun::timeout(Duration::from_millis(30), listener.accept()).await
    });
    assert!(outcome.is_err(), "nobody connected, so the timeout fired");
}

#[test]
fn to_thread_results_wake_the_loop_waiting_on_the_reactor() {
    let sum = async_io_config().run(async {
        let a = corun::to_thread(|| {
            std::thread::sleep(Duration::from_millis(10));
            20
        });
        let b = corun::to_thread(|| 22);
        let (a, b) = corun::gather!(a, b).await;
        a + b
    });
    assert_eq!(sum, 42);
}

#[test]
fn a_runner_keeps_one_async_io_loop_across_runs() {
    let mut runner = corun::Runner::new(async_io_config());
    let (listener, address) = runner
        .run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            (listener, address)
        })
        .unwrap();
    // A task started in one run goes on in the next, on the same reactor.
    #[allow(clippy::async_yields_async)] // the task is awaited in the next run
    let server = runner
        .run(async move {
            corun::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut line = String::new();
                BufReader::new(stream).read_line(&mut line).await.unwrap();
                line
            })
        })
        .unwrap();
    let received = runner
        .run(async move {
            let mut client = TcpStream::connect(address).await.unwrap();
            client.write_all(b"hello\n").await.unwrap();
            server.await
        })
        .unwrap();
    assert_eq!(received, "hello\n");
    runner.close();
}
