//! HTTP servers on more than one core, side by side in one run: an axum server under
//! `#[tokio::main]` (a tokio multi-thread runtime, 2 workers) against the same server under corun's
//! `TokioLoop::multi_thread` (2 workers) and under corun's `Workers::new(2)` (two whole runs, each
//! on `TokioLoop::new` with its own socket on the port through `SO_REUSEPORT`, as
//! `examples/http_workers.rs`); and on one server thread: a tokio current-thread runtime against
//! `TokioLoop::new`. Under the table, how the kernel spread the connections and requests over
//! `Workers`' two sockets in each of its cells.
//!
//! - The server runs in this process, on threads of its own. The load generator is this binary
//!   re-run as a child process (a tokio current-thread runtime holding `CONNECTIONS` keep-alive
//!   HTTP/1.1 connections to 127.0.0.1, each sending a GET as soon as the previous reply came), so
//!   its CPU time is not the server's: the server's CPU is this process's (every thread, from
//!   `/proc/self/task/*/schedstat`) between the child's "start" and "done" lines, while the
//!   child counts the replies in between.
//! - Two handlers: `work` computes for about `WORK` (150 µs, calibrated at start) before replying,
//!   `hello` replies at once.
//! - Each cell: `WARM_UP` (300 ms) of load, then `MEASURE` (1 s) counted; 5 rounds, servers in
//!   turn (short windows in many rounds, so that a burst of other load on the machine lands in
//!   one sample of each cell rather than all of one), the table shows each cell's median: requests/s, server CPU-seconds per 1,000 requests, and
//!   the ratio of requests/s to the baseline of its group (tokio's, first in the group).
//!
//! Another configuration is one more entry in `configurations()`: a name, its number of server
//! threads (the first entry with that number is the group's baseline), and a function that starts
//! the server on a bound listener (`try_clone` it for servers that accept on several threads) and
//! returns its stop handle.
//!
//! # Running
//!
//! ```text
//! cargo bench --bench cores --features tokio                  # about 75 s
//! BENCH_QUICK=1 cargo bench --bench cores --features tokio    # one round, shorter windows
//! ```

#[path = "common/cpu_time.rs"]
mod cpu_time;

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use futures::channel::oneshot;

/// Keep-alive connections of the load generator.
const CONNECTIONS: usize = 64;
/// CPU work of the `work` handler.
const WORK: Duration = Duration::from_micros(150);
/// Load before counting starts, and the window counted.
const WARM_UP: Duration = Duration::from_millis(300);
const MEASURE: Duration = Duration::from_secs(1);
/// Requests at most per window, whatever the speed.
const MAX_REQUESTS: u64 = 10_000_000;
/// The environment variable that makes this binary the load generator: `address path seconds`.
const LOAD: &str = "CORUN_BENCH_CORES_LOAD";

/// A server started on a listener: stopped by sending on `stop`, done when `thread` ends.
struct Running {
    stop: oneshot::Sender<()>,
    thread: thread::JoinHandle<()>,
}

/// One row of the table.
struct Configuration {
    name: &'static str,
    /// Server threads that run handlers.
    threads: usize,
    start: fn(TcpListener, Handler) -> Running,
}

/// What the handler does, and how much.
#[derive(Clone, Copy)]
struct Handler {
    path: &'static str,
    /// Rounds of `busy` per request (0: hello world).
    rounds: u64,
}

fn configurations() -> Vec<Configuration> {
    vec![
        Configuration {
            name: "#[tokio::main], 2 workers",
            threads: 2,
            start: servers::tokio_multi_thread,
        },
        Configuration {
            name: "corun TokioLoop::multi_thread, 2 workers",
            threads: 2,
            start: servers::corun_multi_thread,
        },
        Configuration {
            name: "corun Workers::new(2), TokioLoop::new each, SO_REUSEPORT",
            threads: 2,
            start: servers::corun_workers,
        },
        Configuration {
            name: "tokio current_thread",
            threads: 1,
            start: servers::tokio_current_thread,
        },
        Configuration {
            name: "corun TokioLoop::new",
            threads: 1,
            start: servers::corun_new,
        },
    ]
}

