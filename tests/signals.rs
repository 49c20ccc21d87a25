//! SIGINT and SIGTERM, tested on real processes: this binary (`harness = false`) re-runs itself
//! as the child, which runs `examples/ctrl_c.rs` (or a small program below) on its main thread;
//! the parent signals it with `kill` and checks what it printed and how it exited. A child gets
//! the default disposition of SIGINT and SIGTERM even where this process inherited `SIG_IGN`
//! (a background job of a non-interactive shell), through `env --default-signal`. The
//! `Workers` cases also check a worker's panic under the attribute (exit status 101).

#[cfg(unix)]
#[path = "../examples/ctrl_c.rs"]
mod ctrl_c;

#[cfg(unix)]
#[path = "common/child.rs"]
mod child;

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
fn main() {
    println!("signals: skipped, not a Unix platform");
}

#[cfg(unix)]
mod unix {
    use std::io::Write;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use crate::child::{launcher, launcher_for, signal_ignored, Child, PATIENCE};

    /// The environment variable that makes this binary act as the child, and which program.
    const CHILD: &str = "CORUN_SIGNALS_CHILD";

    pub fn main() {
        if let Ok(program) = std::env::var(CHILD) {
            return child(&program);
        }
        if launcher().is_none() {
            println!(
                "signals: skipped, SIGINT or SIGTERM is ignored in this process and `env \
                 --default-signal` cannot give the child the default disposition"
            );
            return;
        }
        let cases: &[(&str, fn())] = &[
            (
                "sigint_cancels_main_runs_shutdown_in_full_and_exits_130",
                sigint_cancels_main_runs_shutdown_in_full_and_exits_130,
            ),
            ("sigterm_exits_143", sigterm_exits_143),
            (
                "a_main_listening_on_cancelled_returns_its_value",
                a_main_listening_on_cancelled_returns_its_value,
            ),
            (
                "a_second_signal_exits_at_once",
                a_second_signal_exits_at_once,
            ),
            (
                "try_run_returns_interrupted_instead_of_exiting",
                try_run_returns_interrupted_instead_of_exiting,
            ),
            (
                "a_run_after_an_interrupted_one_is_interrupted_by_its_own_signal_only",
                a_run_after_an_interrupted_one_is_interrupted_by_its_own_signal_only,
            ),
            (
                "the_default_disposition_is_back_after_the_run",
                the_default_disposition_is_back_after_the_run,
            ),
            (
                "a_process_with_its_own_handler_is_left_alone",
                a_process_with_its_own_handler_is_left_alone,
            ),
            (
                "after_a_forced_run_the_process_handler_has_the_signal_again",
                after_a_forced_run_the_process_handler_has_the_signal_again,
            ),
            (
                "an_interrupted_run_says_so_in_one_line_on_stderr",
                an_interrupted_run_says_so_in_one_line_on_stderr,
            ),
            (
                "a_signal_during_the_shutdown_grace_ends_it_and_try_run_gives_interrupted",
                a_signal_during_the_shutdown_grace_ends_it_and_try_run_gives_interrupted,
            ),
            (
                "a_signal_during_the_wait_for_thread_work_ends_it_and_exits_130",
                a_signal_during_the_wait_for_thread_work_ends_it_and_exits_130,
            ),
            (
                "a_signal_stops_a_shutdown_kept_busy_by_respawning_destructors_and_exits_143",
                a_signal_stops_a_shutdown_kept_busy_by_respawning_destructors_and_exits_143,
            ),
            (
                "one_sigint_cancels_every_workers_main_and_exits_130",
                one_sigint_cancels_every_workers_main_and_exits_130,
            ),
            (
                "workers_whose_mains_listen_return_their_values",
                workers_whose_mains_listen_return_their_values,
            ),
            (
                "workers_try_run_gives_interrupted_if_one_main_did_not_listen",
                workers_try_run_gives_interrupted_if_one_main_did_not_listen,
            ),
            (
                "a_second_signal_exits_workers_at_once",
                a_second_signal_exits_workers_at_once,
            ),
            (
                "a_workers_panic_under_the_attribute_exits_101_naming_the_worker",
                a_workers_panic_under_the_attribute_exits_101_naming_the_worker,
            ),
            (
                "the_child_gets_the_default_disposition_even_if_the_parent_ignores_sigint",
                the_child_gets_the_default_disposition_even_if_the_parent_ignores_sigint,
            ),
        ];
        let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
        for (name, case) in cases {
            if filter
                .as_deref()
                .is_some_and(|filter| !name.contains(filter))
            {
                continue;
            }
            print!("test {name} ... ");
            std::io::stdout().flush().unwrap();
            case();
            println!("ok");
        }
    }

