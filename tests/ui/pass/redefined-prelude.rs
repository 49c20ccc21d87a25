// Every path the macro writes is absolute: redefining prelude names and `Config` changes
// nothing.
#![allow(dead_code, unused_macros)]

struct Option;
struct Result;
struct Box;
struct String;
struct Config;
struct Worker;
struct Workers;
struct Vec;
macro_rules! unreachable {
    ($($t:tt)*) => {
        compile_error!("the user's unreachable! was used")
    };
}
trait Future {}
trait IntoFuture {}
mod core {}
mod std {}
macro_rules! panic {
    ($($t:tt)*) => {
        compile_error!("the user's panic! was used")
    };
}

#[corun::entry(debug, loop_factory = corun::loops::DefaultLoop::new)]
async fn answer() -> u8 {
    42
}

#[corun::entry]
async fn never() -> ! {
    ::std::process::exit(0)
}

#[corun::entry(workers = 2, loop_factory = corun::loops::DefaultLoop::new)]
async fn on_workers() {}

#[corun::entry(workers = 2)]
async fn never_on_workers() -> ! {
    ::std::process::exit(0)
}

#[corun::entry]
async fn main() {
    let _ = Option;
    let _ = Result;
    let _ = Box;
    let _ = String;
    let _ = Config;
    let _ = (Worker, Workers, Vec);
    ::std::thread::spawn(on_workers).join().unwrap();
    ::std::thread::spawn(|| assert_eq!(answer(), 42)).join().unwrap();
}
