//! Building token streams without `quote`: fixed code is written as text, lexed, and given a
//! span; user tokens are appended as they are. One dependency less keeps builds cheap.

use crate::tt::{Delimiter, Group, TokenStream, TokenTree};

pub(crate) use crate::tt::Span;

/// `text` lexed into tokens, every one of them (groups' contents included) at `span`.
///
/// `text` is always a fixed piece of Rust written in this crate, so it always lexes; were it not
/// to, the result would be empty rather than a panic.
pub(crate) fn code(text: &str, span: Span) -> TokenStream {
    let stream: TokenStream = text.parse().unwrap_or_default();
    respan_deep(stream, span)
}

fn respan_deep(stream: TokenStream, span: Span) -> TokenStream {
    stream
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut respanned =
                    Group::new(group.delimiter(), respan_deep(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// A group around `stream`, its delimiters at `span`.
pub(crate) fn group(delimiter: Delimiter, stream: TokenStream, span: Span) -> TokenTree {
    let mut group = Group::new(delimiter, stream);
    group.set_span(span);
    TokenTree::Group(group)
}

/// The same tokens, each moved to `span`'s location with its own hygiene (a group keeps its
/// contents' spans).
pub(crate) fn relocate(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(token.span().located_at(span));
            token
        })
        .collect()
}

/// Appends to a stream, for building code piece by piece.
pub(crate) trait Push {
    /// Appends `tokens`.
    fn push(&mut self, tokens: impl IntoIterator<Item = TokenTree>) -> &mut Self;
}

impl Push for TokenStream {
    fn push(&mut self, tokens: impl IntoIterator<Item = TokenTree>) -> &mut Self {
        self.extend(tokens);
        self
    }
}

/// Whether `ident` is `name`. `proc_macro::Ident` cannot be compared with a `str` directly
/// (proc-macro2's can, hence the lint when this is built for tests).
#[allow(clippy::cmp_owned)]
pub(crate) fn ident_is(ident: &crate::tt::Ident, name: &str) -> bool {
    ident.to_string() == name
}
