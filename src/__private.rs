//! What the attribute expansions name. Not public API: may change in any release.
//!
//! `#[corun::entry]` (or `#[corun::main]`) and `#[corun::test]` expand to paths under
//! `::corun::__private` (or the `crate = …` path) and `::core` only, so a user's own `Config`,
//! `Option` or `Box` in scope cannot interfere.

pub use corun_runtime::{Config, Worker, Workers};

use corun_runtime::EventLoop;

/// Never called: `return output_type::<T>()` in a branch that never runs fixes an async
/// block's return type to `T` before its body is checked.
pub fn output_type<T>() -> T {
    unreachable!("corun::__private::output_type is never called")
}

/// The test attribute's entry: a run whose reports make the test fail. [`Config::run`], then a
/// failure of the test if the run reported an unretrieved task panic or a panic while
/// cancelling, listing those reports.
///
/// `#[corun::test]` expands to `run_test(config, async move { .. })`.
#[track_caller]
pub fn run_test<F: core::future::IntoFuture>(config: Config, fut: F) -> F::Output {
    corun_runtime::__private::run_test(config, fut)
}

/// `#[corun::test(workers = N)]`'s entry: [`Workers::run`], then a failure of the test if a
/// worker's run reported an unretrieved task panic or a panic while cancelling.
#[track_caller]
pub fn run_workers_test<F, Fut>(workers: Workers, main: F) -> Vec<Fut::Output>
where
    F: Fn(Worker) -> Fut + Send + Sync + 'static,
    Fut: core::future::Future + 'static,
    Fut::Output: Send + 'static,
{
    corun_runtime::__private::run_workers_test(workers, main)
}

/// What a function under `workers = N` may return: every worker returns one, and the function
/// returns one, so the N outputs must make one without losing anything. Implemented for `()`
/// and for `Result<(), E>` (the first `Err` in worker order is returned; the others' are printed
/// on stderr, each naming its worker, so that none is lost).
#[diagnostic::on_unimplemented(
    message = "with `workers`, the function must return `()` or `Result<(), E>`, not `{Self}`",
    label = "each worker returns one of these, and they cannot be made into one without losing some",
    note = "to get every worker's value, call `corun::Workers::new(n).run(|worker| async move {{ .. }})`, which gives them in a `Vec`; an `Err` must implement `Debug`"
)]
pub trait WorkersOutput: Sized {
    /// The one output of the N workers' (`outputs`, in worker order; never empty).
    fn merge(outputs: Vec<Self>) -> Self;
}

impl WorkersOutput for () {
    fn merge(_: Vec<()>) {}
}

impl<E: core::fmt::Debug> WorkersOutput for Result<(), E> {
    fn merge(outputs: Vec<Self>) -> Self {
        corun_runtime::__private::first_error(outputs)
    }
}

/// `T::merge(outputs)`, with the bound stated on the function: located at the declared return
/// type by the expansion, so a type that cannot be merged is reported there.
pub fn workers_output<T: WorkersOutput>(outputs: Vec<T>) -> T {
    T::merge(outputs)
}

/// A function or constructor that makes an event loop, called with `P`: what
/// `loop_factory = path` accepts when `P` is `()`.
///
/// Implemented for every `F: FnOnce(..) -> L + 'static` of up to three parameters, so that a
/// function with parameters is recognised as one (`P` is their tuple) and told by [`NoParameters`]
/// that a factory takes none, instead of rustc's "expected function that takes 0 arguments";
/// whether `L` is a loop is checked by [`LoopType`]. So each mistake gets its own message, at the
/// path.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a loop factory",
    label = "a loop factory is `fn() -> impl corun::EventLoop`: no parameters, returns a loop",
    note = "`loop_factory = path` takes a function or constructor `fn() -> L` where `L` implements `corun::EventLoop`, such as `corun::loops::VirtualTimeLoop::new`"
)]
pub trait LoopFactory<P, L>: 'static {
    /// Calls the factory with its parameters.
    fn call(self, parameters: P) -> L;
}