    fn sigint_cancels_main_runs_shutdown_in_full_and_exits_130() {
        let (status, lines) = signalled_once("example", &[], "INT");
        assert_eq!(status.code(), Some(130), "{status:?}: {lines:?}");
        for line in ["main dropped", "task dropped", "thread work finished"] {
            assert!(lines.iter().any(|l| l == line), "no {line:?} in {lines:?}");
        }
        assert!(!lines.iter().any(|l| l.starts_with("main returned")));
    }

    fn sigterm_exits_143() {
        let (status, lines) = signalled_once("example", &[], "TERM");
        assert_eq!(status.code(), Some(143), "{status:?}: {lines:?}");
        assert!(lines.iter().any(|l| l == "main dropped"), "{lines:?}");
    }

    fn a_main_listening_on_cancelled_returns_its_value() {
        let (status, lines) = signalled_once("example", &["listen"], "INT");
        assert_eq!(status.code(), Some(0), "{status:?}: {lines:?}");
        for line in [
            "main heard the cancellation",
            "task dropped",
            "thread work finished",
            "main returned 7",
        ] {
            assert!(lines.iter().any(|l| l == line), "no {line:?} in {lines:?}");
        }
    }

    fn a_second_signal_exits_at_once() {
        let mut child = Child::start(CHILD, "example", &["slow-cleanup"]);
        child.wait_for("ready");
        child.signal("INT");
        child.wait_for("cleaning up slowly");
        let start = Instant::now();
        child.signal("INT");
        let (status, lines) = child.finish();
        assert_eq!(status.code(), Some(130), "{status:?}: {lines:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(!lines.iter().any(|l| l.starts_with("main returned")));
    }

    fn try_run_returns_interrupted_instead_of_exiting() {
        let (status, lines) = signalled_once("try-run", &[], "INT");
        assert_eq!(status.code(), Some(0), "{status:?}: {lines:?}");
        assert!(
            lines.iter().any(|l| l == "try_run gave Err(Interrupted)"),
            "{lines:?}"
        );
    }

    /// The second run reuses what the first one handled signals with (BENCHMARKS.md, "Cheaper
    /// `run()`"): it starts without the first run's signal, and its own reaches it.
    fn a_run_after_an_interrupted_one_is_interrupted_by_its_own_signal_only() {
        let mut child = Child::start(CHILD, "two-runs", &[]);
        child.wait_for("ready");
        child.signal("INT");
        child.wait_for("second run ready");
        child.signal("INT");
        let (status, lines) = child.finish();
        assert_eq!(status.code(), Some(0), "{status:?}: {lines:?}");
        for line in [
            "first try_run gave Err(Interrupted)",
            "second try_run gave Err(Interrupted)",
        ] {
            assert!(lines.iter().any(|l| l == line), "no {line:?} in {lines:?}");
        }
    }

    fn the_default_disposition_is_back_after_the_run() {
        let (status, lines) = signalled_once("after-run", &[], "INT");
        assert_eq!(status.signal(), Some(2), "{status:?}: {lines:?}");
        assert!(!lines.iter().any(|l| l == "still alive"));
    }

    fn a_process_with_its_own_handler_is_left_alone() {
        let (status, lines) = signalled_once("own-handler", &[], "INT");
        assert_eq!(status.code(), Some(0), "{status:?}: {lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l == "main returned: the process's own handler saw SIGINT"),
            "{lines:?}"
        );
    }

    fn after_a_forced_run_the_process_handler_has_the_signal_again() {
        let (status, lines) = signalled_once("own-handler-after-forced-run", &[], "INT");
        assert_eq!(status.code(), Some(0), "{status:?}: {lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l == "the process's own handler saw SIGINT after the run"),
            "{lines:?}"
        );
    }

    fn an_interrupted_run_says_so_in_one_line_on_stderr() {
        let mut child = Child::start(CHILD, "example", &[]);
        child.wait_for("ready");
        child.signal("INT");
        let (status, _, stderr) = child.finish_with_stderr();
        assert_eq!(status.code(), Some(130), "{status:?}");
        assert_eq!(
            stderr,
            [
                "corun: signal: SIGINT received: the main task was cancelled and the run ends as \
              interrupted"
            ],
            "with debug off, one line"
        );
    }

    fn a_signal_during_the_shutdown_grace_ends_it_and_try_run_gives_interrupted() {
        let mut child = Child::start(CHILD, "grace", &[]);
        child.wait_for("cleaning up");
        let start = Instant::now();
        child.signal("INT");
        let (status, lines, stderr) = child.finish_with_stderr();
        assert!(
            start.elapsed() < PATIENCE / 2,
            "the 300 s grace was not waited out"
        );
        assert_eq!(status.code(), Some(0), "{status:?}: {lines:?}");
        assert!(
            lines.iter().any(|l| l == "try_run gave Err(Interrupted)"),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l == "cleanup finished"), "{lines:?}");
        assert!(lines.iter().any(|l| l == "cleanup dropped"), "{lines:?}");
        assert_eq!(stderr.len(), 1, "{stderr:?}");
        assert!(
            stderr[0].starts_with(
                "corun: signal: SIGINT received while the run was shutting down: it stopped \
                 waiting and ends as interrupted; 1 task(s) dropped"
            ),
            "{stderr:?}"
        );
    }

