//! `TokioLoop::paused` and `TokioLoop::with_runtime` on a runtime whose clock is paused: one
//! virtual clock for corun and tokio, which jumps to the next timer of either when every task
//! waits, with real IO on 127.0.0.1 (feature `tokio-test-util`).

use std::cell::Cell;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use corun::loops::TokioLoop;
use corun::{Config, EventLoop, Park, Runnable, TimerId};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

const HOUR: Duration = Duration::from_secs(3600);

fn paused() -> Config {
    Config::new()
        .loop_factory(TokioLoop::paused)
        .handle_signals(false)
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// The clocks corun and tokio read, as `std` instants.
fn clocks() -> (Instant, Instant) {
    (corun::now(), tokio::time::Instant::now().into_std())
}

#[corun::test(loop_factory = corun::loops::TokioLoop::paused)]
async fn corun_and_tokio_read_one_clock_and_sleeps_of_either_move_it() {
    let (corun_start, tokio_start) = clocks();
    assert_eq!(corun_start, tokio_start);
    corun::sleep(HOUR).await;
    assert_eq!(clocks(), (corun_start + HOUR, tokio_start + HOUR));
    tokio::time::sleep(HOUR).await;
    assert_eq!(clocks(), (corun_start + 2 * HOUR, tokio_start + 2 * HOUR));
    let deadline = corun::now() + Duration::from_secs(90);
    corun::sleep_until(deadline).await;
    assert_eq!(tokio::time::Instant::now().into_std(), deadline);
}

#[corun::test(loop_factory = corun::loops::TokioLoop::paused)]
async fn each_timeout_runs_out_on_the_others_sleep_in_virtual_time() {
    let start = corun::now();
    let corun_around_tokio = corun::timeout(Duration::from_secs(1), tokio::time::sleep(HOUR)).await;
    assert!(corun_around_tokio.is_err());
    assert_eq!(corun::now() - start, Duration::from_secs(1));
    let tokio_around_corun = tokio::time::timeout(Duration::from_secs(2), corun::sleep(HOUR)).await;
    assert!(tokio_around_corun.is_err());
    assert_eq!(corun::now() - start, Duration::from_secs(3));
}

#[corun::test(loop_factory = corun::loops::TokioLoop::paused)]
async fn timers_of_both_fire_in_deadline_order_as_the_clock_jumps() {
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    let start = corun::now();
    let record = |name: &'static str| {
        let order = order.clone();
        move || order.borrow_mut().push((name, corun::now() - start))
    };
    let (corun_late, tokio_early, corun_early) = (
        record("corun 3 s"),
        record("tokio 2 s"),
        record("corun 1 s"),
    );
    corun::gather!(
        async move {
            corun::sleep(Duration::from_secs(3)).await;
            corun_late();
        },
        async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            tokio_early();
        },
        async move {
            corun::sleep(Duration::from_secs(1)).await;
            corun_early();
        },
    )
    .await;
    let seconds = Duration::from_secs;
    assert_eq!(
        *order.borrow(),
        [
            ("corun 1 s", seconds(1)),
            ("tokio 2 s", seconds(2)),
            ("corun 3 s", seconds(3))
        ]
    );
}

#[test]
fn a_loopback_servers_60_second_timeout_fires_in_a_moment_of_real_time() {
    let real_start = Instant::now();
    let (outcome, virtual_elapsed) = paused().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = corun::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0; 16];
            let start = corun::now();
            let outcome = corun::timeout(Duration::from_secs(60), stream.read(&mut request)).await;
            (outcome.is_err(), corun::now() - start)
        });
        // A client that connects and then says nothing.
        let _silent = TcpStream::connect(address).await.unwrap();
        server.await
    });
    let real_elapsed = real_start.elapsed();
    assert!(outcome, "the read timed out");
    assert_eq!(virtual_elapsed, Duration::from_secs(60));
    assert!(
        real_elapsed < Duration::from_secs(10),
        "60 s of virtual time took {real_elapsed:?} of real time"
    );
}

