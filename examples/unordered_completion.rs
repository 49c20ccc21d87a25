//! Tasks finish in the order their work allows, not the order they were spawned.
//! Run: `cargo run --example unordered_completion`

use std::time::Duration;

fn main() {
    corun::run(async {
        let tasks: Vec<_> = [300u64, 100, 200]
            .into_iter()
            .map(|ms| {
                corun::spawn_named(format!("sleeper-{ms}ms"), async move {
                    corun::sleep(Duration::from_millis(ms)).await;
                    println!("{} finished", corun::current_task().unwrap().name());
                    ms
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await);
        }
        println!("awaited in spawn order: {results:?}");
    });
}
