//! Building token streams without `quote`: fixed code is written as text, lexed, and given a
//! span; user tokens are appended as they are. One dependency less keeps builds cheap.
//!
//! Code is built in a `Vec<TokenTree>` and turned into a `TokenStream` once per group
//! ([`stream`]), with plain loops rather than iterator adapters: each adapter chain or
//! `FromIterator` over another iterator type is one more generic instantiation to compile, and
//! this crate is compiled in every `corun` build.

use crate::tt::{Delimiter, Group, Ident, TokenStream, TokenTree};

pub(crate) use crate::tt::Span;

/// Tokens being built, turned into a stream by [`stream`].
pub(crate) type Tokens = Vec<TokenTree>;

/// The tokens of `stream`, top level only (a group stays one token).
pub(crate) fn trees(stream: TokenStream) -> Tokens {
    let mut tokens = Vec::new();
    for token in stream {
        tokens.push(token);
    }
    tokens
}

/// `tokens` as a stream: the one place tokens are collected into a `TokenStream`.
pub(crate) fn stream(tokens: Tokens) -> TokenStream {
    tokens.into_iter().collect()
}

/// Appends `text` lexed into tokens, every one of them (groups' contents included) at `span`.
///
/// `text` is always a fixed piece of Rust written in this crate, so it always lexes; were it not
/// to, nothing would be appended rather than a panic.
pub(crate) fn push_code(tokens: &mut Tokens, text: &str, span: Span) {
    if let Ok(lexed) = text.parse::<TokenStream>() {
        push_respanned(tokens, lexed, span);
    }
}

/// `text` lexed, as by [`push_code`], into a new list.
pub(crate) fn code(text: &str, span: Span) -> Tokens {
    let mut tokens = Vec::new();
    push_code(&mut tokens, text, span);
    tokens
}

fn push_respanned(tokens: &mut Tokens, lexed: TokenStream, span: Span) {
    for mut token in lexed {
        if let TokenTree::Group(group) = &token {
            let mut contents = Vec::new();
            push_respanned(&mut contents, group.stream(), span);
            token = TokenTree::Group(Group::new(group.delimiter(), stream(contents)));
        }
        token.set_span(span);
        tokens.push(token);
    }
}

/// A group around `tokens`, its delimiters at `span`.
pub(crate) fn group(delimiter: Delimiter, tokens: Tokens, span: Span) -> TokenTree {
    group_of_stream(delimiter, stream(tokens), span)
}

/// A group around the single token `token`, its delimiters at `span`.
pub(crate) fn group_of_one(delimiter: Delimiter, token: TokenTree, span: Span) -> TokenTree {
    group_of_stream(delimiter, TokenStream::from(token), span)
}

/// A group around `contents`, its delimiters at `span`.
pub(crate) fn group_of_stream(
    delimiter: Delimiter,
    contents: TokenStream,
    span: Span,
) -> TokenTree {
    let mut group = Group::new(delimiter, contents);
    group.set_span(span);
    TokenTree::Group(group)
}

/// Appends copies of `from`.
///
/// A plain loop: `extend_from_slice` would compile a cloning iterator pipeline for this one use.
pub(crate) fn push_copies(tokens: &mut Tokens, from: &[TokenTree]) {
    for token in from {
        tokens.push(token.clone());
    }
}

/// A copy of `from`, by [`push_copies`].
pub(crate) fn copy(from: &[TokenTree]) -> Tokens {
    let mut tokens = Vec::new();
    push_copies(&mut tokens, from);
    tokens
}

/// Appends `ident` as a token.
pub(crate) fn push_ident(tokens: &mut Tokens, ident: &Ident) {
    tokens.push(TokenTree::Ident(ident.clone()));
}

/// Appends copies of `from`, each moved to `span`'s location with its own hygiene (a group
/// keeps its contents' spans).
pub(crate) fn push_relocated(tokens: &mut Tokens, from: &[TokenTree], span: Span) {
    for token in from {
        let mut token = token.clone();
        token.set_span(token.span().located_at(span));
        tokens.push(token);
    }
}

/// The span of the first token of `tokens`, or `otherwise` when there is none.
pub(crate) fn first_span(tokens: &[TokenTree], otherwise: Span) -> Span {
    match tokens.first() {
        Some(token) => token.span(),
        None => otherwise,
    }
}

/// The span of the last token of `tokens`, or `otherwise` when there is none.
pub(crate) fn last_span(tokens: &[TokenTree], otherwise: Span) -> Span {
    match tokens.last() {
        Some(token) => token.span(),
        None => otherwise,
    }
}

/// Whether `ident` is `name`. `proc_macro::Ident` cannot be compared with a `str` directly.
pub(crate) fn ident_is(ident: &Ident, name: &str) -> bool {
    ident.to_string().as_bytes() == name.as_bytes()
}

/// Whether `token` is the punctuation `ch`.
pub(crate) fn is_punct(token: &TokenTree, ch: char) -> bool {
    matches!(token, TokenTree::Punct(punct) if punct.as_char() == ch)
}
