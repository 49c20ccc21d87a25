// `#[corun::main]` is `#[corun::entry]` under the name a tokio user types first: the same
// options, the same rewrite.

#[corun::main(debug, loop_factory = corun::loops::VirtualTimeLoop::new)]
async fn main() {
    assert!(corun::is_debug());
    assert_eq!(corun::current_task().expect("main is a task").name(), "main");
    corun::sleep(std::time::Duration::from_secs(3600)).await;
}
