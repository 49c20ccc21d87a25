//! Tasks whose futures are `Unpin` (`std::future::pending()`, a hand-written poll function),
//! polled more than once and then cancelled or completed. Meant for Miri: under Stacked Borrows
//! each of these is reported as undefined behaviour today (see the ignore reason).

use std::future::{pending, poll_fn};
use std::task::Poll;

use corun_runtime::{run, spawn, yield_now};

/// Why these are skipped under Miri until the task wrapper stops pinning a reference to itself.
macro_rules! stacked_borrows_bug {
    () => {
        "bug: Stacked Borrows UB: supervise() keeps a Pin<&mut Option<F>> to its own state across \
         an await; for an Unpin F that reference gets a unique tag, which async-task's Checked \
         wrapper invalidates with a shared reborrow of the whole future at every poll"
    };
}

#[test]
#[cfg_attr(miri, ignore = stacked_borrows_bug!())]
fn an_unpin_pending_future_polled_twice_then_cancelled() {
    run(async {
        let task = spawn(pending::<()>());
        yield_now().await;
        assert!(task.cancel());
        assert!(task.join().await.unwrap_err().is_cancelled());
    });
}

#[test]
#[cfg_attr(miri, ignore = stacked_borrows_bug!())]
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
