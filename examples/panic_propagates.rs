//! A panic in one task propagates through `await` to main; the other tasks are cancelled (their
//! destructors run) before the panic leaves `run`. Run: `cargo run --example panic_propagates`

use std::time::Duration;

struct Announce(&'static str);

impl Drop for Announce {
    fn drop(&mut self) {
        println!("{} dropped: cancelled at shutdown", self.0);
    }
}

fn main() {
    let outcome = std::panic::catch_unwind(|| {
        corun::run(async {
            for name in ["worker-a", "worker-b"] {
                corun::spawn_named(name, async move {
                    let _announce = Announce(name);
                    corun::sleep(Duration::from_secs(3600)).await;
                });
            }
            let failing = corun::spawn_named("failing", async {
                corun::sleep(Duration::from_millis(20)).await;
                panic!("the failing task gave up");
            });
            failing.await; // resumes the task's panic here, in main
            println!("never printed");
        })
    });
    let payload = outcome.expect_err("the panic reached the caller of run");
    println!(
        "run panicked with: {:?}",
        payload.downcast_ref::<&str>().copied().unwrap_or("?")
    );
}
