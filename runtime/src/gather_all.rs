//! `gather_all`: any number of futures run concurrently in one task, each woken on its own.
//!
//! Every gathered future gets a waker of its own from the gather's ready list (`woken.rs`), and a
//! poll of the gather polls only the futures on that list, so a wake costs O(1), however many
//! futures are gathered.
//!
//! Layer 4 (beside tasks): uses only `woken`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as PollContext, Poll, Waker};

use crate::woken::{self, Woken};

/// Runs every future of `futures` concurrently and gives their outputs in order (asyncio's
/// `gather(*aws)`). A panic propagates at once and drops the rest.
///
/// Each future is polled only when it was woken, so a wake costs the same with ten futures or a
/// hundred thousand.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let squares = corun_runtime::gather_all((1..=4).map(|n| async move { n * n })).await;
///     assert_eq!(squares, [1, 4, 9, 16]);
/// });
/// ```
pub async fn gather_all<I>(futures: I) -> Vec<<I::Item as IntoFuture>::Output>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let mut gathered = GatherAll::new(futures.into_iter().map(IntoFuture::into_future));
    std::future::poll_fn(|cx| gathered.poll(cx)).await
}

/// The state of one `gather_all`.
struct GatherAll<F: Future> {
    /// Each future until it completes.
    futures: Vec<Option<Pin<Box<F>>>>,
    outputs: Vec<Option<F::Output>>,
    /// The waker of each future.
    wakers: Vec<Waker>,
    woken: Arc<Woken>,
    /// The futures taken off `woken` for this poll (a buffer kept between polls).
    polling: Vec<usize>,
    /// Futures still running.
    running: usize,
}

impl<F: Future> GatherAll<F> {
    fn new(futures: impl Iterator<Item = F>) -> Self {
        let futures: Vec<Option<Pin<Box<F>>>> = futures.map(|f| Some(Box::pin(f))).collect();
        let count = futures.len();
        let woken = Woken::with_first_woken(count);
        let wakers = (0..count)
            .map(|index| woken::waker(&woken, index))
            .collect();
        GatherAll {
            futures,
            outputs: (0..count).map(|_| None).collect(),
            wakers,
            woken,
            polling: Vec::new(),
            running: count,
        }
    }

    /// Polls the futures woken since the last poll; all outputs once every future is done.
    fn poll(&mut self, cx: &mut PollContext<'_>) -> Poll<Vec<F::Output>> {
        self.woken.take(cx.waker(), &mut self.polling);
        for index in self.polling.drain(..) {
            let Some(future) = &mut self.futures[index] else {
                continue;
            };
            let mut future_cx = PollContext::from_waker(&self.wakers[index]);
            if let Poll::Ready(output) = future.as_mut().poll(&mut future_cx) {
                self.outputs[index] = Some(output);
                self.futures[index] = None;
                self.running -= 1;
            }
        }
        if self.running > 0 {
            return Poll::Pending;
        }
        let outputs = std::mem::take(&mut self.outputs);
        Poll::Ready(
            outputs
                .into_iter()
                .map(|output| output.expect("every gathered future gave its output"))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::task::{Context as PollContext, Poll, Waker};

    use super::GatherAll;

    /// Pending until its turn; counts its polls.
    struct Counted {
        polls: Rc<Cell<usize>>,
        ready: Rc<Cell<bool>>,
    }

    impl Future for Counted {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut PollContext<'_>) -> Poll<()> {
            self.polls.set(self.polls.get() + 1);
            if self.ready.get() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    #[test]
    fn a_poll_polls_only_the_futures_woken_since_the_last() {
        let polls: Vec<Rc<Cell<usize>>> = (0..100).map(|_| Rc::default()).collect();
        let ready = Rc::new(Cell::new(false));
        let mut gathered = GatherAll::new(polls.iter().map(|polls| Counted {
            polls: polls.clone(),
            ready: ready.clone(),
        }));
        let mut cx = PollContext::from_waker(Waker::noop());
        assert!(gathered.poll(&mut cx).is_pending());
        assert!(
            polls.iter().all(|p| p.get() == 1),
            "every future is polled first"
        );
        gathered.wakers[7].wake_by_ref();
        gathered.wakers[7].wake_by_ref();
        assert!(gathered.poll(&mut cx).is_pending());
        let counts: Vec<usize> = polls.iter().map(|p| p.get()).collect();
        assert_eq!(counts[7], 2, "the woken future is polled once");
        assert_eq!(counts.iter().sum::<usize>(), 101, "and no other");
        ready.set(true);
        gathered.wakers.iter().for_each(Waker::wake_by_ref);
        assert_eq!(
            gathered.poll(&mut cx).map(|outputs| outputs.len()),
            Poll::Ready(100)
        );
    }
}
