//! An axum HTTP server on `TokioLoop`, stopped gracefully by Ctrl-C through `corun::cancelled()`, exit status 130 (`cargo run --example http_server --features tokio [-- PORT] [--multi-thread]`).
//!
//! With `--multi-thread` the loop is `TokioLoop::multi_thread` (what `#[tokio::main]` gives):
//! main and the server task (axum's accept loop) stay on the loop's thread, axum's per-connection
//! tasks run on tokio's workers, one per core, and the handlers' `corun::sleep` runs on tokio's
//! timer there. Without it, everything runs on one thread (`TokioLoop::new`).
//!
//! The server runs as a corun task that hands `corun::cancelled()` to axum's graceful shutdown.
//! axum awaits it in a tokio task of its own; `cancelled()` names the task that made it (the
//! server task), so cancelling that task completes it there, and the task counts as listening
//! meanwhile: it is woken instead of dropped. Ctrl-C cancels main, which does not listen, so the
//! run ends as interrupted: its shutdown cancels the server task, axum stops accepting and
//! finishes the requests under way (within the run's `shutdown_grace`, 5 s), and the process
//! exits with 130, as a Python server's `asyncio.run` ends on `KeyboardInterrupt`. (Written in
//! main instead, `.with_graceful_shutdown(corun::cancelled())` makes main listen: it would
//! return after the drain and the process exit with 0.) Handlers can use corun's timers and
//! tasks as well as tokio's. Try `curl 127.0.0.1:3000/slow`.

use std::sync::OnceLock;
use std::thread::ThreadId;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use corun::loops::TokioLoop;

/// The thread that runs main (the loop's), for the handlers to say where they run.
static LOOP_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// The loop the command line asks for: `--multi-thread` for tokio's workers.
pub fn event_loop() -> TokioLoop {
    if multi_thread() {
        TokioLoop::multi_thread()
    } else {
        TokioLoop::new()
    }
}

fn multi_thread() -> bool {
    std::env::args().any(|arg| arg == "--multi-thread")
}

/// Runs the server. `pub` so that `tests/echo_signals.rs` can include this file as a module and
/// run it as its child process.
#[corun::entry(loop_factory = event_loop)]
pub async fn main() -> std::io::Result<()> {
    let _ = LOOP_THREAD.set(std::thread::current().id());
    let port = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<u16>().ok())
        .unwrap_or(3000);
    let app = Router::new()
        .route("/", get(|| async { "hello from axum on corun\n" }))
        .route(
            "/slow",
            get(|| async {
                let thread = if LOOP_THREAD.get() == Some(&std::thread::current().id()) {
                    "the loop's thread"
                } else {
                    "a tokio worker"
                };
                println!("/slow: answering in 200 ms, on {thread}");
                let _ = std::io::Write::flush(&mut std::io::stdout());
                // corun's timer, in a handler that axum runs as a tokio task.
                corun::sleep(Duration::from_millis(200)).await;
                "slow hello\n"
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    if multi_thread() {
        println!("connections on tokio's workers (TokioLoop::multi_thread)");
    } else {
        println!("everything on one thread (TokioLoop::new)");
    }
    // A task that listens on its own cancellation: the run's shutdown wakes it instead of
    // dropping it, and axum drains.
    let server = corun::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(corun::cancelled())
            .await?;
        println!("stopped gracefully");
        std::io::Write::flush(&mut std::io::stdout())
    });
    server.await
}
