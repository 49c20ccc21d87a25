//! An axum HTTP server on `TokioLoop`, stopped gracefully by Ctrl-C through `corun::cancelled()` (`cargo run --example http_server --features tokio [-- PORT]`).
//!
//! axum awaits the shutdown signal in a tokio task of its own; `corun::cancelled()` names main,
//! which made it, so Ctrl-C (which cancels main) completes it there. Main counts as listening
//! while axum awaits it, so it is woken instead of dropped: axum stops accepting, finishes the
//! requests under way, and main returns normally (exit status 0). Handlers can use corun's
//! timers and tasks as well as tokio's. Try `curl 127.0.0.1:3000/slow`.

use std::time::Duration;

use axum::routing::get;
use axum::Router;

/// Runs the server. `pub` so that `tests/echo_signals.rs` can include this file as a module and
/// run it as its child process.
#[corun::entry(loop_factory = corun::loops::TokioLoop::new)]
pub async fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<u16>().ok())
        .unwrap_or(3000);
    let app = Router::new()
        .route("/", get(|| async { "hello from axum on corun\n" }))
        .route(
            "/slow",
            get(|| async {
                println!("/slow: answering in 200 ms");
                let _ = std::io::Write::flush(&mut std::io::stdout());
                // corun's timer, in a handler that axum runs as a tokio task.
                corun::sleep(Duration::from_millis(200)).await;
                "slow hello\n"
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(corun::cancelled())
        .await?;
    println!("stopped gracefully");
    std::io::Write::flush(&mut std::io::stdout())?;
    Ok(())
}
