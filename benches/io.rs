//! Real IO side by side, in one process run: corun on its IO loops against the runtimes those
//! loops are built on.
//!
//! | workload      | corun                     | peer                                                  |
//! |---------------|---------------------------|-------------------------------------------------------|
//! | echo (tokio)  | `TokioLoop`, tokio::net   | tokio current-thread runtime + `LocalSet`             |
//! | echo (tokio, multi-thread) | `TokioLoop::multi_thread` | tokio multi-thread runtime, both ends in `block_on` |
//! | echo (async-io) | `AsyncIoLoop`, async-io | async-executor's `LocalExecutor` in `async_io::block_on` |
//! | http (hyper)  | `TokioLoop`               | tokio current-thread runtime + `LocalSet`             |
//!
//! - echo: one loopback connection, server and client tasks on the same thread; the client
//!   writes 64 bytes and reads them back, `ROUND_TRIPS` times (50,000).
//! - echo (tokio, multi-thread): the same with the IO driver turned on tokio's workers, which wake
//!   the tasks on the loop's thread (corun) or in `block_on` (tokio's `#[tokio::main]` main): what
//!   a corun task's IO wake costs on `TokioLoop::multi_thread`, against the echo (tokio) row.
//!   `ROUND_TRIPS / 5` round trips.
//! - http: a hyper HTTP/1 hello-world server and a hyper client on one keep-alive loopback
//!   connection, both on the same thread; `REQUESTS` (20,000) sequential GETs.
//!
//! Each sample runs one workload on one side and times only the exchange (the connection is set
//! up first): wall time and process CPU time (every thread: async-io's helper thread counts),
//! divided by the number of round trips. Samples of the two sides alternate; the table shows the
//! median of each, and corun/peer ratios (lower is better).
//!
//! # Running
//!
//! ```text
//! cargo bench --bench io --all-features                 # 7 samples per cell
//! BENCH_QUICK=1 cargo bench --bench io --all-features   # sizes / 10, 3 samples
//! ```
//!
//! `BENCH_ONLY=echo-tokio:corun` (workload `echo-tokio`, `echo-async-io` or `http`; side `corun`
//! or `peer`) runs that one cell once and prints its round trips, for `strace -c -f` to count
//! syscalls per round trip (BENCHMARKS.md has the command).

#[path = "common/cpu_time.rs"]
mod cpu_time;

use std::time::{Duration, Instant};

/// Round trips of the echo workloads.
const ROUND_TRIPS: usize = 50_000;
/// Requests of the HTTP workload.
const REQUESTS: usize = 20_000;
/// Bytes per echo message.
const MESSAGE: usize = 64;

/// What one sample measured, for the whole exchange.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Option<Duration>,
}

/// Times `exchange` (called once the connection is up) in wall and CPU time.
struct Clock {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Clock {
    fn start() -> Self {
        Clock {
            cpu: cpu_time::now(),
            wall: Instant::now(),
        }
    }

    fn stop(self) -> Sample {
        let wall = self.wall.elapsed();
        let cpu = cpu_time::now()
            .zip(self.cpu)
            .map(|(end, start)| end - start);
        Sample { wall, cpu }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Corun,
    Peer,
}

struct Workload {
    name: &'static str,
    peer: &'static str,
    /// Round trips per sample.
    size: usize,
    run: fn(Side, usize) -> Sample,
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let samples = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 3 } else { 7 });
    let scale = if quick { 10 } else { 1 };
    let workloads = [
        Workload {
            name: "echo-tokio",
            peer: "tokio LocalSet",
            size: ROUND_TRIPS / scale,
            run: echo_tokio::run,
        },
        Workload {
            name: "echo-tokio-mt",
            peer: "tokio multi-thread block_on",
            size: ROUND_TRIPS / 5 / scale,
            run: echo_tokio::run_multi_thread,
        },
        Workload {
            name: "echo-async-io",
            peer: "async-executor",
            size: ROUND_TRIPS / scale,
            run: echo_async_io::run,
        },
        Workload {
            name: "http",
            peer: "tokio LocalSet",
            size: REQUESTS / scale,
            run: http::run,
        },
    ];