fn main() {
    if let Ok(arguments) = std::env::var(LOAD) {
        return load::generate(&arguments);
    }
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let rounds = if quick { 1 } else { 5 };
    let measure = if quick { MEASURE / 2 } else { MEASURE };
    let work_rounds = calibrate(WORK);
    let handlers = [
        Handler {
            path: "/work",
            rounds: work_rounds,
        },
        Handler {
            path: "/hello",
            rounds: 0,
        },
    ];

    let cpus = thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {cpus} CPUs, load average at start: {}",
        load.trim()
    );
    println!(
        "load: {CONNECTIONS} keep-alive connections from a child process; {rounds} round(s) of \
         {measure:?} per cell; CPU clock: {}",
        cpu_time::source()
    );
    println!();
    println!(
        "| handler | server | threads | requests/s | vs tokio | server CPU-s per 1,000 requests |"
    );
    println!("|---|---|---|---|---|---|");
    let configurations = configurations();
    let mut spreads = Vec::new();
    for handler in handlers {
        let mut cells: Vec<Vec<Cell>> = configurations.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (configuration, samples) in configurations.iter().zip(&mut cells) {
                eprintln!("running {} {} ...", handler.path, configuration.name);
                samples.push(measure_cell(configuration, handler, measure));
                // Only `Workers` counts; each of its cells gives one line under the table.
                let counts = servers::take_worker_counts();
                if counts.iter().any(|&(connections, _)| connections > 0) {
                    spreads.push(format!(
                        "{} {}: worker 0 {} connections, {} requests; worker 1 {} connections, \
                         {} requests",
                        handler.path,
                        configuration.name,
                        counts[0].0,
                        counts[0].1,
                        counts[1].0,
                        counts[1].1
                    ));
                }
            }
        }
        let mut baseline = None;
        for (configuration, samples) in configurations.iter().zip(&cells) {
            let rate = median(samples.iter().map(|cell| cell.rate).collect());
            let cpu = median(samples.iter().map(|cell| cell.cpu_per_thousand).collect());
            // The first configuration with this many threads is the group's baseline.
            let base = match baseline {
                Some((threads, base)) if threads == configuration.threads => base,
                _ => {
                    baseline = Some((configuration.threads, rate));
                    rate
                }
            };
            println!(
                "| {} {} | {} | {} | {:.0} | {:.2} | {:.4} |",
                handler.path,
                if handler.rounds == 0 {
                    "(hello world)".to_owned()
                } else {
                    format!("({WORK:?} CPU)")
                },
                configuration.name,
                configuration.threads,
                rate,
                rate / base,
                cpu
            );
        }
    }
    println!();
    println!("medians; vs tokio: requests/s over the tokio server's with as many threads");
    println!();
    println!("how the kernel spread the load over the SO_REUSEPORT sockets, per cell (warm-up included):");
    for spread in spreads {
        println!("- {spread}");
    }
}

/// One measurement: requests per second, server CPU-seconds per 1,000 requests.
struct Cell {
    rate: f64,
    cpu_per_thousand: f64,
}

