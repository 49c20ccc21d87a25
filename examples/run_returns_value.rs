//! `corun::run` hands back the value of the main future. Run: `cargo run --example run_returns_value`

use std::time::Duration;

fn main() {
    let answer = corun::run(async {
        corun::sleep(Duration::from_millis(10)).await;
        let half = corun::spawn(async { 21 });
        half.await * 2
    });
    println!("main returned {answer}");
    assert_eq!(answer, 42);
}
