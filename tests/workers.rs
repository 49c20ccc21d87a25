//! `Workers`: N whole runs of one main, a thread each. Which thread each worker and its tasks run
//! on, the outputs in worker order, `worker()`, and a failing worker (its main, its loop factory)
//! cancelling the others and naming itself in the panic. Signals are tested on real processes in
//! `tests/signals.rs` and `tests/echo_signals.rs`.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use corun::loops::{DefaultLoop, VirtualTimeLoop};
use corun::{Config, RunError, Worker, Workers};

use common::{quiet_panics, OnDrop};

/// The message of a panic payload made by `panic!`.
fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|message| message.to_string())
            .unwrap_or_default(),
    }
}

#[test]
fn each_worker_runs_main_and_its_tasks_on_a_thread_of_its_own() {
    let threads = Workers::new(3).run(|worker| async move {
        let main = (
            thread::current().id(),
            thread::current().name().map(String::from),
        );
        let task = corun::spawn(async { thread::current().id() }).await;
        assert_eq!(task, main.0, "a worker's task runs on the worker's thread");
        (worker.index(), main)
    });
    let caller = thread::current().id();
    let ids: HashSet<ThreadId> = threads.iter().map(|(_, (id, _))| *id).collect();
    assert_eq!(ids.len(), 3, "three threads: {threads:?}");
    assert!(
        !ids.contains(&caller),
        "no worker runs on the caller's thread"
    );
    for (index, (_, name)) in &threads {
        assert_eq!(name.as_deref(), Some(&*format!("corun-worker-{index}")));
    }
}

#[test]
fn outputs_come_back_in_worker_order_whatever_order_the_workers_finish_in() {
    // Worker 0 finishes last: it waits until every other worker has finished.
    let finished = Arc::new(AtomicUsize::new(0));
    let outputs = Workers::new(4).run(move |worker| {
        let finished = finished.clone();
        async move {
            if worker.index() == 0 {
                while finished.load(Ordering::SeqCst) < 3 {
                    corun::sleep(Duration::from_millis(1)).await;
                }
            }
            finished.fetch_add(1, Ordering::SeqCst);
            worker.index() * 10
        }
    });
    assert_eq!(outputs, [0, 10, 20, 30]);
}

#[test]
fn zero_workers_means_one_per_core() {
    let cores = thread::available_parallelism().map_or(1, |cores| cores.get());
    let workers = Workers::new(0).run(|worker| async move { worker });
    assert_eq!(workers.len(), cores);
    assert!(workers.iter().all(|worker| worker.count() == cores));
}

#[test]
fn worker_tells_the_worker_in_main_in_the_config_and_in_the_loop_factory_and_none_elsewhere() {
    assert_eq!(corun::worker(), None);
    assert_eq!(corun::run(async { corun::worker() }), None, "a plain run");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let in_config = seen.clone();
    let outputs = Workers::new(2)
        .config(move || {
            in_config.lock().unwrap().push(("config", corun::worker()));
            let in_factory = in_config.clone();
            Config::new().loop_factory(move || {
                in_factory
                    .lock()
                    .unwrap()
                    .push(("factory", corun::worker()));
                DefaultLoop::new()
            })
        })
        .run(|worker| async move {
            let on_thread = corun::to_thread(corun::worker).await;
            (corun::worker(), worker, on_thread)
        });
    for (index, (current, given, on_thread)) in outputs.into_iter().enumerate() {
        assert_eq!(current, Some(given));
        assert_eq!(given.index(), index);
        assert_eq!(on_thread, None, "a to_thread thread is not a worker");
    }
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by_key(|(what, worker)| (*what, worker.map(Worker::index)));
    let indices: Vec<_> = seen
        .iter()
        .map(|(what, worker)| (*what, worker.map(Worker::index)))
        .collect();
    assert_eq!(
        indices,
        [
            ("config", Some(0)),
            ("config", Some(1)),
            ("factory", Some(0)),
            ("factory", Some(1))
        ]
    );
    assert_eq!(corun::worker(), None, "after the run");
}

