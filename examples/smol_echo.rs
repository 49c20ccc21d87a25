//! The echo server with async-net on `AsyncIoLoop`; Ctrl-C stops accepting and lets open connections finish their current line (`cargo run --example smol_echo --features async-io [-- PORT]`).
//!
//! The same program as `echo_server`, on the smol family's types: async-io's reactor is turned
//! on the loop's thread by `AsyncIoLoop`. Try it with `nc 127.0.0.1 7879`.

use std::pin::pin;

use async_net::{TcpListener, TcpStream};
use futures_lite::future;
use futures_lite::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[corun::entry(loop_factory = corun::loops::AsyncIoLoop::new)]
async fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse::<u16>().ok())
        .unwrap_or(7879);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        println!("{peer} connected");
        corun::spawn(async move {
            match serve(stream).await {
                Ok(lines) => println!("{peer} closed after {lines} line(s)"),
                Err(error) => println!("{peer} failed: {error}"),
            }
        });
    }
}

/// Echoes lines until the peer closes, or the task is asked to stop between two lines.
async fn serve(stream: TcpStream) -> std::io::Result<usize> {
    let mut write = stream.clone();
    let mut read = BufReader::new(stream);
    // Listening: a cancellation (Ctrl-C's shutdown) completes `stop` instead of dropping us.
    let mut stop = pin!(corun::cancelled());
    let mut lines = 0;
    loop {
        let next = async { Some(read.fill_buf().await.map(|bytes| !bytes.is_empty())) };
        let stopped = async {
            stop.as_mut().await;
            None
        };
        // The stop is polled first: once asked, no new line starts.
        match future::or(stopped, next).await {
            None | Some(Ok(false)) => return Ok(lines),
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
