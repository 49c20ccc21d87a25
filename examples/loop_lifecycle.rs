//! The loop is made when the run starts and closed when it ends, after leftover tasks are
//! cancelled; a custom loop passed with `loop_factory` shows each step.
//! Run: `cargo run --example loop_lifecycle`

use std::task::Waker;
use std::time::Instant;

use corun::{loops::DefaultLoop, Config, EventLoop, Park, Runnable, TimerId};

/// Wraps the default loop and narrates what the runtime asks of it.
struct Narrated {
    inner: DefaultLoop,
}

impl EventLoop for Narrated {
    fn call_soon(&self, work: Runnable) {
        println!("  loop: call_soon({})", work.task().name());
        self.inner.call_soon(work)
    }
    fn next_ready(&self) -> Option<Runnable> {
        self.inner.next_ready()
    }
    fn now(&self) -> Instant {
        self.inner.now()
    }
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        println!("  loop: add_timer");
        self.inner.add_timer(deadline, waker)
    }
    fn remove_timer(&self, timer: TimerId) -> bool {
        self.inner.remove_timer(timer)
    }
    fn park(&self, mode: Park) {
        self.inner.park(mode)
    }
    fn unparker(&self) -> Waker {
        self.inner.unparker()
    }
    fn close(&self) {
        println!("  loop: close");
        self.inner.close()
    }
}

struct Leftover;

impl Drop for Leftover {
    fn drop(&mut self) {
        println!("  leftover task: dropped (cancelled at shutdown)");
    }
}

fn main() {
    println!("before run");
    let value = Config::new()
        .loop_factory(|| {
            println!("  loop: made");
            Narrated {
                inner: DefaultLoop::new(),
            }
        })
        .run(async {
            println!("  main: running");
            drop(corun::spawn_named("leftover", async {
                let _leftover = Leftover;
                std::future::pending::<()>().await;
            }));
            corun::yield_now().await;
            println!("  main: returning");
            "value"
        });
    println!("after run: {value}");
}
