// A factory whose name looks like a type (read through a `use` to tell a type from its
// constructor) still works, at any path depth, without a warning.
#![deny(warnings)]

mod loops {
    #[allow(non_snake_case)]
    pub fn VirtualClock() -> corun::loops::VirtualTimeLoop {
        corun::loops::VirtualTimeLoop::new()
    }
}

use loops::VirtualClock;

#[corun::entry(loop_factory = crate::loops::VirtualClock)]
async fn by_path() -> std::time::Duration {
    let start = corun::now();
    corun::sleep(std::time::Duration::from_secs(60)).await;
    corun::now() - start
}

#[corun::entry(loop_factory = VirtualClock)]
async fn main() {
    corun::sleep(std::time::Duration::from_secs(60)).await;
    ::std::thread::spawn(|| assert_eq!(by_path(), std::time::Duration::from_secs(60)))
        .join()
        .unwrap();
}
