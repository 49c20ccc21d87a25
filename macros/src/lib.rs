//! The `#[corun::entry]` (also named `#[corun::main]`) and `#[corun::test]` attributes. Use
//! them through the `corun` crate.
//!
//! Built on syn, quote and proc-macro2, as a pipeline of one file per step: `parse` reads the
//! options and the signature with syn (the body stays tokens, never parsed), `validate` decides
//! what they mean, `expand` writes the plain `fn` with `quote_spanned!` at the user's spans, and
//! `fallback` writes a compiling stand-in next to the errors when the signature is rejected.
//! Errors are `syn::Error`s, combined so that every mistake of one attribute is reported at
//! once. This file only hands the compiler's tokens to `expand::attribute`, a plain function of
//! proc-macro2 token streams that the unit tests and the fuzz target call directly.
#![forbid(unsafe_code)]

mod expand;
mod fallback;
mod parse;
mod validate;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

use crate::validate::Kind;

/// Runs an `async fn` to completion on a fresh event loop: Rust's `asyncio.run`.
///
/// The function is rewritten into a plain `fn` with the same name, visibility, attributes, doc
/// comments and return type, whose body hands `async move { <body> }` to
/// [`Config::run`](../corun/struct.Config.html#method.run). The main task is named after the
/// function. `?`, `-> Result<..>`, `-> impl Trait` and `-> !` work as in any function, and so
/// do inner attributes and `//!` comments at the start of the body (they go on the rewritten
/// `fn`) and every piece a `macro_rules!` macro passes in (`$vis`, `$body:block`, `$(#[$attr])*`,
/// `loop_factory = $path`, `debug = $expr` with a literal bool, `workers = $expr`).
///
/// ```
/// #[corun::entry]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let answer: u32 = "42".parse()?;
///     assert_eq!(corun::spawn(async move { answer }).await, 42);
///     Ok(())
/// }
/// # fn _call() { main().unwrap() }
/// ```
///
/// is, without the macro:
///
/// ```
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     corun::Config::new().main_name("main").run(async move {
///         let answer: u32 = "42".parse()?;
///         assert_eq!(corun::spawn(async move { answer }).await, 42);
///         Ok(())
///     })
/// }
/// # fn _call() { main().unwrap() }
/// ```
///
/// It works on any `async fn` without parameters, not only `main`:
///
/// ```
/// #[corun::entry]
/// pub async fn answer() -> u32 {
///     corun::spawn(async { 42 }).await
/// }
///
/// assert_eq!(answer(), 42);
/// ```
///
/// # Options
///
/// Options are written in parentheses, separated by commas, in any order, each at most once.
///
/// ## `debug`, `debug = true`, `debug = false`
///
/// Turns the loop's debug mode on or off. Without the option, the `CORUN_DEBUG` environment
/// variable decides (unset, `""`, `"0"`, `"false"`, `"no"` or `"off"`, in any case, mean off;
/// read once per process, by the first run).
///
/// ```
/// #[corun::entry(debug)]
/// async fn main() {
///     assert!(corun::is_debug());
/// }
/// # fn _call() { main() }
/// ```
///
/// is, without the macro:
///
/// ```
/// fn main() {
///     corun::Config::new().debug(true).main_name("main").run(async move {
///         assert!(corun::is_debug());
///     })
/// }
/// # fn _call() { main() }
/// ```
///
/// ## `loop_factory = path`
///
/// Runs on the loop returned by `path()`, any function or constructor `fn() -> L` where `L`
/// implements `corun::EventLoop`. Without the option the default loop is used.
///
/// ```
/// use std::time::Duration;
///
/// #[corun::entry(loop_factory = corun::loops::VirtualTimeLoop::new)]
/// async fn main() {
///     corun::sleep(Duration::from_secs(3600)).await; // returns at once: virtual time
/// }
/// # fn _call() { main() }
/// ```
///
/// is, without the macro:
///
/// ```
/// use std::time::Duration;
///
/// fn main() {
///     corun::Config::new()
///         .loop_factory(corun::loops::VirtualTimeLoop::new)
///         .main_name("main")
///         .run(async move {
///             corun::sleep(Duration::from_secs(3600)).await;
///         })
/// }
/// # fn _call() { main() }
/// ```
///
/// A path whose type is not such a factory is rejected at compile time, at the path: one that
/// names a loop type instead of its constructor (`loop_factory = corun::loops::VirtualTimeLoop`)
/// is told to name the constructor (`::new`), and a function with parameters that a factory is
/// `fn() -> impl corun::EventLoop`. A path whose last segment is `UpperCamelCase` is read through
/// a `use` for that check, so it must be one a `use` can name (not an associated item).
///
/// ## `workers = N`
///
/// Runs the function on `N` workers at once, each a whole run of its own on a thread of its own
/// ([`corun::Workers`](../corun/struct.Workers.html)): the way `uvicorn --workers N` and
/// actix-web use every core. `N` is any expression of type `usize` (a literal, a const, a call);
/// `workers = 0` means one per core. The other options apply to every worker's run: each worker
/// makes its own loop with `loop_factory`. [`corun::worker()`](../corun/fn.worker.html) tells the
/// body which worker it runs in. One Ctrl-C stops every worker; a worker that panics cancels the
/// others and its panic is resumed naming it (`"worker 1 panicked: .."`).
///
/// Every worker returns a value and the function returns one, so the function must return `()`
/// or `Result<(), E>` with `E: Debug`, which lose nothing when made into one: the first `Err` in
/// worker order is returned, and the other workers' `Err`s are printed on stderr, each naming its
/// worker. Any other return type is a compile error at the type; to get every worker's value, call
/// `corun::Workers` yourself, which gives them in a `Vec`.
///
/// ```
/// #[corun::entry(workers = 2)]
/// async fn main() {
///     let worker = corun::worker().unwrap();
///     println!("worker {} of {}", worker.index(), worker.count());
/// }
/// # fn _call() { main() }
/// ```
///
/// is, without the macro (with the hidden helper the expansion uses to make the workers'
/// outputs one):
///
/// ```
/// fn main() {
///     let outputs = corun::Workers::new(2)
///         .config(move || corun::Config::new().main_name("main"))
///         .run(|_: corun::Worker| async move {
///             let worker = corun::worker().unwrap();
///             println!("worker {} of {}", worker.index(), worker.count());
///         });
///     let () = outputs.into_iter().collect();
/// }
/// # fn _call() { main() }
/// ```
///
/// A value that is plainly not a number of threads (`workers = "4"`, `workers = -1`,
/// `workers = 2.5`, `workers = true`, `workers = 4u8`) is rejected at the value.
///
/// ## `crate = path`
///
/// Names the `corun` crate by another path, for a renamed dependency or a re-export. The
/// expansion then refers to `path::…` instead of `::corun::…`.
///
/// ```
/// extern crate corun as engine;
///
/// #[engine::entry(crate = engine)]
/// async fn main() {}
/// # fn _call() { main() }
/// ```
///
/// is, without the macro:
///
/// ```
/// extern crate corun as engine;
///
/// fn main() {
///     engine::Config::new().main_name("main").run(async move {})
/// }
/// # fn _call() { main() }
/// ```
///
/// # Errors
///
/// Rejected at compile time, each with one error at the offending token that says what to write
/// instead: a function that is not `async` (asyncio's "a coroutine was expected"), parameters,
/// `self`, generics, `const`, an item that is not a function, an unknown or repeated option and
/// an option value of the wrong kind. Every mistake of one attribute is reported at once, and a
/// compiling stand-in of the function is emitted beside the errors, so no second error (such as
/// "`main` function not found") follows and the IDE keeps working.
///
/// ```compile_fail
/// #[corun::entry]
/// fn main() {}
/// ```
#[proc_macro_attribute]
pub fn entry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Entry, args.into(), item.into()).into()
}

