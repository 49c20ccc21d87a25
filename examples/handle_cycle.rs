//! Two tasks awaiting each other's handles: a cycle the run must break at shutdown without
//! leaking either task. `scripts/valgrind.sh` runs this under valgrind's leak checker;
//! `cargo run --example handle_cycle` just runs it.

use std::cell::RefCell;
use std::rc::Rc;

type Slot = Rc<RefCell<Option<corun::Task<u32>>>>;

#[corun::entry]
async fn main() {
    let a_slot: Slot = Rc::default();
    let b_slot: Slot = Rc::default();
    let (b_for_a, a_for_b) = (b_slot.clone(), a_slot.clone());
    let a = corun::spawn_named("a", async move {
        corun::yield_now().await;
        let b = b_for_a.borrow_mut().take().expect("b's handle is stored");
        b.await + 1
    });
    let b = corun::spawn_named("b", async move {
        corun::yield_now().await;
        let a = a_for_b.borrow_mut().take().expect("a's handle is stored");
        a.await + 1
    });
    *a_slot.borrow_mut() = Some(a);
    *b_slot.borrow_mut() = Some(b);
    // Let each take the other's handle and wait on it; then return: the shutdown cancels both.
    for _ in 0..3 {
        corun::yield_now().await;
    }
    // A timer left armed, and a task never polled, for good measure.
    drop(corun::spawn(corun::sleep(std::time::Duration::from_secs(
        3600,
    ))));
    println!("main returns with a and b waiting on each other");
}
