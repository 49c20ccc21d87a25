//! Tasks whose futures are `Unpin` (`std::future::pending()`, a hand-written poll function),
//! polled more than once and then cancelled or completed: the smallest cases of what Miri
//! reported against async-task's `spawn_local` (smol-rs/async-task#102: its `Checked` wrapper
//! reborrows the whole future, shared, at every poll, which invalidates the unique tag of a
//! `Pin<&mut T: Unpin>` that `supervise` keeps to its own state across an await). corun's own
//! task allocation (`record/raw_task.rs`) never reborrows the body, and both pass under Stacked
//! Borrows: `scripts/miri.sh`.

use std::future::{pending, poll_fn};
use std::task::Poll;

use corun_runtime::{run, spawn, yield_now};

#[test]
fn an_unpin_pending_future_polled_twice_then_cancelled() {
    run(async {
        let task = spawn(pending::<()>());
        yield_now().await;
        assert!(task.cancel());
        assert!(task.join().await.unwrap_err().is_cancelled());
    });
}

#[test]
fn an_unpin_poll_fn_polled_until_it_completes() {
    let output = run(async {
        let mut polls = 0;
        spawn(poll_fn(move |cx| {
            polls += 1;
            if polls < 3 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(polls)
        }))
        .await
    });
    assert_eq!(output, 3);
}
