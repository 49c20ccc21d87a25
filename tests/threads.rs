//! `to_thread` and the loop's thread pool: values, panics, a loop left free, the virtual clock
//! held still, nothing handed to a thread lost, the wait at shutdown and its timeout.

mod common;

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::task::{Context, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::{quiet_panics, Reports};
use corun::loops::DefaultLoop;
use corun::{EventLoop, Park, ReportKind, Runnable, TaskError, TimerId};

/// Counts drops across threads.
#[derive(Clone, Default)]
struct SendDrops(Arc<AtomicUsize>);

#[derive(Debug)]
struct SendToken(Arc<AtomicUsize>);

impl SendDrops {
    fn token(&self) -> SendToken {
        SendToken(self.0.clone())
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for SendToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    match payload.downcast_ref::<&str>() {
        Some(text) => (*text).to_owned(),
        None => payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default(),
    }
}

#[test]
fn to_thread_returns_the_closure_value() {
    let value = corun::run(async { corun::to_thread(|| 6 * 7).await });
    assert_eq!(value, 42);
}

#[test]
fn to_thread_runs_the_closure_on_a_pool_thread() {
    let (loop_thread, worker) = corun::run(async {
        let worker = corun::to_thread(|| {
            let current = thread::current();
            (current.id(), current.name().map(str::to_owned))
        })
        .await;
        (thread::current().id(), worker)
    });
    assert_ne!(loop_thread, worker.0);
    assert_eq!(worker.1.as_deref(), Some("corun-to-thread"));
}

#[test]
fn to_thread_panic_resumes_in_the_awaiting_task() {
    quiet_panics();
    let joined = corun::run(async {
        corun::spawn(async { corun::to_thread(|| panic!("[expected] in a thread")).await })
            .join()
            .await
    });
    match joined {
        Err(TaskError::Panicked(payload)) => {
            assert_eq!(
                payload.downcast_ref::<&str>(),
                Some(&"[expected] in a thread")
            )
        }
        other => panic!("expected the thread's panic, got {other:?}"),
    }
}

#[test]
fn the_loop_keeps_running_tasks_while_thread_work_is_in_flight() {
    let answered = corun::run(async {
        let (ask, question) = mpsc::channel::<u32>();
        // The thread blocks until a task on the loop answers: that needs the loop to run.
        let work = corun::spawn(corun::to_thread(move || {
            question.recv_timeout(Duration::from_secs(10)).ok()
        }));
        corun::spawn(async move {
            corun::yield_now().await;
            ask.send(7).unwrap();
        });
        work.await
    });
    assert_eq!(answered, Some(7));
}

#[test]
fn the_virtual_clock_does_not_jump_while_thread_work_is_in_flight() {
    let (finished, waited) = common::virtual_time().run(async {
        let start = corun::now();
        let work = corun::to_thread(|| thread::sleep(Duration::from_millis(50)));
        let finished = corun::timeout(Duration::from_secs(3600), work).await;
        (finished, corun::now() - start)
    });
    assert!(finished.is_ok(), "the hour-long timeout fired first");
    assert!(waited < Duration::from_secs(3600));
}

#[test]
fn thread_work_runs_concurrently() {
    // Four jobs that can only finish together: the pool runs at least four threads at once
    // (its bound is min(32, cores + 4) >= 5).
    let done = corun::run(async {
        let barrier = Arc::new(Barrier::new(4));
        let jobs = (0..4).map(|_| {
            let barrier = barrier.clone();
            corun::to_thread(move || barrier.wait().is_leader())
        });
        corun::gather_all(jobs).await
    });
    assert_eq!(done.iter().filter(|leader| **leader).count(), 1);
}

#[test]
fn an_idle_pool_thread_is_reused() {
    let threads = corun::run(async {
        let mut threads = HashSet::new();
        for _ in 0..5 {
            threads.insert(corun::to_thread(|| thread::current().id()).await);
            // Let the worker go back to waiting for a job.
            corun::sleep(Duration::from_millis(5)).await;
        }
        threads
    });
    assert_eq!(threads.len(), 1);
}

#[test]
fn thread_work_of_a_cancelled_task_still_runs_to_completion_and_its_result_is_dropped() {
    let drops = SendDrops::default();
    let ran = Arc::new(AtomicBool::new(false));
    let (open, gate) = mpsc::channel::<()>();
    let (token_drops, finished) = (drops.clone(), ran.clone());
    corun::run(async move {
        let waiting = corun::spawn(corun::to_thread(move || {
            gate.recv().unwrap();
            finished.store(true, Ordering::SeqCst);
            token_drops.token()
        }));
        corun::yield_now().await;
        assert!(waiting.cancel());
        assert!(waiting.join().await.unwrap_err().is_cancelled());
        open.send(()).unwrap();
    });
    // The run waited for the job at shutdown.
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_panic_in_thread_work_nobody_awaits_is_reported() {
    quiet_panics();
    let reports = Reports::default();
    let (open, gate) = mpsc::channel::<()>();
    reports.config().run(async move {
        let waiting = corun::spawn_named(
            "abandoner",
            corun::to_thread(move || {
                gate.recv().unwrap();
                panic!("[expected] nobody is waiting")
            }),
        );
        corun::yield_now().await;
        waiting.cancel();
        corun::yield_now().await;
        open.send(()).unwrap();
    });
    let unretrieved = reports.of_kind(ReportKind::UnretrievedPanic);
    assert_eq!(unretrieved.len(), 1, "{:?}", reports.all());
    assert_eq!(unretrieved[0].task_name(), Some("abandoner"));
    assert!(unretrieved[0]
        .message()
        .contains("[expected] nobody is waiting"));
}

#[test]
fn shutdown_waits_for_thread_work_still_running() {
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    corun::run(async move {
        // Detached: main does not wait, the end of the run does.
        drop(corun::spawn(corun::to_thread(move || {
            thread::sleep(Duration::from_millis(100));
            flag.store(true, Ordering::SeqCst);
        })));
        corun::yield_now().await;
    });
    assert!(finished.load(Ordering::SeqCst));
}

#[test]
fn shutdown_timeout_reports_thread_work_left_and_returns() {
    let reports = Reports::default();
    let (open, gate) = mpsc::channel::<()>();
    let start = Instant::now();
    reports
        .config()
        .shutdown_timeout(Duration::from_millis(50))
        .run(async move {
            drop(corun::spawn(corun::to_thread(move || {
                let _ = gate.recv_timeout(Duration::from_secs(30));
            })));
            corun::yield_now().await;
        });
    assert!(start.elapsed() < Duration::from_secs(10));
    open.send(()).unwrap();
    let left = reports.of_kind(ReportKind::ThreadWorkOutstanding);
    assert_eq!(left.len(), 1, "{:?}", reports.all());
    assert!(left[0].message().contains("1 to_thread job"));
    assert!(left[0].elapsed().unwrap() >= Duration::from_millis(50));
}

#[test]
fn to_thread_outside_a_loop_panics_with_a_message() {
    let outcome = std::panic::catch_unwind(|| {
        futures::executor::block_on(corun::to_thread(|| 1));
    });
    let message = panic_text(&*outcome.unwrap_err());
    assert!(
        message.contains("outside a running event loop"),
        "{message}"
    );
}

/// A loop that, when closed (after the run stopped taking thread work), polls a `to_thread`.
struct LateToThread {
    inner: DefaultLoop,
    message: Rc<RefCell<Option<String>>>,
}

impl EventLoop for LateToThread {
    fn call_soon(&self, work: Runnable) {
        self.inner.call_soon(work)
    }
    fn next_ready(&self) -> Option<Runnable> {
        self.inner.next_ready()
    }
    fn now(&self) -> Instant {
        self.inner.now()
    }
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
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
        let outcome = std::panic::catch_unwind(|| {
            let mut late = pin!(corun::to_thread(|| ()));
            let _ = late.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        });
        *self.message.borrow_mut() = Some(panic_text(&*outcome.unwrap_err()));
        self.inner.close()
    }
}

#[test]
fn to_thread_after_shutdown_stopped_taking_thread_work_panics() {
    quiet_panics();
    let message = Rc::new(RefCell::new(None));
    let seen = message.clone();
    corun::Config::new()
        .loop_factory(move || LateToThread {
            inner: DefaultLoop::new(),
            message: seen,
        })
        .run(async { corun::to_thread(|| ()).await });
    let message = message
        .borrow()
        .clone()
        .expect("the late to_thread panicked");
    assert!(
        message.contains("after the run's shutdown stopped taking thread work"),
        "{message}"
    );
}
