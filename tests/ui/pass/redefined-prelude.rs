// Every path the macro writes is absolute: redefining prelude names and `Config` changes
// nothing.
#![allow(dead_code, unused_macros)]

struct Option;
struct Result;
struct Box;
struct String;
struct Config;
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

#[corun::entry]
async fn main() {
    let _ = Option;
    let _ = Result;
    let _ = Box;
    let _ = String;
    let _ = Config;
    ::std::thread::spawn(|| assert_eq!(answer(), 42)).join().unwrap();
}
