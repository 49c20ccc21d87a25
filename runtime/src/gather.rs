//! `gather!` and `try_gather!`: run a fixed set of futures concurrently in one task.
//!
//! Each future lives in a pinned `Option<F>` next to an `Option` for its output: the future is
//! polled through `Option::as_pin_mut` and dropped with `Pin::set` as soon as it completes, so no
//! pin projection (and no unsafe) is needed. `gather_all`, for any number of futures, is in
//! `gather_all.rs`.
//!
//! Layer 4 (beside tasks): imports nothing of the crate; the macros expand to `__private` paths.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as PollContext, Poll};

/// Polls all the futures concurrently; `.await` gives their outputs as a tuple, in order
/// (asyncio's `gather`).
///
/// The expressions are evaluated at once; the futures run when the gather is polled. A panic in
/// any of them propagates at once: the gather's other futures are dropped, while [`Task`]s given
/// to it keep running (dropping a `Task` detaches it), as in asyncio.
///
/// With no futures, `gather!()` is a future of `()` (asyncio's `gather()` gives `[]`), so a
/// macro that forwards a list of futures to it works for an empty list too.
///
/// [`Task`]: crate::Task
///
/// # Examples
///
/// ```
/// use corun_runtime::gather;
///
/// corun_runtime::run(async {
///     let (a, b, c) = gather!(async { 1 }, async { "two" }, corun_runtime::spawn(async { 3.0 })).await;
///     assert_eq!((a, b, c), (1, "two", 3.0));
///     let () = gather!().await;
/// });
/// ```
#[macro_export]
macro_rules! gather {
    () => {
        async {}
    };
    ($($future:expr),+ $(,)?) => {
        $crate::__gather!(all [] $($future,)+)
    };
}

/// Like [`gather!`] for futures of `Result`s with one error type: `.await` gives
/// `Ok((A, B, …))` when all succeed, or the first `Err` as soon as it comes (the other futures
/// are dropped then).
///
/// # Examples
///
/// ```
/// use corun_runtime::try_gather;
///
/// corun_runtime::run(async {
///     let ok = try_gather!(async { Ok::<_, String>(1) }, async { Ok(2) }).await;
///     assert_eq!(ok, Ok((1, 2)));
///     let failed = try_gather!(async { Ok::<u8, &str>(1) }, async { Err::<u8, _>("no") }).await;
///     assert_eq!(failed, Err("no"));
/// });
/// ```
#[macro_export]
macro_rules! try_gather {
    ($($future:expr),+ $(,)?) => {
        $crate::__gather!(ok [] $($future,)+)
    };
}

/// What `gather!` and `try_gather!` expand to. The binding rule evaluates each expression into
/// its own `let` (the identifiers of each recursion are distinct to the compiler, though all are
/// spelled `gathered`); the last rule, `all` or `ok`, pins them in the async block and polls them.
#[doc(hidden)]
#[macro_export]
macro_rules! __gather {
    (all [$($bound:ident)*]) => {
        async move {
            $( let mut $bound = (
                ::core::pin::pin!(::core::option::Option::Some($bound)),
                ::core::option::Option::None,
            ); )*
            ::core::future::poll_fn(|cx| {
                let mut done = true;
                $( done &= $crate::__private::poll_slot($bound.0.as_mut(), &mut $bound.1, cx); )*
                if done {
                    ::core::task::Poll::Ready((
                        $( $crate::__private::take_output(&mut $bound.1), )*
                    ))
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await
        }
    };
    (ok [$($bound:ident)*]) => {
        async move {
            $( let mut $bound = (
                ::core::pin::pin!(::core::option::Option::Some($bound)),
                ::core::option::Option::None,
            ); )*
            ::core::future::poll_fn(|cx| {
                let mut done = true;
                $(
                    match $crate::__private::poll_ok_slot($bound.0.as_mut(), &mut $bound.1, cx) {
                        ::core::result::Result::Ok(ready) => done &= ready,
                        ::core::result::Result::Err(error) => {
                            return ::core::task::Poll::Ready(::core::result::Result::Err(error));
                        }
                    }
                )*
                if done {
                    ::core::task::Poll::Ready(::core::result::Result::Ok((
                        $( $crate::__private::take_output(&mut $bound.1), )*
                    )))
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await
        }
    };
    ($mode:ident [$($bound:ident)*] $head:expr, $($rest:expr,)*) => {{
        let gathered = ::core::future::IntoFuture::into_future($head);
        $crate::__gather!($mode [$($bound)* gathered] $($rest,)*)
    }};
}

/// Polls a gathered future if it still runs; returns whether its output is in.
#[doc(hidden)]
pub fn poll_slot<F: Future>(
    mut future: Pin<&mut Option<F>>,
    output: &mut Option<F::Output>,
    cx: &mut PollContext<'_>,
) -> bool {
    if output.is_some() {
        return true;
    }
    let Some(running) = future.as_mut().as_pin_mut() else {
        return false;
    };
    match running.poll(cx) {
        Poll::Ready(value) => {
            *output = Some(value);
            future.set(None);
            true
        }
        Poll::Pending => false,
    }
}

/// Like [`poll_slot`] for a future of a `Result`: an `Err` comes back at once, an `Ok` is kept.
#[doc(hidden)]
pub fn poll_ok_slot<T, E, F: Future<Output = Result<T, E>>>(
    future: Pin<&mut Option<F>>,
    output: &mut Option<T>,
    cx: &mut PollContext<'_>,
) -> Result<bool, E> {
    if output.is_some() {
        return Ok(true);
    }
    let mut result = None;
    if !poll_slot(future, &mut result, cx) {
        return Ok(false);
    }
    match result {
        Some(Ok(value)) => {
            *output = Some(value);
            Ok(true)
        }
        Some(Err(error)) => Err(error),
        None => Ok(false),
    }
}

/// Takes a gathered output, once every future is done.
#[doc(hidden)]
pub fn take_output<T>(output: &mut Option<T>) -> T {
    output.take().expect("a gathered output is taken once")
}
