//! An axum server on N workers, each a whole run on its own thread and `TokioLoop`, all sharing one port through `SO_REUSEPORT`; Ctrl-C lets every worker finish its requests, then exits 130 (`cargo run --example http_workers --features tokio [-- PORT [WORKERS]]`).
//!
//! `uvicorn --workers N` in Rust: `#[corun::entry(workers = N)]` runs `main` once per worker
//! (WORKERS, default 0: one per core), and each worker binds its own listening socket to the same
//! address with `SO_REUSEPORT` (tokio's `TcpSocket::set_reuseport`), so the kernel spreads the
//! connections over the workers. Nothing is shared between them; every response says which
//! worker served it. PORT 0 picks one free port for all workers.
//!
//! The server runs as a task that listens on its own cancellation (`corun::cancelled()`, handed
//! to axum's graceful shutdown). Ctrl-C cancels every worker's main, which does not listen, so
//! each worker's run ends as interrupted: its shutdown cancels the server task, axum stops
//! accepting and finishes the requests under way (within the run's `shutdown_grace`, 5 s), and
//! once every worker is done the process exits with 130. Try `curl 127.0.0.1:3000/slow`.
//!
//! `tests/echo_signals.rs` runs this program with two workers as a child process and checks
//! that both drain their requests.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpSocket;

/// How long `/slow` takes to answer.
const SLOW: Duration = Duration::from_millis(1500);

/// Runs one worker's server. `pub` so that `tests/echo_signals.rs` can include this file as a
/// module and run it as its child process.
#[corun::entry(workers = workers_from_args(), loop_factory = corun::loops::TokioLoop::new)]
pub async fn main() -> std::io::Result<()> {
    let worker = corun::worker().expect("main runs in a worker").index();
    let socket = TcpSocket::new_v4()?;
    // Every worker binds the same address: the kernel spreads connections over them.
    socket.set_reuseport(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port()?)))?;
    let listener = socket.listen(1024)?;
    println!("worker {worker} listening on {}", listener.local_addr()?);
    let app = Router::new()
        .route(
            "/",
            get(move || async move {
                println!("worker {worker}: / answered");
                format!("hello from worker {worker}\n")
            }),
        )
        .route(
            "/slow",
            get(move || async move {
                println!("worker {worker}: /slow under way");
                // corun's timer, in a handler that axum runs as a tokio task of this worker.
                corun::sleep(SLOW).await;
                println!("worker {worker}: /slow answered");
                format!("slow hello from worker {worker}\n")
            }),
        );
    // A task that listens on its own cancellation: the worker's shutdown wakes it instead of
    // dropping it, and axum drains.
    let server = corun::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(corun::cancelled())
            .await?;
        println!("worker {worker}: stopped gracefully");
        Ok(())
    });
    server.await
}

/// The second argument: how many workers (0, the default: one per core).
fn workers_from_args() -> usize {
    std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .nth(1)
        .unwrap_or(0)
}

/// The first argument: the port every worker binds (default 3000). For 0, one free port is
/// picked, once, for all workers.
fn port() -> std::io::Result<u16> {
    static PICKED: OnceLock<u16> = OnceLock::new();
    let asked = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<u16>().ok())
        .unwrap_or(3000);
    if asked != 0 {
        return Ok(asked);
    }
    if let Some(port) = PICKED.get() {
        return Ok(*port);
    }
    // A port the system says is free now; the workers bind it right after.
    let free = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port();
    Ok(*PICKED.get_or_init(|| free))
}
