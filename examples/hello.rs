//! Hello world with `#[corun::entry]`: a main task spawns a task and awaits it. Run with `cargo run --example hello`.

#[corun::entry]
async fn main() {
    let greeting = corun::spawn(async { "Hello" });
    println!(
        "{}, world! (from the task named {:?})",
        greeting.await,
        current_task_name()
    );
}

fn current_task_name() -> String {
    corun::current_task().map_or_else(|| "none".to_owned(), |task| task.name().to_owned())
}