fn measure_cell(configuration: &Configuration, handler: Handler, measure: Duration) -> Cell {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    let server = (configuration.start)(listener, handler);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(
            LOAD,
            format!("{address} {} {}", handler.path, measure.as_secs_f64()),
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut expect = |word: &str| {
        let line = lines.next().unwrap().unwrap();
        assert!(line.starts_with(word), "load generator said {line:?}");
        line
    };
    expect("start");
    let cpu_start = cpu_time::now().unwrap_or_default();
    let done = expect("done");
    let cpu = cpu_time::now().unwrap_or_default() - cpu_start;
    let mut fields = done.split_whitespace().skip(1);
    let requests: u64 = fields.next().unwrap().parse().unwrap();
    let seconds: f64 = fields.next().unwrap().parse().unwrap();
    assert!(child.wait().unwrap().success());

    let _ = server.stop.send(());
    server.thread.join().unwrap();
    Cell {
        rate: requests as f64 / seconds,
        cpu_per_thousand: cpu.as_secs_f64() / requests as f64 * 1000.0,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// CPU work that the optimizer keeps: `rounds` steps of xorshift.
fn busy(rounds: u64) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15u64);
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

/// Rounds of `busy` that take about `target` on this machine (the fastest of a few tries).
fn calibrate(target: Duration) -> u64 {
    let probe = 1_000_000;
    let fastest = (0..5)
        .map(|_| {
            let start = Instant::now();
            busy(probe);
            start.elapsed()
        })
        .min()
        .unwrap();
    (probe as f64 * target.as_secs_f64() / fastest.as_secs_f64()) as u64
}

/// The servers: the same axum app on each runtime.
mod servers {
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc;
    use std::thread;

    use axum::serve::ListenerExt;
    use futures::channel::oneshot;
    use futures::FutureExt;

    use super::{busy, Handler, Running};

    /// Connections accepted and requests answered by each of `Workers`' two workers, since the
    /// last `take_worker_counts` (the other servers count nothing).
    static WORKER_CONNECTIONS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
    static WORKER_REQUESTS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

    /// `(connections, requests)` of each worker since the last call; resets them.
    pub fn take_worker_counts() -> [(u64, u64); 2] {
        [0, 1].map(|worker| {
            (
                WORKER_CONNECTIONS[worker].swap(0, Ordering::Relaxed),
                WORKER_REQUESTS[worker].swap(0, Ordering::Relaxed),
            )
        })
    }

    /// The app; `requests` counts the requests it answers, if given.
    fn app(handler: Handler, requests: Option<&'static AtomicU64>) -> axum::Router {
        let rounds = handler.rounds;
        axum::Router::new().route(
            handler.path,
            axum::routing::get(move || async move {
                if let Some(requests) = requests {
                    requests.fetch_add(1, Ordering::Relaxed);
                }
                if rounds > 0 {
                    busy(rounds);
                }
                "Hello, World!"
            }),
        )
    }

    /// Serves until `stop` (on the runtime whose context this is polled in).
    async fn serve(listener: TcpListener, handler: Handler, stop: oneshot::Receiver<()>) {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, app(handler, None))
            .with_graceful_shutdown(async {
                let _ = stop.await;
            })
            .await
            .unwrap();
    }

    fn started(run: impl FnOnce(oneshot::Receiver<()>) + Send + 'static) -> Running {
        let (stop, stopped) = oneshot::channel();
        let thread = thread::spawn(move || run(stopped));
        Running { stop, thread }
    }

    fn multi_thread_runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn corun(
        factory: fn() -> corun::loops::TokioLoop,
        listener: TcpListener,
        handler: Handler,
    ) -> Running {
        started(move |stop| {
            corun::Config::new()
                .loop_factory(factory)
                .handle_signals(false)
                .run(serve(listener, handler, stop));
        })
    }

    /// What `#[tokio::main(worker_threads = 2)]` gives: main in `block_on`, connections on the
    /// workers.
    pub fn tokio_multi_thread(listener: TcpListener, handler: Handler) -> Running {
        started(move |stop| multi_thread_runtime().block_on(serve(listener, handler, stop)))
    }

    pub fn corun_multi_thread(listener: TcpListener, handler: Handler) -> Running {
        corun(
            || corun::loops::TokioLoop::with_runtime(multi_thread_runtime()),
            listener,
            handler,
        )
    }

    pub fn tokio_current_thread(listener: TcpListener, handler: Handler) -> Running {
        started(move |stop| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(serve(listener, handler, stop))
        })
    }

    pub fn corun_new(listener: TcpListener, handler: Handler) -> Running {
        corun(corun::loops::TokioLoop::new, listener, handler)
    }

    /// `uvicorn --workers 2`, as `examples/http_workers.rs` does it: two whole runs on threads of
    /// their own, each on `TokioLoop::new` with its own listening socket bound to the listener's
    /// address with `SO_REUSEPORT`, so that the kernel spreads the connections over them.
    pub fn corun_workers(listener: TcpListener, handler: Handler) -> Running {
        // The given socket has no SO_REUSEPORT: free its port for the workers' sockets.
        let address = listener.local_addr().unwrap();
        drop(listener);
        let (bound, all_bound) = mpsc::channel();
        let running = started(move |stop| {
            // One stop for both workers.
            let stop = stop.shared();
            corun::Workers::new(2)
                .config(|| {
                    corun::Config::new()
                        .loop_factory(corun::loops::TokioLoop::new)
                        .handle_signals(false)
                })
                .run(move |worker| {
                    let (stop, bound) = (stop.clone(), bound.clone());
                    async move {
                        let index = worker.index();
                        let socket = tokio::net::TcpSocket::new_v4().unwrap();
                        socket.set_reuseport(true).unwrap();
                        socket.bind(address).unwrap();
                        let listener = socket.listen(1024).unwrap().tap_io(move |_| {
                            WORKER_CONNECTIONS[index].fetch_add(1, Ordering::Relaxed);
                        });
                        bound.send(()).unwrap();
                        axum::serve(listener, app(handler, Some(&WORKER_REQUESTS[index])))
                            .with_graceful_shutdown(async {
                                let _ = stop.await;
                            })
                            .await
                            .unwrap();
                    }
                });
        });
        // The load starts once both workers listen.
        for _ in 0..2 {
            all_bound.recv().unwrap();
        }
        running
    }
}