    if let Ok(only) = std::env::var("BENCH_ONLY") {
        let (name, side) = only.split_once(':').unwrap_or((&only, "corun"));
        let side = if side == "peer" {
            Side::Peer
        } else {
            Side::Corun
        };
        let workload = workloads
            .iter()
            .find(|w| w.name == name)
            .unwrap_or_else(|| panic!("BENCH_ONLY: no workload {name:?}"));
        let sample = (workload.run)(side, workload.size);
        println!(
            "{name}:{} {} round trips in {:?}",
            if side == Side::Peer { "peer" } else { "corun" },
            workload.size,
            sample.wall
        );
        return;
    }

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {cpus} CPUs, load average at start: {}",
        load.trim()
    );
    println!(
        "samples per cell: {samples}, CPU clock: {}",
        cpu_time::source()
    );
    println!();
    println!(
        "| workload | peer | round trips | corun wall/rt | peer wall/rt | wall corun/peer | \
         corun CPU/rt | peer CPU/rt | CPU corun/peer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for workload in &workloads {
        eprintln!("running {} ...", workload.name);
        let mut corun = Vec::new();
        let mut peer = Vec::new();
        for _ in 0..samples {
            corun.push((workload.run)(Side::Corun, workload.size));
            peer.push((workload.run)(Side::Peer, workload.size));
        }
        let per = |d: Duration| d.as_nanos() as f64 / workload.size as f64;
        let wall = |samples: &[Sample]| median(samples.iter().map(|s| per(s.wall)).collect());
        let cpu = |samples: &[Sample]| {
            let cpu: Option<Vec<f64>> = samples.iter().map(|s| s.cpu.map(per)).collect();
            cpu.map(median)
        };
        let (corun_wall, peer_wall) = (wall(&corun), wall(&peer));
        let (corun_cpu, peer_cpu) = (cpu(&corun), cpu(&peer));
        let ns = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{:.0} ns", v));
        let ratio = match (corun_cpu, peer_cpu) {
            (Some(c), Some(p)) if p > 0.0 => format!("{:.2}", c / p),
            _ => "n/a".to_owned(),
        };
        println!(
            "| {} | {} | {} | {:.0} ns | {:.0} ns | {:.2} | {} | {} | {} |",
            workload.name,
            workload.peer,
            workload.size,
            corun_wall,
            peer_wall,
            corun_wall / peer_wall,
            ns(corun_cpu),
            ns(peer_cpu),
            ratio
        );
    }
    println!();
    println!("medians per round trip; corun/peer: lower is better");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// corun's run settings for every corun sample: the IO loop, and no signal handling (a bench
/// is no place for it).
fn corun_config<L: corun::EventLoop + 'static>(factory: fn() -> L) -> corun::Config {
    corun::Config::new()
        .loop_factory(factory)
        .handle_signals(false)
}

/// Runs `future` where the tokio workloads' peer runs: a current-thread tokio runtime with a
/// `LocalSet`, so that the peer spawns `!Send` tasks as corun does.
fn on_tokio_local<F: std::future::Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&runtime, future)
}

/// Echo over tokio's TCP types.
mod echo_tokio {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::{corun_config, on_tokio_local, Clock, Sample, Side, MESSAGE};

    pub fn run(side: Side, round_trips: usize) -> Sample {
        match side {
            Side::Corun => corun_config(corun::loops::TokioLoop::new).run(async move {
                let (server, client) = connected().await;
                corun::spawn(serve(server));
                exchange(client, round_trips).await
            }),
            Side::Peer => on_tokio_local(async move {
                let (server, client) = connected().await;
                tokio::task::spawn_local(serve(server));
                exchange(client, round_trips).await
            }),
        }
    }

    /// Both ends on the loop's thread (corun) or in `block_on` (tokio), the IO driver on the
    /// workers.
    pub fn run_multi_thread(side: Side, round_trips: usize) -> Sample {
        match side {
            Side::Corun => corun_config(corun::loops::TokioLoop::multi_thread).run(async move {
                let (server, client) = connected().await;
                corun::spawn(serve(server));
                exchange(client, round_trips).await
            }),
            Side::Peer => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let (server, client) = connected().await;
                    let served = serve(server);
                    let exchanged = exchange(client, round_trips);
                    futures_lite::future::or(exchanged, async {
                        served.await;
                        unreachable!("the server ends only when the client does")
                    })
                    .await
                }),
        }
    }

    /// A loopback connection, Nagle off on both ends: (server's end, client's end).
    pub async fn connected() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = futures_lite::future::zip(client, listener.accept()).await;
        let (client, (server, _)) = (client.unwrap(), accepted.unwrap());
        client.set_nodelay(true).unwrap();
        server.set_nodelay(true).unwrap();
        (server, client)
    }

    async fn serve(mut stream: TcpStream) {
        let mut buf = [0; MESSAGE];
        while stream.read_exact(&mut buf).await.is_ok() {
            if stream.write_all(&buf).await.is_err() {
                return;
            }
        }
    }

    async fn exchange(mut stream: TcpStream, round_trips: usize) -> Sample {
        let message = [7; MESSAGE];
        let mut buf = [0; MESSAGE];
        let clock = Clock::start();
        for _ in 0..round_trips {
            stream.write_all(&message).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
        }
        clock.stop()
    }
}