#[test]
fn a_loopback_exchange_with_timeouts_completes_while_the_clock_stands() {
    let (reply, virtual_elapsed) = paused().run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let start = corun::now();
        let server = corun::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0; 5];
            let read = corun::timeout(Duration::from_secs(60), stream.read_exact(&mut request));
            read.await
                .expect("the client's bytes came before the timeout")
                .unwrap();
            request
        });
        let mut client = TcpStream::connect(address).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut client, b"hello")
            .await
            .unwrap();
        (server.await, corun::now() - start)
    });
    assert_eq!(&reply, b"hello");
    assert!(
        virtual_elapsed < Duration::from_secs(60),
        "{virtual_elapsed:?}"
    );
}

#[test]
fn the_clock_does_not_jump_to_corun_timers_while_thread_work_runs() {
    let outcome = paused().run(async {
        let work = corun::to_thread(|| {
            std::thread::sleep(Duration::from_millis(30));
            5
        });
        corun::timeout(Duration::from_secs(1), work).await
    });
    assert_eq!(outcome, Ok(5));
}

/// `TokioLoop` with the turns of its drives counted.
struct CountingTurns {
    inner: TokioLoop,
    turns: Rc<Cell<u64>>,
}

impl EventLoop for CountingTurns {
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
    fn enter(&self, f: &mut dyn FnMut()) {
        self.inner.enter(f)
    }
    fn drive(&self, turn: &mut dyn FnMut() -> Option<Park>) {
        let turns = &self.turns;
        self.inner.drive(&mut || {
            turns.set(turns.get() + 1);
            turn()
        })
    }
    fn shutdown_foreign(&self, timeout: Duration) -> usize {
        self.inner.shutdown_foreign(timeout)
    }
    fn close(&self) {
        self.inner.close()
    }
}

#[test]
fn with_runtime_on_a_paused_runtime_sleeps_an_hour_in_a_few_turns() {
    let turns = Rc::new(Cell::new(0));
    let counter = turns.clone();
    let (slept, timed_out_after) = Config::new()
        .handle_signals(false)
        .loop_factory(move || CountingTurns {
            inner: TokioLoop::with_runtime(paused_runtime()),
            turns: counter,
        })
        .run(async {
            let start = corun::now();
            corun::sleep(HOUR).await;
            let slept = corun::now() - start;
            let start = corun::now();
            let outcome = corun::timeout(Duration::from_secs(1), tokio::time::sleep(HOUR)).await;
            assert!(outcome.is_err());
            (slept, corun::now() - start)
        });
    assert_eq!(slept, HOUR);
    assert_eq!(timed_out_after, Duration::from_secs(1));
    // A spinning loop (corun's clock apart from tokio's paused one) turns once per re-arm of its
    // alarm, thousands of times over an hour or a second.
    assert!(turns.get() < 50, "{} turns", turns.get());
}

#[test]
fn with_runtime_on_a_running_clock_keeps_real_time() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let elapsed = Config::new()
        .handle_signals(false)
        .loop_factory(move || TokioLoop::with_runtime(runtime))
        .run(async {
            let start = Instant::now();
            corun::sleep(Duration::from_millis(20)).await;
            start.elapsed()
        });
    assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
}

#[corun::test(loop_factory = corun::loops::TokioLoop::new)]
async fn a_clock_paused_during_the_run_by_tokio_time_pause_is_corun_clock_too() {
    tokio::time::pause();
    let start = corun::now();
    corun::sleep(HOUR).await;
    let slept = corun::now() - start;
    // Timers of a loop made with a running clock are rounded up to its millisecond ticks.
    assert!(
        slept >= HOUR && slept < HOUR + Duration::from_millis(10),
        "{slept:?}"
    );
    assert_eq!(corun::now(), tokio::time::Instant::now().into_std());
}
