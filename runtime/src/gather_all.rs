//! `gather_all`: any number of futures run concurrently in one task, each woken on its own.
//!
//! Every gathered future gets a waker of its own, which puts the future's index on the gather's
//! list of woken futures and wakes the awaiting task; a poll of the gather polls only the
//! futures on that list. So a wake costs O(1), however many futures are gathered (futures'
//! `FuturesUnordered` works the same way; its crate would add about 2 s of CPU to every clean
//! build of a corun program, BENCHMARKS.md).
//!
//! Layer 4 (beside tasks): imports nothing of the crate.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context as PollContext, Poll, Wake, Waker};

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
        let woken = Arc::new(Woken::all(count));
        let wakers = (0..count)
            .map(|index| {
                Waker::from(Arc::new(FutureWaker {
                    index,
                    woken: woken.clone(),
                }))
            })
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

/// The gathered futures woken since the gather last looked, and the waker of the task that
/// awaits the gather. Shared with every future's waker, which may be woken from any thread.
struct Woken {
    state: Mutex<WokenState>,
}

struct WokenState {
    /// Indices of woken futures, each at most once.
    indices: Vec<usize>,
    /// Whether each future is in `indices`.
    queued: Vec<bool>,
    /// The task awaiting the gather, as of its latest poll.
    task: Option<Waker>,
}

impl Woken {
    /// Every one of `count` futures woken: each needs its first poll.
    fn all(count: usize) -> Self {
        Woken {
            state: Mutex::new(WokenState {
                indices: (0..count).collect(),
                queued: vec![true; count],
                task: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WokenState> {
        // Nothing panics while the lock is held.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the woken indices into `into` (empty) and keeps `task` as the waker to wake next.
    fn take(&self, task: &Waker, into: &mut Vec<usize>) {
        let mut state = self.lock();
        if !state.task.as_ref().is_some_and(|w| w.will_wake(task)) {
            state.task = Some(task.clone());
        }
        std::mem::swap(&mut state.indices, into);
        for &index in into.iter() {
            state.queued[index] = false;
        }
    }

    /// Future `index` was woken: queue it, and wake the task if nothing was queued yet (else it
    /// was woken already and has not polled since).
    fn wake(&self, index: usize) {
        let task = {
            let mut state = self.lock();
            if state.queued[index] {
                return;
            }
            state.queued[index] = true;
            state.indices.push(index);
            if state.indices.len() > 1 {
                return;
            }
            state.task.clone()
        };
        if let Some(task) = task {
            task.wake();
        }
    }
}

/// The waker of one gathered future.
struct FutureWaker {
    index: usize,
    woken: Arc<Woken>,
}

impl Wake for FutureWaker {
    fn wake(self: Arc<Self>) {
        self.woken.wake(self.index);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.wake(self.index);
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
