//! A compile error with a span range, turned into `::core::compile_error!` tokens.
//!
//! Each error is appended as those tokens to the expansion, ahead of the item, as soon as it is
//! decided: there is no list of `Error` values to keep.

use crate::tt::{Delimiter, Ident, Literal, Punct, Spacing, Span, TokenTree};

use crate::tokens::{group_of_one, Tokens};

/// One message for the user, pointing at the tokens from `start` to `end`.
///
/// Stable proc macros cannot join two spans, so a range is kept as its two ends: the emitted
/// `compile_error!` invocation starts at `start` and ends at `end`, and rustc underlines
/// everything in between.
pub(crate) struct Error {
    start: Span,
    end: Span,
    message: String,
}

impl Error {
    /// An error at a single span.
    pub(crate) fn new(span: Span, message: String) -> Self {
        Self::spanning(span, span, message)
    }

    /// An error covering everything from `start` to `end`.
    pub(crate) fn spanning(start: Span, end: Span, message: String) -> Self {
        Self {
            start,
            end,
            message,
        }
    }

    /// An error covering the tokens of `tokens` (or `fallback` when it is empty).
    pub(crate) fn covering(tokens: &[TokenTree], fallback: Span, message: String) -> Self {
        let start = crate::tokens::first_span(tokens, fallback);
        let end = crate::tokens::last_span(tokens, fallback);
        Self::spanning(start, end, message)
    }

    /// Appends `::core::compile_error! { "message" }`, its first tokens at `start`, the braces
    /// at `end`.
    pub(crate) fn push_to(self, tokens: &mut Tokens) {
        push_punct(tokens, ':', Spacing::Joint, self.start);
        push_punct(tokens, ':', Spacing::Alone, self.start);
        tokens.push(TokenTree::Ident(Ident::new("core", self.start)));
        push_punct(tokens, ':', Spacing::Joint, self.start);
        push_punct(tokens, ':', Spacing::Alone, self.start);
        tokens.push(TokenTree::Ident(Ident::new("compile_error", self.start)));
        push_punct(tokens, '!', Spacing::Alone, self.start);
        let mut message = Literal::string(&self.message);
        message.set_span(self.end);
        let message = TokenTree::Literal(message);
        tokens.push(group_of_one(Delimiter::Brace, message, self.end));
    }
}

fn push_punct(tokens: &mut Tokens, ch: char, spacing: Spacing, span: Span) {
    let mut punct = Punct::new(ch, spacing);
    punct.set_span(span);
    tokens.push(TokenTree::Punct(punct));
}

/// The concatenation of `parts`, for messages (cheaper to build than `format!`).
pub(crate) fn message(parts: &[&str]) -> String {
    let mut message = String::new();
    for part in parts {
        message.push_str(part);
    }
    message
}
