//! A TCP echo server on `TokioLoop`; Ctrl-C stops accepting and lets open connections finish their current line (`cargo run --example echo_server --features tokio [-- PORT]`).
//!
//! Each connection is a corun task that echoes lines back. It listens on `corun::cancelled()`,
//! so when Ctrl-C cancels main (and with it the accept loop, which closes the listener), the
//! shutdown wakes each connection instead of dropping it: one between lines closes at once, one
//! in the middle of a line gets up to the run's `shutdown_grace` (5 s) to receive the rest of
//! it and echo it; then the process exits with 130. Try it with `nc 127.0.0.1 7878`.
//!
//! `tests/echo_signals.rs` runs this program as a child process and checks all of that.

use std::io::Write;
use std::net::SocketAddr;
use std::pin::pin;

use futures_lite::future;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Runs the server. `pub` so that `tests/echo_signals.rs` can include this file as a module and
/// run it as its child process.
#[corun::entry(loop_factory = corun::loops::TokioLoop::new)]
pub async fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<u16>().ok())
        .unwrap_or(7878);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    say(format_args!("listening on {}", listener.local_addr()?));
    loop {
        let (stream, peer) = listener.accept().await?;
        say(format_args!("{peer} connected"));
        corun::spawn(async move {
            match serve(stream).await {
                Ok(lines) => say(format_args!("{peer} closed after {lines} line(s)")),
                Err(error) => say(format_args!("{peer} failed: {error}")),
            }
        });
    }
}

/// Echoes lines until the peer closes, or the task is asked to stop between two lines.
async fn serve(stream: TcpStream) -> std::io::Result<usize> {
    let peer: SocketAddr = stream.peer_addr()?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    // Listening: a cancellation (Ctrl-C's shutdown) completes `stop` instead of dropping us.
    let mut stop = pin!(corun::cancelled());
    let mut lines = 0;
    loop {
        // Between lines: wait for the next one to start, or for the stop.
        let next = async { Some(read.fill_buf().await.map(|bytes| !bytes.is_empty())) };
        let stopped = async {
            stop.as_mut().await;
            None
        };
        // The stop is polled first: once asked, no new line starts.
        match future::or(stopped, next).await {
            None => {
                say(format_args!("{peer} asked to stop between lines"));
                return Ok(lines);
            }
            Some(Ok(false)) => return Ok(lines),
            Some(Ok(true)) => {}
            Some(Err(error)) => return Err(error),
        }
        // A line has started: finish it, even if the stop comes meanwhile.
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(lines);
        }
        write.write_all(line.as_bytes()).await?;
        lines += 1;
    }
}

/// Prints one line and flushes it (the test reads the output through a pipe).
fn say(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