    fn a_signal_during_the_wait_for_thread_work_ends_it_and_exits_130() {
        let mut child = Child::start(CHILD, "thread-wait", &[]);
        child.wait_for("thread work started");
        let start = Instant::now();
        child.signal("INT");
        let (status, lines, stderr) = child.finish_with_stderr();
        assert!(
            start.elapsed() < PATIENCE / 2,
            "the thread work was not waited for"
        );
        assert_eq!(status.code(), Some(130), "{status:?}: {lines:?}");
        assert!(!lines.iter().any(|l| l == "main returned"), "{lines:?}");
        assert_eq!(stderr.len(), 1, "one line says what happened: {stderr:?}");
        assert!(
            stderr[0].starts_with("corun: signal: SIGINT received while the run was shutting down")
                && stderr[0].ends_with("1 to_thread job(s) left running"),
            "{stderr:?}"
        );
    }

    fn a_signal_stops_a_shutdown_kept_busy_by_respawning_destructors_and_exits_143() {
        let mut child = Child::start(CHILD, "respawning", &[]);
        child.wait_for("respawning");
        child.signal("TERM");
        let (status, lines, stderr) = child.finish_with_stderr();
        assert_eq!(status.code(), Some(143), "{status:?}: {lines:?}");
        assert_eq!(stderr.len(), 1, "one line says what happened: {stderr:?}");
        assert!(
            stderr[0]
                .starts_with("corun: signal: SIGTERM received while the run was shutting down"),
            "{stderr:?}"
        );
    }

    /// Waits until both workers of a `Workers` child printed "worker N ready".
    fn both_workers_ready(child: &mut Child) {
        child.wait_for_lines(|lines| {
            ["worker 0 ready", "worker 1 ready"]
                .iter()
                .all(|ready| lines.iter().any(|line| line == ready))
        });
    }

    fn one_sigint_cancels_every_workers_main_and_exits_130() {
        let mut child = Child::start(CHILD, "workers", &[]);
        both_workers_ready(&mut child);
        child.signal("INT");
        let (status, lines, mut stderr) = child.finish_with_stderr();
        assert_eq!(status.code(), Some(130), "{status:?}: {lines:?}");
        for worker in 0..2 {
            for what in ["main dropped", "task dropped"] {
                let line = format!("worker {worker} {what}");
                assert!(lines.contains(&line), "no {line:?} in {lines:?}");
            }
        }
        stderr.sort();
        assert_eq!(
            stderr,
            [0, 1].map(|worker| format!(
                "corun: signal: SIGINT received: worker {worker}'s main task was cancelled and the \
                 run ends as interrupted"
            )),
            "each worker's run says it once"
        );
    }

    fn workers_whose_mains_listen_return_their_values() {
        let mut child = Child::start(CHILD, "workers-listening", &["0", "1"]);
        both_workers_ready(&mut child);
        child.signal("TERM");
        let (status, lines) = child.finish();
        assert_eq!(status.code(), Some(0), "{status:?}: {lines:?}");
        assert!(
            lines.iter().any(|l| l == "try_run gave Ok([0, 1])"),
            "{lines:?}"
        );
    }