impl<F: FnOnce() -> L + 'static, L> LoopFactory<(), L> for F {
    fn call(self, (): ()) -> L {
        self()
    }
}

impl<F: FnOnce(A) -> L + 'static, A, L> LoopFactory<(A,), L> for F {
    fn call(self, (a,): (A,)) -> L {
        self(a)
    }
}

impl<F: FnOnce(A, B) -> L + 'static, A, B, L> LoopFactory<(A, B), L> for F {
    fn call(self, (a, b): (A, B)) -> L {
        self(a, b)
    }
}

impl<F: FnOnce(A, B, C) -> L + 'static, A, B, C, L> LoopFactory<(A, B, C), L> for F {
    fn call(self, (a, b, c): (A, B, C)) -> L {
        self(a, b, c)
    }
}

/// The parameters of a loop factory, which must be none: implemented for `()` only.
#[diagnostic::on_unimplemented(
    message = "a loop factory takes no parameters, and this one takes `{Self}`",
    label = "a loop factory is `fn() -> impl corun::EventLoop`: write a function without parameters that makes the loop",
    note = "`loop_factory = path` takes a function or constructor `fn() -> L` where `L` implements `corun::EventLoop`, such as `corun::loops::VirtualTimeLoop::new`"
)]
pub trait NoParameters {
    /// The parameters: `()`.
    fn none() -> Self;
}

impl NoParameters for () {
    fn none() -> Self {}
}

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
/// The bounds sit on this function (not on a blanket impl) because rustc then reports the
/// failing bound itself, with its `on_unimplemented` message, instead of the inner
/// `L: EventLoop`; and the result is a plain [`Config`], so nothing after the call can fail a
/// second time. The expansion gives this call the path's span.
pub fn loop_factory<F, P, L>(config: Config, factory: F) -> Config
where
    F: LoopFactory<P, L>,
    P: NoParameters,
    L: LoopType,
{
    config.loop_factory(move || factory.call(P::none()))
}

/// [`loop_factory`] for a path that looks like a type (`UpperCamelCase` last segment): a slip for
/// its constructor as often as not (`corun::loops::VirtualTimeLoop` for `..::new`).
///
/// The expansion reads such a path through a `use`, as
/// `{ use type_given::*; use path as __corun_loop_factory; __corun_loop_factory }`: a function,
/// constructor or unit struct named `path` shadows the glob's stand-in, and only a type with
/// no value of that name (a struct with fields) leaves the stand-in visible. So the type does
/// not stop the build at name resolution ("expected value, found struct") but fails
/// [`NotAType`], whose message says to name the constructor; a constructor passes it.
pub fn type_like_loop_factory<F, P, L>(config: Config, factory: F) -> Config
where
    F: NotAType<P, L>,
    P: NoParameters,
    L: LoopType,
{
    loop_factory(config, factory)
}

/// [`LoopFactory`], with the message for a path that names a type.
#[diagnostic::on_unimplemented(
    message = "`loop_factory` names a type, not the function that makes the loop",
    label = "name the function that makes the loop, such as the type's constructor `::new`",
    note = "`loop_factory = path` takes a function or constructor `fn() -> L` where `L` implements `corun::EventLoop`, such as `corun::loops::VirtualTimeLoop::new`"
)]
pub trait NotAType<P, L>: LoopFactory<P, L> {}

impl<F: LoopFactory<P, L>, P, L> NotAType<P, L> for F {}

/// The stand-in that a type-like `loop_factory = path` resolves to when `path` has no value
/// (see [`type_like_loop_factory`]).
pub mod type_given {
    /// Stands for a type named where its constructor was expected; not a function.
    #[allow(non_upper_case_globals)]
    pub const __corun_loop_factory: super::TypeGiven = super::TypeGiven;
}

/// The type of [`type_given::__corun_loop_factory`]: not callable, so it fails [`NotAType`].
pub struct TypeGiven;
