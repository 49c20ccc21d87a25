//! `run` inside a running loop panics at the caller's line (`#[track_caller]`), not inside
//! corun. In its own test binary because it installs a panic hook.

use std::panic::{self, catch_unwind};
use std::sync::{Arc, Mutex};

#[test]
fn nested_run_panic_points_at_the_callers_line() {
    let seen = Arc::new(Mutex::new(None));
    let sink = seen.clone();
    panic::set_hook(Box::new(move |info| {
        let location = info.location().map(|l| (l.file().to_owned(), l.line()));
        *sink.lock().unwrap() = location;
    }));
    let nested = || {
        let line = line!();
        (line, catch_unwind(|| corun::run(async {})).is_err())
    };
    let (expected_line, caught) = corun::run(async move { nested() });
    let _ = panic::take_hook();
    assert!(caught);
    let (file, line) = seen
        .lock()
        .unwrap()
        .clone()
        .expect("the panic had a location");
    assert!(file.ends_with("nested_run_location.rs"), "{file}");
    assert_eq!(
        line,
        expected_line + 1,
        "the line of the nested corun::run call"
    );
}