/// Another name for [`macro@entry`], for hands used to `#[tokio::main]`: the same options, the
/// same rewrite, the same errors (which name `#[corun::main]`).
///
/// ```
/// #[corun::main]
/// async fn main() {
///     assert_eq!(corun::spawn(async { 42 }).await, 42);
/// }
/// # fn _call() { main() }
/// ```
///
/// is, without the macro:
///
/// ```
/// fn main() {
///     corun::Config::new().main_name("main").run(async move {
///         assert_eq!(corun::spawn(async { 42 }).await, 42);
///     })
/// }
/// # fn _call() { main() }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test to completion on a fresh event loop.
///
/// Takes the same options as [`macro@entry`] and rewrites the function the same way, then marks
/// it `#[test]` (after the function's own attributes, so `#[should_panic]` and `#[ignore]`
/// work). A test may return `Result`. The main task is named after the test.
///
/// A test passes only if nothing went wrong anywhere in it, not just in its own future: when the
/// run reported a task panic that nobody retrieved, or a panic while a task was being cancelled,
/// the test fails after the run, its message listing those reports (pytest's
/// unraisable-exception check).
///
/// ```
/// #[corun::test]
/// #[should_panic(expected = "reported 1 failure(s) outside the test's own future")]
/// async fn a_lost_task_panic_fails_the_test() {
///     drop(corun::spawn(async { panic!("nobody awaits this task") }));
///     corun::yield_now().await;
/// }
/// ```
///
/// ```
/// #[corun::test]
/// async fn spawned_tasks_return_their_value() {
///     assert_eq!(corun::spawn(async { 42 }).await, 42);
/// }
/// ```
///
/// is, without the macro (doctests do not run `#[test]` functions, so this one is only
/// compiled; the expansion hands the run to a hidden entry of the `corun` crate for tests, which
/// does what `Config::run` does and then the check above):
///
/// ```no_run
/// #[test]
/// fn spawned_tasks_return_their_value() {
///     corun::Config::new()
///         .main_name("spawned_tasks_return_their_value")
///         .run(async move {
///             assert_eq!(corun::spawn(async { 42 }).await, 42);
///         })
/// }
/// ```
///
/// With options, as for [`macro@entry`]:
///
/// ```
/// use std::time::Duration;
///
/// #[corun::test(debug, loop_factory = corun::loops::VirtualTimeLoop::new)]
/// async fn an_hour_passes_at_once() {
///     corun::sleep(Duration::from_secs(3600)).await;
/// }
/// ```
///
/// # Errors
///
/// The same as [`macro@entry`], and a second test attribute (`#[test]`, `#[tokio::test]`) on the
/// function: `#[corun::test]` adds `#[test]` itself.
///
/// ```compile_fail
/// #[corun::test]
/// #[test]
/// async fn twice() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Test, args.into(), item.into()).into()
}
