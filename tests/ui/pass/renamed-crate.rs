// A renamed dependency: `crate = engine` makes every generated path start with `engine`.

extern crate corun as engine;

#[engine::entry(crate = engine, debug, loop_factory = engine::loops::VirtualTimeLoop::new)]
async fn main() {
    assert!(engine::is_debug());
    engine::sleep(std::time::Duration::from_secs(60)).await;
}