/// Echo over async-io's `Async<TcpStream>` (what async-net wraps).
mod echo_async_io {
    use std::net::{TcpListener, TcpStream};

    use async_io::Async;
    use futures_lite::io::{AsyncReadExt, AsyncWriteExt};

    use super::{corun_config, Clock, Sample, Side, MESSAGE};

    pub fn run(side: Side, round_trips: usize) -> Sample {
        match side {
            Side::Corun => corun_config(corun::loops::AsyncIoLoop::new).run(async move {
                let (server, client) = connected().await;
                corun::spawn(serve(server));
                exchange(client, round_trips).await
            }),
            Side::Peer => {
                let executor = async_executor::LocalExecutor::new();
                async_io::block_on(executor.run(async {
                    let (server, client) = connected().await;
                    executor.spawn(serve(server)).detach();
                    exchange(client, round_trips).await
                }))
            }
        }
    }

    async fn connected() -> (Async<TcpStream>, Async<TcpStream>) {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let address = listener.get_ref().local_addr().unwrap();
        let client = Async::<TcpStream>::connect(address);
        let (client, accepted) = futures_lite::future::zip(client, listener.accept()).await;
        let (client, (server, _)) = (client.unwrap(), accepted.unwrap());
        client.get_ref().set_nodelay(true).unwrap();
        server.get_ref().set_nodelay(true).unwrap();
        (server, client)
    }

    async fn serve(mut stream: Async<TcpStream>) {
        let mut buf = [0; MESSAGE];
        while stream.read_exact(&mut buf).await.is_ok() {
            if stream.write_all(&buf).await.is_err() {
                return;
            }
        }
    }

    async fn exchange(mut stream: Async<TcpStream>, round_trips: usize) -> Sample {
        let message = [7; MESSAGE];
        let mut buf = [0; MESSAGE];
        let clock = Clock::start();
        for _ in 0..round_trips {
            stream.write_all(&message).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
        }
        clock.stop()
    }
}

/// A hyper hello-world server and a hyper client on one keep-alive connection.
mod http {
    use std::convert::Infallible;

    use http_body_util::{BodyExt, Empty, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpStream;

    use super::{corun_config, on_tokio_local, Clock, Sample, Side};

    pub fn run(side: Side, requests: usize) -> Sample {
        match side {
            Side::Corun => corun_config(corun::loops::TokioLoop::new).run(async move {
                let (server, client) = connected().await;
                corun::spawn(serve(server));
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(client).await.unwrap();
                corun::spawn(connection);
                exchange(sender, requests).await
            }),
            Side::Peer => on_tokio_local(async move {
                let (server, client) = connected().await;
                tokio::task::spawn_local(serve(server));
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(client).await.unwrap();
                tokio::task::spawn_local(connection);
                exchange(sender, requests).await
            }),
        }
    }

    /// The echo's loopback connection, for hyper.
    async fn connected() -> (TokioIo<TcpStream>, TokioIo<TcpStream>) {
        let (server, client) = super::echo_tokio::connected().await;
        (TokioIo::new(server), TokioIo::new(client))
    }

    async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        Ok(Response::new(Full::new(Bytes::from_static(
            b"Hello, World!",
        ))))
    }

    async fn serve(stream: TokioIo<TcpStream>) {
        let service = hyper::service::service_fn(hello);
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(stream, service)
            .await;
    }

    async fn exchange(
        mut sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
        requests: usize,
    ) -> Sample {
        let clock = Clock::start();
        for _ in 0..requests {
            sender.ready().await.unwrap();
            let request = Request::get("/")
                .header("host", "127.0.0.1")
                .body(Empty::new())
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"Hello, World!");
        }
        clock.stop()
    }
}
