// Every piece a `macro_rules!` macro can pass to the attribute reaches it in an invisible
// group: attributes (`$(#[$attr:meta])*`), a visibility (`$vis:vis`, also empty), the body
// (`$body:block`), `loop_factory = $factory:path` and `debug = $debug:expr` with a literal
// bool. Each is read as if written in place.
#![deny(warnings)]

macro_rules! entry_point {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident() -> $output:ty $body:block
        loop_factory = $factory:path, debug = $debug:expr
    ) => {
        $(#[$attr])*
        #[corun::entry(loop_factory = $factory, debug = $debug)]
        $vis async fn $name() -> $output $body
    };
}

macro_rules! test_point {
    ($(#[$attr:meta])* $vis:vis fn $name:ident() $body:block) => {
        $(#[$attr])*
        #[corun::test(debug = true)]
        $vis async fn $name() $body
    };
}

entry_point! {
    /// Documented through `$attr`.
    #[must_use]
    fn virtual_hour() -> std::time::Duration {
        let start = corun::now();
        corun::sleep(std::time::Duration::from_secs(3600)).await;
        corun::now() - start
    }
    loop_factory = corun::loops::VirtualTimeLoop::new, debug = true
}

mod server {
    entry_point! {
        pub(crate) fn debug_is_off() -> bool {
            let off = !corun::is_debug();
            off
        }
        loop_factory = corun::loops::DefaultLoop::new, debug = false
    }
}

entry_point! {
    fn debug_is_on() -> bool { corun::is_debug() }
    loop_factory = corun::loops::DefaultLoop::new, debug = true
}

test_point! {
    #[allow(unused_variables)]
    fn a_test_through_a_macro() {
        let unused = 1;
    }
}

fn main() {
    assert_eq!(virtual_hour(), std::time::Duration::from_secs(3600));
    assert!(server::debug_is_off());
    assert!(debug_is_on());
}
