// Every option, alone and combined, in any order, with and without a trailing comma.

#[corun::entry]
async fn plain() -> bool {
    corun::is_debug()
}

#[corun::entry(debug)]
async fn debug_alone() -> bool {
    corun::is_debug()
}

#[corun::entry(debug = true)]
async fn debug_true() -> bool {
    corun::is_debug()
}

#[corun::entry(debug = false,)]
async fn debug_false() -> bool {
    corun::is_debug()
}

#[corun::entry(loop_factory = corun::loops::VirtualTimeLoop::new)]
async fn virtual_time() -> std::time::Duration {
    let start = corun::now();
    corun::sleep(std::time::Duration::from_secs(3600)).await;
    corun::now() - start
}

#[corun::entry(crate = ::corun, loop_factory = ::corun::loops::DefaultLoop::new, debug)]
async fn everything() -> bool {
    corun::is_debug()
}

#[corun::entry(loop_factory = <corun::loops::DefaultLoop>::new, debug = false, crate = corun)]
async fn everything_reordered() -> bool {
    corun::is_debug()
}

fn main() {
    std::env::remove_var("CORUN_DEBUG");
    assert!(!plain());
    assert!(debug_alone());
    assert!(debug_true());
    assert!(!debug_false());
    assert_eq!(virtual_time(), std::time::Duration::from_secs(3600));
    assert!(everything());
    assert!(!everything_reordered());
}