#[test]
fn each_worker_has_its_own_loop_from_the_config() {
    let slept = Workers::new(2)
        .config(|| Config::new().loop_factory(VirtualTimeLoop::new))
        .run(|_| async {
            let start = corun::now();
            corun::sleep(Duration::from_secs(3600)).await;
            corun::now() - start
        });
    assert_eq!(
        slept,
        [Duration::from_secs(3600); 2],
        "virtual time in each"
    );
}

#[test]
fn workers_from_inside_a_running_loop_are_a_nested_run() {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let nested = corun::run(async move {
        Workers::new(2).try_run(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async {}
        })
    });
    assert_eq!(nested.unwrap_err(), RunError::NestedRun);
    assert_eq!(started.load(Ordering::SeqCst), 0, "no worker started");

    let panicked = catch_unwind(|| corun::run(async { Workers::new(2).run(|_| async {}) }));
    let message = message(panicked.unwrap_err());
    assert!(
        message.contains("cannot be called from a running event loop"),
        "{message}"
    );
}

/// What the other workers' mains went through while worker 1 failed.
#[derive(Default)]
struct Others {
    /// Mains that were dropped without listening.
    dropped: AtomicUsize,
    /// Mains that listened on `cancelled()` and finished their cleanup.
    cleaned_up: AtomicUsize,
}

/// Worker 1 panics with "boom [expected]" once the others' mains are running; workers 0 and 2
/// wait forever, 0 without listening, 2 listening on `cancelled()`.
fn worker_one_panics(
    others: Arc<Others>,
) -> impl Fn(Worker) -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync + 'static {
    let running = Arc::new(AtomicUsize::new(0));
    move |worker| {
        let (others, running) = (others.clone(), running.clone());
        Box::pin(async move {
            match worker.index() {
                1 => {
                    while running.load(Ordering::SeqCst) < 2 {
                        corun::sleep(Duration::from_millis(1)).await;
                    }
                    panic!("boom [expected]");
                }
                0 => {
                    let _dropped = OnDrop(|| {
                        others.dropped.fetch_add(1, Ordering::SeqCst);
                    });
                    running.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                }
                _ => {
                    let cancelled = corun::cancelled();
                    running.fetch_add(1, Ordering::SeqCst);
                    cancelled.await;
                    corun::sleep(Duration::from_millis(5)).await; // cleanup that awaits
                    others.cleaned_up.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    }
}

#[test]
fn a_worker_whose_main_panics_cancels_the_others_and_its_panic_names_it() {
    quiet_panics();
    let others = Arc::new(Others::default());
    let main = worker_one_panics(others.clone());
    let panicked = catch_unwind(AssertUnwindSafe(|| Workers::new(3).run(main)));
    let message = message(panicked.unwrap_err());
    assert_eq!(message, "worker 1 panicked: boom [expected]");
    assert_eq!(others.dropped.load(Ordering::SeqCst), 1, "worker 0's main");
    assert_eq!(
        others.cleaned_up.load(Ordering::SeqCst),
        1,
        "worker 2's main"
    );
}

#[test]
fn try_run_resumes_a_workers_panic_too() {
    quiet_panics();
    let panicked = catch_unwind(|| {
        Workers::new(2).try_run(|worker| async move {
            if worker.index() == 0 {
                panic!("worker zero fails [expected]");
            }
            std::future::pending::<()>().await;
        })
    });
    let message = message(panicked.unwrap_err());
    assert_eq!(message, "worker 0 panicked: worker zero fails [expected]");
}

#[test]
fn a_loop_factory_that_panics_in_one_worker_cancels_the_others_and_names_it() {
    quiet_panics();
    let others_dropped = Arc::new(AtomicUsize::new(0));
    let dropped = others_dropped.clone();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        Workers::new(3)
            .config(|| {
                Config::new().loop_factory(|| {
                    if corun::worker().map(Worker::index) == Some(2) {
                        panic!("no loop for this worker [expected]");
                    }
                    DefaultLoop::new()
                })
            })
            .run(move |_| {
                let dropped = dropped.clone();
                async move {
                    let _dropped = OnDrop(|| {
                        dropped.fetch_add(1, Ordering::SeqCst);
                    });
                    std::future::pending::<()>().await;
                }
            })
    }));
    let message = message(panicked.unwrap_err());
    assert_eq!(
        message,
        "worker 2 panicked: no loop for this worker [expected]"
    );
    assert_eq!(others_dropped.load(Ordering::SeqCst), 2, "workers 0 and 1");
}

