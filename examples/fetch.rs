//! Real HTTP requests in a `task_group` on `TokioLoop`: one failing request cancels the others and the error names it, then the same with each error handled (`cargo run --example fetch --features tokio`).
//!
//! A local axum server answers `/slow` after 300 ms; a port where nothing listens refuses at once.
//! A task group of three GETs to the server and one to the dead port fails as soon as the refusal
//! comes: the three requests under way are cancelled (their futures dropped, which prints), and
//! the group's error names the failing child, where it was spawned and the refusal. Then a group
//! of the same four whose children each handle their own error: all four complete. The client is
//! hyper-util's (its connection tasks are tokio tasks), all traffic on 127.0.0.1.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;
type Error = Box<dyn std::error::Error + Send + Sync>;

#[corun::entry(loop_factory = corun::loops::TokioLoop::new)]
async fn main() -> Result<(), Error> {
    let server = serve_locally().await?;
    let dead = dead_address()?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let client = &client;

    println!("-- task_group: the first error cancels the other requests");
    let start = Instant::now();
    let outcome = corun::task_group(async |g| {
        for (n, address) in [(1, server), (2, server), (3, server), (4, dead)] {
            g.try_spawn(fetch(client, n, address));
        }
        Ok::<_, Error>(())
    })
    .await;
    match outcome {
        Ok(()) => println!("all four succeeded (unexpected)"),
        Err(error) => println!("after {} ms, {error}", start.elapsed().as_millis()),
    }

    println!("-- task_group: each request handles its own error, all complete");
    let start = Instant::now();
    let results = RefCell::new(Vec::new());
    corun::task_group(async |g| {
        for (n, address) in [(1, server), (2, server), (3, server), (4, dead)] {
            let results = &results;
            g.spawn_named(format!("request {n}"), async move {
                let result = fetch(client, n, address).await;
                results.borrow_mut().push((n, result));
            });
        }
        Ok::<_, Error>(())
    })
    .await
    // A `GroupError` is `Send` but not `Sync` (a panic's payload need not be), as a `TaskError`.
    .map_err(|error| error.to_string())?;
    for (n, result) in results.into_inner() {
        match result {
            Ok(body) => println!("request {n}: {body:?}"),
            Err(error) => println!("request {n}: failed: {error}"),
        }
    }
    println!("all four done after {} ms", start.elapsed().as_millis());
    Ok(())
}

/// `GET http://address/slow`, announcing its cancellation if it is dropped before it finishes.
async fn fetch(client: &HttpClient, n: usize, address: SocketAddr) -> Result<String, Error> {
    let mut guard = Announce(Some(n));
    let result = get(client, n, address).await;
    guard.0 = None;
    result
}

async fn get(client: &HttpClient, n: usize, address: SocketAddr) -> Result<String, Error> {
    let uri = format!("http://{address}/slow").parse()?;
    let response = client.get(uri).await.map_err(|error| {
        // hyper-util's error says "client error (Connect)"; its sources say why.
        let mut message = format!("request {n} to {address}: {error}");
        let mut source = std::error::Error::source(&error);
        while let Some(why) = source {
            message.push_str(&format!(": {why}"));
            source = why.source();
        }
        message
    })?;
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Prints that request N was cancelled, when dropped before it finished.
struct Announce(Option<usize>);

impl Drop for Announce {
    fn drop(&mut self) {
        if let Some(n) = self.0 {
            if !std::thread::panicking() {
                println!("request {n} cancelled");
            }
        }
    }
}

/// Starts an axum server on a free port of 127.0.0.1, as a corun task; `/slow` answers after
/// 300 ms.
async fn serve_locally() -> std::io::Result<SocketAddr> {
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            corun::sleep(Duration::from_millis(300)).await;
            "hello"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    corun::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// An address of 127.0.0.1 where nothing listens: a port the system gave out and took back.
fn dead_address() -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr()
}