/// The load generator (the child process): keep-alive GETs on `CONNECTIONS` connections.
mod load {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::{CONNECTIONS, MAX_REQUESTS, WARM_UP};

    /// `arguments`: the server's address, the path, the seconds to count.
    pub fn generate(arguments: &str) {
        let mut fields = arguments.split_whitespace();
        let address: SocketAddr = fields.next().unwrap().parse().unwrap();
        let path = fields.next().unwrap().to_owned();
        let seconds: f64 = fields.next().unwrap().parse().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let replies = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let request: Arc<[u8]> = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n")
                .into_bytes()
                .into();
            for _ in 0..CONNECTIONS {
                let stream = TcpStream::connect(address).await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(connection(
                    stream,
                    request.clone(),
                    replies.clone(),
                    stop.clone(),
                ));
            }
            tokio::time::sleep(WARM_UP).await;
            let (first, start) = (replies.load(Ordering::Relaxed), Instant::now());
            println!("start");
            tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
            let (last, elapsed) = (replies.load(Ordering::Relaxed), start.elapsed());
            println!("done {} {}", last - first, elapsed.as_secs_f64());
            stop.store(true, Ordering::Relaxed);
        });
        // The connections are dropped with the runtime; the server sees them close.
    }

    async fn connection(
        mut stream: TcpStream,
        request: Arc<[u8]>,
        replies: Arc<AtomicU64>,
        stop: Arc<AtomicBool>,
    ) {
        let mut buffer = Vec::with_capacity(4096);
        while !stop.load(Ordering::Relaxed) && replies.load(Ordering::Relaxed) < MAX_REQUESTS {
            if stream.write_all(&request).await.is_err()
                || !response(&mut stream, &mut buffer).await
            {
                return;
            }
            replies.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reads one response (headers and a `Content-Length` body) off the front of `buffer`,
    /// reading more as needed. `false` when the connection ended first.
    async fn response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> bool {
        loop {
            if let Some(length) = complete(buffer) {
                buffer.drain(..length);
                return true;
            }
            let mut chunk = [0; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            }
        }
    }

    /// The length of the first whole response in `buffer`, if it is all there.
    fn complete(buffer: &[u8]) -> Option<usize> {
        let head = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let headers = std::str::from_utf8(&buffer[..head]).ok()?;
        let body = headers
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        (buffer.len() >= head + body).then_some(head + body)
    }
}