    fn workers_try_run_gives_interrupted_if_one_main_did_not_listen() {
        let mut child = Child::start(CHILD, "workers-listening", &["0"]);
        both_workers_ready(&mut child);
        child.signal("TERM");
        let (status, lines) = child.finish();
        assert_eq!(status.code(), Some(0), "{status:?}: {lines:?}");
        assert!(
            lines.iter().any(|l| l == "worker 0 cleaned up"),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l == "try_run gave Err(Interrupted)"),
            "{lines:?}"
        );
    }

    fn a_second_signal_exits_workers_at_once() {
        let mut child = Child::start(CHILD, "workers-slow-cleanup", &[]);
        both_workers_ready(&mut child);
        child.signal("INT");
        child.wait_for_lines(|lines| {
            lines
                .iter()
                .filter(|line| line.ends_with("cleaning up slowly"))
                .count()
                == 2
        });
        let start = Instant::now();
        child.signal("INT");
        let (status, lines) = child.finish();
        assert_eq!(status.code(), Some(130), "{status:?}: {lines:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(!lines.iter().any(|l| l.starts_with("run returned")));
    }

    fn a_workers_panic_under_the_attribute_exits_101_naming_the_worker() {
        let child = Child::start(CHILD, "workers-panic", &[]);
        let (status, lines, stderr) = child.finish_with_stderr();
        assert_eq!(status.code(), Some(101), "{status:?}: {lines:?} {stderr:?}");
        assert!(
            lines.contains(&"worker 0 cancelled".to_owned()),
            "worker 0's main was cancelled: {lines:?}"
        );
        assert!(
            stderr.contains(&"worker 1 panicked: worker 1 fails".to_owned()),
            "{stderr:?}"
        );
    }

    /// `#[corun::entry(workers = 2)]` whose worker 1 panics once worker 0 waits.
    #[corun::entry(workers = 2)]
    async fn worker_one_panics() {
        let index = corun::worker().unwrap().index();
        if index == 0 {
            let cancelled = corun::cancelled();
            WAITING.store(true, Ordering::SeqCst);
            cancelled.await;
            println!("worker 0 cancelled");
            return;
        }
        while !WAITING.load(Ordering::SeqCst) {
            corun::sleep(Duration::from_millis(1)).await;
        }
        panic!("worker 1 fails");
    }

    static WAITING: AtomicBool = AtomicBool::new(false);

    /// The harness itself: a child started while this process ignores SIGINT (as a background
    /// job of a non-interactive shell does) still gets the default disposition, so corun handles
    /// the signal there. Skipped where `env --default-signal` is missing and SIGINT is ignored.
    fn the_child_gets_the_default_disposition_even_if_the_parent_ignores_sigint() {
        let Some(mut command) = launcher_for(true) else {
            println!("(skipped: no `env --default-signal`) ");
            return;
        };
        command.env(CHILD, "report-disposition");
        let output = command.output().expect("the child runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(stdout.trim(), "SIGINT ignored: false", "{output:?}");
    }

    /// Prints a line when dropped, to show which destructors ran.
    struct Announce(&'static str);

    impl Drop for Announce {
        fn drop(&mut self) {
            println!("{}", self.0);
        }
    }

    /// Prints its line when dropped.
    struct Say(String);

    impl Drop for Say {
        fn drop(&mut self) {
            println!("{}", self.0);
        }
    }

    /// The child side: runs the named program on this process's main thread.
    fn child(program: &str) {
        match program {
            "example" => crate::ctrl_c::main(),
            "try-run" => {
                let outcome = corun::Config::new().try_run(async {
                    println!("ready");
                    corun::sleep(Duration::from_secs(3600)).await;
                });
                println!("try_run gave {outcome:?}");
            }
            "two-runs" => {
                for (run, ready) in [("first", "ready"), ("second", "second run ready")] {
                    let outcome = corun::Config::new().try_run(async {
                        println!("{ready}");
                        corun::sleep(Duration::from_secs(3600)).await;
                    });
                    println!("{run} try_run gave {outcome:?}");
                }
            }
            "after-run" => {
                corun::run(async { corun::yield_now().await });
                println!("ready");
                thread::sleep(PATIENCE);
                println!("still alive");
            }
            "own-handler" => {
                let seen = Arc::new(AtomicBool::new(false));
                signal_hook::flag::register(signal_hook::consts::SIGINT, seen.clone()).unwrap();
                let message = corun::run(async move {
                    println!("ready");
                    let start = Instant::now();
                    while !seen.load(Ordering::SeqCst) && start.elapsed() < PATIENCE {
                        corun::sleep(Duration::from_millis(5)).await;
                    }
                    "the process's own handler saw SIGINT"
                });
                println!("main returned: {message}");
            }
            "own-handler-after-forced-run" => {
                let seen = Arc::new(AtomicBool::new(false));
                signal_hook::flag::register(signal_hook::consts::SIGINT, seen.clone()).unwrap();
                corun::Config::new()
                    .handle_signals(true)
                    .run(async { corun::yield_now().await });
                println!("ready");
                let start = Instant::now();
                while !seen.load(Ordering::SeqCst) && start.elapsed() < PATIENCE {
                    thread::sleep(Duration::from_millis(5));
                }
                if seen.load(Ordering::SeqCst) {
                    println!("the process's own handler saw SIGINT after the run");
                }
            }
            "grace" => {
                let outcome = corun::Config::new()
                    .shutdown_grace(Duration::from_secs(300))
                    .try_run(async {
                        drop(corun::spawn(async {
                            let _announce = Announce("cleanup dropped");
                            corun::cancelled().await;
                            println!("cleaning up");
                            corun::sleep(Duration::from_secs(3600)).await;
                            println!("cleanup finished");
                        }));
                        corun::yield_now().await;
                    });
                println!("try_run gave {outcome:?}");
            }
            "thread-wait" => {
                corun::run(async {
                    drop(corun::spawn(corun::to_thread(|| {
                        println!("thread work started");
                        thread::sleep(Duration::from_secs(600));
                    })));
                });
                println!("main returned");
            }
            "respawning" => {
                /// Spawns another task holding another `Respawn` when dropped: a shutdown that
                /// never runs out of tasks.
                struct Respawn;
                impl Drop for Respawn {
                    fn drop(&mut self) {
                        static ANNOUNCED: AtomicBool = AtomicBool::new(false);
                        if !ANNOUNCED.swap(true, Ordering::SeqCst) {
                            println!("respawning");
                        }
                        let again = Respawn;
                        drop(corun::spawn(async move {
                            let _again = again;
                            std::future::pending::<()>().await;
                        }));
                    }
                }
                corun::run(async {
                    drop(corun::spawn(async {
                        let _respawn = Respawn;
                        std::future::pending::<()>().await;
                    }));
                });
                println!("main returned");
            }
            "workers" => {
                corun::Workers::new(2).run(|worker| async move {
                    let index = worker.index();
                    let _said = Say(format!("worker {index} main dropped"));
                    drop(corun::spawn(async move {
                        let _said = Say(format!("worker {index} task dropped"));
                        std::future::pending::<()>().await;
                    }));
                    println!("worker {index} ready");
                    std::future::pending::<()>().await;
                });
                println!("run returned");
            }
            "workers-listening" => {
                // The workers named in the arguments listen on `cancelled()` and return their
                // index; the others wait without listening.
                let listening: Vec<usize> = std::env::args()
                    .filter_map(|arg| arg.parse().ok())
                    .collect();
                let outcome = corun::Workers::new(2).try_run(move |worker| {
                    let listens = listening.contains(&worker.index());
                    async move {
                        let index = worker.index();
                        let cancelled = corun::cancelled();
                        println!("worker {index} ready");
                        if !listens {
                            std::future::pending::<()>().await;
                        }
                        cancelled.await;
                        corun::sleep(Duration::from_millis(10)).await; // cleanup that awaits
                        println!("worker {index} cleaned up");
                        index
                    }
                });
                println!("try_run gave {outcome:?}");
            }
            "workers-slow-cleanup" => {
                corun::Workers::new(2).run(|worker| async move {
                    let cancelled = corun::cancelled();
                    println!("worker {} ready", worker.index());
                    cancelled.await;
                    println!("worker {} cleaning up slowly", worker.index());
                    corun::sleep(Duration::from_secs(3600)).await;
                });
                println!("run returned");
            }
            "workers-panic" => worker_one_panics(),
            "report-disposition" => println!("SIGINT ignored: {}", signal_ignored(2)),
            other => panic!("unknown child program {other:?}"),
        }
    }

    /// Runs `program` in a child process, sends it `signal` once it is ready, and returns how it
    /// ended and what it printed.
    fn signalled_once(program: &str, args: &[&str], signal: &str) -> (ExitStatus, Vec<String>) {
        let mut child = Child::start(CHILD, program, args);
        child.wait_for("ready");
        child.signal(signal);
        child.finish()
    }
}
