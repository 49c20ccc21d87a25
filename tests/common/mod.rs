//! Counters and sinks shared by the integration tests.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use corun::{Config, Report, ReportKind};

/// Counts how often the values made from it were dropped.
#[derive(Clone, Default)]
pub struct Drops(Rc<Cell<usize>>);

impl Drops {
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
    pub fn count(&self) -> usize {
        self.0.get()
    }
}

pub struct DropToken(Rc<Cell<usize>>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Wraps a future, counting its polls.
pub struct Counted<F> {
    pub future: Pin<Box<F>>,
    pub polls: Rc<Cell<usize>>,
}

pub fn counted<F: Future>(future: F) -> (Counted<F>, Rc<Cell<usize>>) {
    let polls = Rc::new(Cell::new(0));
    (
        Counted {
            future: Box::pin(future),
            polls: polls.clone(),
        },
        polls,
    )
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.future.as_mut().poll(cx)
    }
}

/// Collects every report a run hands to its exception handler.
#[derive(Clone, Default)]
pub struct Reports(Rc<RefCell<Vec<Report>>>);

impl Reports {
    /// A config whose exception handler records into this sink.
    pub fn config(&self) -> Config {
        let sink = self.0.clone();
        Config::new().exception_handler(move |report| sink.borrow_mut().push(report.clone()))
    }
    pub fn all(&self) -> Vec<Report> {
        self.0.borrow().clone()
    }
    pub fn of_kind(&self, kind: ReportKind) -> Vec<Report> {
        self.0
            .borrow()
            .iter()
            .filter(|report| report.kind() == kind)
            .cloned()
            .collect()
    }
}

/// A config on the virtual-time loop.
pub fn virtual_time() -> Config {
    Config::new().loop_factory(corun::loops::VirtualTimeLoop::new)
}

/// Silences the default panic hook's output for panics the test provokes on purpose, keeping
/// the hook for everything else.
pub fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !message.contains("[expected]") {
                default(info);
            }
        }));
    });
}

/// Runs a closure when dropped: a destructor with side effects, placed in a task's future.
pub struct OnDrop<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Runs the test named `test_name` again in a child process with `child_env` set, and asserts
/// that it passed there: for scenarios that may abort the process or need a fresh one. Returns
/// `false` in the child (the caller then runs the scenario itself), `true` in the parent.
pub fn ran_in_child_process(test_name: &str, child_env: &str) -> bool {
    if std::env::var_os(child_env).is_some() {
        return false;
    }
    let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(child_env, "1")
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child process failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the child process ran the scenario:\n{stdout}"
    );
    true
}
