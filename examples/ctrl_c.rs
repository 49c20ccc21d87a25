//! Ctrl-C (or SIGTERM) cancels main, shutdown runs in full, and the process exits with 130 (143).
//! Run: `cargo run --example ctrl_c [-- listen | slow-cleanup]`, then press Ctrl-C.
//!
//! - no argument: main does not listen; its future is dropped, the leftover task is cancelled,
//!   the run waits for the thread work under way, and the process exits with 130 (143 for
//!   SIGTERM). "main returned" is never printed; one line on stderr says the run was interrupted.
//! - `listen`: main waits on `corun::cancelled()` and returns 7, which the run hands back.
//! - `slow-cleanup`: main listens, then starts a cleanup that would take a minute; a second
//!   Ctrl-C exits at once with 130.
//!
//! `tests/signals.rs` runs this program and checks what it prints and how it exits.

use std::io::Write;
use std::thread;
use std::time::Duration;

/// Prints a line when dropped, to show which destructors ran.
struct Announce(&'static str);

impl Drop for Announce {
    fn drop(&mut self) {
        println!("{}", self.0);
    }
}

/// Runs the demo. `pub` so that `tests/signals.rs` can include this file as a module and run it
/// as its child process.
pub fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let value = corun::run(async move {
        // Thread work the shutdown waits for.
        drop(corun::spawn(corun::to_thread(|| {
            thread::sleep(Duration::from_millis(300));
            println!("thread work finished");
        })));
        // A task that is cancelled when the run ends.
        drop(corun::spawn(async {
            let _announce = Announce("task dropped");
            corun::sleep(Duration::from_secs(3600)).await;
        }));
        let _announce = Announce("main dropped");
        println!("ready");
        std::io::stdout().flush().unwrap();
        match mode.as_str() {
            "listen" => {
                corun::cancelled().await;
                println!("main heard the cancellation");
                7
            }
            "slow-cleanup" => {
                corun::cancelled().await;
                println!("cleaning up slowly");
                corun::to_thread(|| thread::sleep(Duration::from_secs(60))).await;
                8
            }
            _ => {
                corun::sleep(Duration::from_secs(3600)).await;
                0
            }
        }
    });
    println!("main returned {value}");
}
