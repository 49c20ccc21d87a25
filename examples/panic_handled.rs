//! The same failing task as `panic_propagates`, but main handles the error with `join`, and the
//! other tasks finish normally. Run: `cargo run --example panic_handled`

use std::time::Duration;

use corun::TaskError;

fn main() {
    let summary = corun::run(async {
        let worker = corun::spawn_named("worker", async {
            corun::sleep(Duration::from_millis(30)).await;
            "worker done"
        });
        let failing = corun::spawn_named("failing", async {
            corun::sleep(Duration::from_millis(10)).await;
            panic!("the failing task gave up");
        });
        match failing.join().await {
            Ok(()) => println!("failing task succeeded?"),
            Err(TaskError::Panicked(payload)) => println!(
                "handled inside main: {}",
                payload.downcast_ref::<&str>().copied().unwrap_or("?")
            ),
            Err(TaskError::Cancelled) => println!("failing task was cancelled"),
        }
        worker.await
    });
    println!("run returned: {summary}");
}