#[test]
fn a_config_closure_that_panics_in_one_worker_names_it() {
    quiet_panics();
    let panicked = catch_unwind(|| {
        Workers::new(2)
            .config(|| {
                if corun::worker().map(Worker::index) == Some(1) {
                    panic!("no config for this worker [expected]");
                }
                Config::new()
            })
            .run(|_| corun::cancelled())
    });
    assert_eq!(
        message(panicked.unwrap_err()),
        "worker 1 panicked: no config for this worker [expected]"
    );
}

#[test]
fn a_main_that_starts_after_another_worker_failed_is_cancelled_at_once() {
    quiet_panics();
    // Worker 0 fails in its config; worker 1 makes its config only once worker 0 is unwinding,
    // and a little later (so that, as a rule, the failure is recorded before its main starts).
    let unwinding = Arc::new(AtomicUsize::new(0));
    let flag = unwinding.clone();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        Workers::new(2)
            .config(move || {
                if corun::worker().map(Worker::index) == Some(0) {
                    let _unwinding = OnDrop(|| {
                        flag.store(1, Ordering::SeqCst);
                    });
                    panic!("worker 0 fails first [expected]");
                }
                while flag.load(Ordering::SeqCst) == 0 {
                    thread::sleep(Duration::from_millis(1));
                }
                thread::sleep(Duration::from_millis(50));
                Config::new()
            })
            .run(|_| async {
                // Cancelled at its first turn: never gets past this.
                std::future::pending::<()>().await;
            })
    }));
    assert_eq!(
        message(panicked.unwrap_err()),
        "worker 0 panicked: worker 0 fails first [expected]"
    );
    assert_eq!(unwinding.load(Ordering::SeqCst), 1);
}

#[test]
fn a_worker_whose_panic_is_not_a_string_is_still_named() {
    quiet_panics();
    let panicked = catch_unwind(|| {
        Workers::new(2).run(|worker| async move {
            if worker.index() == 1 {
                std::panic::panic_any(42_u32);
            }
        })
    });
    assert_eq!(
        message(panicked.unwrap_err()),
        "worker 1 panicked (with a payload that is not a string)"
    );
}

#[test]
fn when_run_returns_every_workers_tasks_and_thread_work_have_ended() {
    quiet_panics();
    let tasks_dropped = Arc::new(AtomicUsize::new(0));
    let jobs_done = Arc::new(AtomicUsize::new(0));
    let (dropped, done) = (tasks_dropped.clone(), jobs_done.clone());
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        Workers::new(3).run(move |worker| {
            let (dropped, done) = (dropped.clone(), done.clone());
            async move {
                // Left behind: a task, ended by the worker's shutdown, and thread work, waited
                // for by it.
                drop(corun::spawn(async move {
                    let _dropped = OnDrop(|| {
                        dropped.fetch_add(1, Ordering::SeqCst);
                    });
                    std::future::pending::<()>().await;
                }));
                drop(corun::spawn(corun::to_thread(move || {
                    thread::sleep(Duration::from_millis(20));
                    done.fetch_add(1, Ordering::SeqCst);
                })));
                corun::yield_now().await;
                if worker.index() == 0 {
                    panic!("stop everyone [expected]");
                }
                std::future::pending::<()>().await;
            }
        })
    }));
    assert!(panicked.is_err());
    assert_eq!(tasks_dropped.load(Ordering::SeqCst), 3);
    assert_eq!(jobs_done.load(Ordering::SeqCst), 3);
}
