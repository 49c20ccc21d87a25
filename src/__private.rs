//! What the attribute expansions name. Not public API: may change in any release.
//!
//! `#[corun::entry]` and `#[corun::test]` expand to paths under `::corun::__private` (or the
//! `crate = …` path) only, so a user's own `Config`, `Option` or `Box` in scope cannot
//! interfere.

pub use corun_runtime::Config;

use corun_runtime::EventLoop;

/// What `#[corun::test]` runs: [`Config::run`], then a failure of the test if the run reported
/// an unretrieved task panic or a panic while cancelling, listing those reports.
#[track_caller]
pub fn run_test<F: core::future::IntoFuture>(config: Config, fut: F) -> F::Output {
    corun_runtime::__private::run_test(config, fut)
}

/// Never called: `return output_type::<T>()` in a branch that never runs fixes an async
/// block's return type to `T` before its body is checked.
pub fn output_type<T>() -> T {
    unreachable!("corun::__private::output_type is never called")
}

/// A function or constructor that makes an event loop: what `loop_factory = path` accepts.
///
/// Only a bound, implemented for every `F: FnOnce() -> L + 'static`; whether `L` is a loop is
/// checked by [`LoopType`], so that each mistake gets its own message, at the path.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a loop factory",
    label = "expected a function that returns a `corun::EventLoop`",
    note = "`loop_factory = path` takes a function or constructor `fn() -> L` where `L` implements `corun::EventLoop`, such as `corun::loops::VirtualTimeLoop::new`"
)]
pub trait LoopFactory<L>: FnOnce() -> L + 'static {}

impl<F: FnOnce() -> L + 'static, L> LoopFactory<L> for F {}

/// The type a loop factory returns, which must be an [`EventLoop`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event loop",
    label = "this returns `{Self}`, which does not implement `corun::EventLoop`",
    note = "`loop_factory = path` takes a function or constructor `fn() -> L` where `L` implements `corun::EventLoop`, such as `corun::loops::VirtualTimeLoop::new`"
)]
pub trait LoopType: EventLoop + 'static {}

impl<L: EventLoop + 'static> LoopType for L {}

/// `config.loop_factory(factory)`, with the bounds stated so that a wrong `loop_factory = path`
/// gives exactly one error, at the path, in corun's words.
///
/// The two bounds sit on this function (not on a blanket impl) because rustc then reports the
/// failing bound itself, with its `on_unimplemented` message, instead of the inner
/// `L: EventLoop`; and the result is a plain [`Config`], so nothing after the call can fail a
/// second time. The expansion gives this call the path's span.
pub fn loop_factory<F, L>(config: Config, factory: F) -> Config
where
    F: LoopFactory<L>,
    L: LoopType,
{
    config.loop_factory(factory)
}
