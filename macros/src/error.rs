//! A compile error with a span range, turned into `::core::compile_error!` tokens.

use crate::tt::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// One message for the user, pointing at the tokens from `start` to `end`.
///
/// Stable proc macros cannot join two spans, so a range is kept as its two ends: the emitted
/// `compile_error!` invocation starts at `start` and ends at `end`, and rustc underlines
/// everything in between.
#[derive(Debug, Clone)]
pub(crate) struct Error {
    start: Span,
    end: Span,
    message: String,
}

impl Error {
    /// An error at a single span.
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Self {
        Self::spanning(span, span, message)
    }

    /// An error covering everything from `start` to `end`.
    pub(crate) fn spanning(start: Span, end: Span, message: impl Into<String>) -> Self {
        Self {
            start,
            end,
            message: message.into(),
        }
    }

    /// An error covering the tokens of `tokens` (or `fallback` when it is empty).
    pub(crate) fn covering(
        tokens: &[TokenTree],
        fallback: Span,
        message: impl Into<String>,
    ) -> Self {
        let start = tokens.first().map_or(fallback, TokenTree::span);
        let end = tokens.last().map_or(fallback, TokenTree::span);
        Self::spanning(start, end, message)
    }

    /// `::core::compile_error! { "message" }`, its first tokens at `start`, the braces at `end`.
    pub(crate) fn to_compile_error(&self) -> TokenStream {
        let punct = |ch, spacing| {
            let mut punct = Punct::new(ch, spacing);
            punct.set_span(self.start);
            TokenTree::Punct(punct)
        };
        let mut message = Literal::string(&self.message);
        message.set_span(self.end);
        let mut braces = Group::new(Delimiter::Brace, TokenTree::Literal(message).into());
        braces.set_span(self.end);
        TokenStream::from_iter([
            punct(':', Spacing::Joint),
            punct(':', Spacing::Alone),
            TokenTree::Ident(Ident::new("core", self.start)),
            punct(':', Spacing::Joint),
            punct(':', Spacing::Alone),
            TokenTree::Ident(Ident::new("compile_error", self.start)),
            punct('!', Spacing::Alone),
            TokenTree::Group(braces),
        ])
    }
}

/// Every error of `errors`, one `compile_error!` each.
pub(crate) fn to_compile_errors(errors: &[Error]) -> TokenStream {
    errors.iter().map(Error::to_compile_error).collect()
}
