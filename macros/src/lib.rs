//! The `#[corun::entry]` and `#[corun::test]` attributes. Use them through the `corun` crate.
//!
//! The expansion is a pipeline of small steps over token trees: `parse` splits the
//! options and the signature, `validate` decides what they mean, `expand` writes the plain `fn`,
//! and `fallback` writes a compiling stand-in next to the errors when the signature is rejected.
//! The body is never parsed: it travels as tokens. Neither syn nor quote is used (fixed code is
//! lexed from text, see `tokens`), which keeps the build of a `corun` program cheap.
#![forbid(unsafe_code)]

// The token types. The macro uses the compiler's own (`proc_macro`), so a `corun` build
// compiles no token library at all; unit tests, which run outside the compiler, use
// proc-macro2's, which have the same API. The pipeline is the same source either way: a plain
// function of token streams (`expand::attribute`).
#[cfg(not(test))]
extern crate proc_macro as tt;
#[cfg(test)]
extern crate proc_macro2 as tt;

mod error;
mod expand;
mod fallback;
mod parse;
mod tokens;
mod validate;

#[cfg(test)]
mod tests;

#[cfg(not(test))]
use proc_macro::TokenStream;

#[cfg(not(test))]
use crate::validate::Kind;

/// Runs an `async fn` to completion on a fresh event loop: Rust's `asyncio.run`.
///
/// The function is rewritten into a plain `fn` with the same name, visibility, attributes, doc
/// comments and return type, whose body hands `async move { <body> }` to
/// [`Config::run`](../corun/struct.Config.html#method.run). The main task is named after the
/// function. `?`, `-> Result<..>`, `-> impl Trait` and `-> !` work as in any function.
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
/// variable decides (unset, `""`, `"0"`, `"false"`, `"no"` or `"off"`, in any case, mean off).
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
/// A path whose type is not such a factory is rejected at compile time, at the path.
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
/// an option value of the wrong kind.
///
/// ```compile_fail
/// #[corun::entry]
/// fn main() {}
/// ```
#[cfg(not(test))]
#[proc_macro_attribute]
pub fn entry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Entry, args, item)
}

/// Runs an `async fn` test to completion on a fresh event loop.
///
/// Takes the same options as [`macro@entry`] and rewrites the function the same way, then marks
/// it `#[test]` (after the function's own attributes, so `#[should_panic]` and `#[ignore]`
/// work). A test may return `Result`. The main task is named after the test.
///
/// ```
/// #[corun::test]
/// async fn spawned_tasks_return_their_value() {
///     assert_eq!(corun::spawn(async { 42 }).await, 42);
/// }
/// ```
///
/// is, without the macro (doctests do not run `#[test]` functions, so this one is only
/// compiled):
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
#[cfg(not(test))]
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Test, args, item)
}
