//! Feature `tracing`: without an exception handler, reports become `tracing` events when a
//! subscriber is set. Run with `cargo test -p corun-runtime --features tracing --test debug_tracing`.
#![cfg(feature = "tracing")]

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corun_runtime::{spawn_named, Config};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event as recorded: its level, target and fields as `name=value` strings.
#[derive(Debug, Default)]
struct Recorded {
    level: Option<Level>,
    target: String,
    fields: Vec<(String, String)>,
}

impl Recorded {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

impl Visit for Recorded {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.fields
            .push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields
            .push((field.name().to_owned(), value.to_owned()));
    }
}

/// A subscriber that keeps every event and ignores spans.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Recorded>>>);

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut recorded = Recorded {
            level: Some(*event.metadata().level()),
            target: event.metadata().target().to_owned(),
            ..Recorded::default()
        };
        event.record(&mut recorded);
        self.0.lock().unwrap().push(recorded);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
#[cfg_attr(panic = "abort", ignore = "relies on unwinding")]
fn reports_become_tracing_events_with_their_fields() {
    let collect = Collect::default();
    let events = collect.0.clone();
    tracing::subscriber::with_default(collect, || {
        Config::new()
            .debug(true)
            .slow_poll_threshold(Duration::from_millis(1))
            .run(async {
                spawn_named("blocker", async {
                    std::thread::sleep(Duration::from_millis(20));
                })
                .await;
                drop(spawn_named("doomed", async { panic!("lost") }));
                corun_runtime::yield_now().await;
            });
    });
    let events = events.lock().unwrap();
    // Other polls may be slow too (a panic hook printing a backtrace, a spawn capturing one
    // behind the process-wide lock that printing holds): find events by task and kind.
    let find = |task, kind| {
        let mut matching = events
            .iter()
            .filter(|event| event.field("task") == Some(task));
        matching.find(|event| event.field("kind") == Some(kind))
    };

    let slow = find("blocker", "slow poll").expect("the slow poll is an event");
    assert_eq!(slow.level, Some(Level::WARN));
    assert_eq!(slow.target, "corun");
    assert!(slow.field("spawned_at").unwrap().starts_with(file!()));
    assert!(slow.field("elapsed").is_some());
    assert!(slow
        .field("message")
        .unwrap()
        .contains("slow-poll threshold"));

    let panic = find("doomed", "unretrieved panic").expect("the unretrieved panic is an event");
    assert_eq!(panic.level, Some(Level::ERROR));
    assert!(panic.field("elapsed").is_none());
    assert!(panic.field("spawn_backtrace").is_some());
    assert!(panic.field("message").unwrap().contains("lost"));
}

#[test]
#[cfg_attr(panic = "abort", ignore = "relies on unwinding")]
fn a_custom_exception_handler_still_gets_the_reports() {
    let collect = Collect::default();
    let events = collect.0.clone();
    let handled = Arc::new(Mutex::new(0));
    let count = handled.clone();
    tracing::subscriber::with_default(collect, || {
        Config::new()
            .exception_handler(move |_| *count.lock().unwrap() += 1)
            .run(async {
                drop(spawn_named("doomed", async { panic!("lost") }));
                corun_runtime::yield_now().await;
            });
    });
    assert_eq!(*handled.lock().unwrap(), 1);
    assert!(events.lock().unwrap().is_empty());
}
