//! Parse: token trees into the attribute's options and the function's signature.
//!
//! Nothing here is re-parsed by syn: the options are a comma-separated list of `name` or
//! `name = tokens`, and the item is split into the parts of a function signature; the body stays
//! a token group. This step only checks shape; what is allowed is decided in `validate`.

use crate::tt::{Delimiter, Group, Ident, Spacing, Span, TokenStream, TokenTree};

use crate::error::{message, Error};
use crate::tokens::{copy, ident_is, is_punct, trees, Tokens};

/// One `name` or `name = value` of the attribute's arguments, not yet checked.
pub(crate) struct RawOption {
    /// The option's name (`crate` is an ident here too).
    pub(crate) name: Ident,
    /// The `=`, if present, for spans of an empty value.
    pub(crate) eq: Option<Span>,
    /// Everything after `=` up to the next top-level comma (empty when there is no `=`).
    pub(crate) value: Vec<TokenTree>,
}

/// What every option message lists.
pub(crate) const VALID_OPTIONS: &str =
    "`debug`, `debug = true|false`, `loop_factory = path` and `crate = path`";

/// The attribute's arguments, split into options one at a time by [`OptionList::next`].
///
/// Pieces are separated by commas outside angle brackets (`Loop::<A, B>::new` is one piece). A
/// trailing comma is allowed.
pub(crate) struct OptionList {
    tokens: Tokens,
    /// Where the next piece starts.
    start: usize,
}

impl OptionList {
    pub(crate) fn new(args: TokenStream) -> Self {
        Self {
            tokens: trees(args),
            start: 0,
        }
    }

    /// The next option, or why the next piece is not `name [= value]` (the caller reports it
    /// and goes on, so that every mistake of one attribute is reported together); `None` after
    /// the last piece.
    pub(crate) fn next(&mut self) -> Option<Result<RawOption, Error>> {
        let tokens = &self.tokens;
        if self.start >= tokens.len() {
            return None;
        }
        let mut angles = AngleDepth::default();
        let mut end = self.start;
        while end < tokens.len() {
            angles.step(&tokens[end]);
            if angles.depth == 0 && is_punct(&tokens[end], ',') {
                break;
            }
            end += 1;
        }
        let start = std::mem::replace(&mut self.start, end + 1);
        if start == end {
            // Nothing before this comma (`,,` or a leading `,`).
            return Some(Err(Error::new(
                tokens[end].span(),
                message(&[
                    "expected an option before `,`: the options are ",
                    VALID_OPTIONS,
                ]),
            )));
        }
        Some(option(&tokens[start..end]))
    }
}

/// One piece between commas; `tokens` is never empty.
fn option(tokens: &[TokenTree]) -> Result<RawOption, Error> {
    let Some(first) = tokens.first() else {
        return Err(Error::new(
            Span::call_site(),
            message(&["expected an option: the options are ", VALID_OPTIONS]),
        ));
    };
    let name = match first {
        TokenTree::Ident(name) => name.clone(),
        other => {
            return Err(Error::covering(
                tokens,
                other.span(),
                message(&[
                    "expected an option, found ",
                    &describe(other),
                    ": the options are ",
                    VALID_OPTIONS,
                ]),
            ))
        }
    };
    let Some(next) = tokens.get(1) else {
        return Ok(RawOption {
            name,
            eq: None,
            value: Vec::new(),
        });
    };
    match next {
        TokenTree::Punct(eq) if eq.as_char() == '=' && eq.spacing() == Spacing::Alone => {
            Ok(RawOption {
                name,
                eq: Some(eq.span()),
                value: copy(&tokens[2..]),
            })
        }
        other => Err(Error::covering(
            &tokens[1..],
            other.span(),
            message(&[
                "expected `=` or `,` after `",
                &name.to_string(),
                "`, found ",
                &describe(other),
            ]),
        )),
    }
}

/// Whether the attribute in `brackets` (`#[...]`) is a test attribute: its path's last segment
/// is `test` (`#[test]`, `#[::core::prelude::v1::test]`, `#[corun::test]`,
/// `#[tokio::test(...)]`).
pub(crate) fn is_test_attribute(brackets: &Group) -> bool {
    let mut last_is_test = false;
    for token in brackets.stream() {
        match token {
            TokenTree::Ident(ident) => last_is_test = ident_is(&ident, "test"),
            TokenTree::Punct(punct) if punct.as_char() == ':' => {}
            _ => break,
        }
    }
    last_is_test
}

/// The parts of an `fn` item, borrowed from its tokens. Each slice is empty when the part is
/// absent.
pub(crate) struct Function<'a> {
    /// Every `#[...]` of the item (doc comments included) in order, each as two tokens: the `#`
    /// and the bracket group.
    pub(crate) attributes: &'a [TokenTree],
    pub(crate) visibility: &'a [TokenTree],
    /// Everything between the visibility and `fn`: `const`, `async`, `unsafe`, `extern "C"`
    /// and the like, in the order written.
    pub(crate) qualifiers: &'a [TokenTree],
    /// The (last) `const` of `qualifiers`.
    pub(crate) constness: Option<&'a Ident>,
    /// The (last) `async` of `qualifiers`.
    pub(crate) asyncness: Option<&'a Ident>,
    pub(crate) fn_token: &'a Ident,
    pub(crate) name: &'a Ident,
    /// `<...>`, brackets included.
    pub(crate) generics: &'a [TokenTree],
    pub(crate) parameters: &'a Group,
    /// The return type, without the `->`.
    pub(crate) output: &'a [TokenTree],
    /// `where ...`, the keyword included.
    pub(crate) where_clause: &'a [TokenTree],
    pub(crate) body: &'a Group,
}

/// Splits an item into the parts of a function, or says where it stops looking like one.
pub(crate) fn function<'a>(
    tokens: &'a [TokenTree],
    attribute: &str,
) -> Result<Function<'a>, Error> {
    let mut cursor = Cursor { tokens, index: 0 };

    while cursor.peek_punct('#') {
        cursor.index += 1;
        match cursor.next() {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => {}
            _ => return Err(cursor.not_a_function_before(attribute)),
        }
    }
    let attributes = &tokens[..cursor.index];

    let visibility_start = cursor.index;
    if cursor.peek_ident("pub") {
        cursor.index += 1;
        if let Some(TokenTree::Group(group)) = cursor.peek() {
            if group.delimiter() == Delimiter::Parenthesis {
                cursor.index += 1;
            }
        }
    }
    let visibility = &tokens[visibility_start..cursor.index];

    let qualifiers_start = cursor.index;
    let mut constness = None;
    let mut asyncness = None;
    let fn_token = loop {
        let Some(TokenTree::Ident(ident)) = cursor.peek() else {
            return Err(cursor.not_a_function(attribute));
        };
        match ident.to_string().as_str() {
            "fn" => break ident,
            "const" => constness = Some(ident),
            "async" => asyncness = Some(ident),
            "unsafe" | "safe" | "default" => {}
            "extern" => {
                if let Some(TokenTree::Literal(_)) = tokens.get(cursor.index + 1) {
                    cursor.index += 1;
                }
            }
            _ => return Err(cursor.not_a_function(attribute)),
        }
        cursor.index += 1;
    };
    let qualifiers = &tokens[qualifiers_start..cursor.index];
    cursor.index += 1;

    let Some(TokenTree::Ident(name)) = cursor.next() else {
        return Err(cursor.not_a_function_before(attribute));
    };

    let generics_start = cursor.index;
    if cursor.peek_punct('<') {
        let mut angles = AngleDepth::default();
        loop {
            let Some(token) = cursor.peek() else {
                return Err(cursor.not_a_function(attribute));
            };
            cursor.index += 1;
            angles.step(token);
            if angles.depth == 0 {
                break;
            }
        }
    }
    let generics = &tokens[generics_start..cursor.index];

    let parameters = match cursor.next() {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => group,
        _ => return Err(cursor.not_a_function_before(attribute)),
    };

    let mut output: &[TokenTree] = &[];
    if cursor.peek_punct('-')
        && matches!(tokens.get(cursor.index + 1), Some(token) if is_punct(token, '>'))
    {
        cursor.index += 2;
        let output_start = cursor.index;
        cursor.skip_until_body_or_where();
        if cursor.index == output_start {
            return Err(cursor.not_a_function(attribute));
        }
        output = &tokens[output_start..cursor.index];
    }

    let where_start = cursor.index;
    if cursor.peek_ident("where") {
        cursor.index += 1;
        cursor.skip_until_body_or_where();
    }
    let where_clause = &tokens[where_start..cursor.index];

    let body = match cursor.next() {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => group,
        _ => return Err(cursor.not_a_function_before(attribute)),
    };
    if cursor.peek().is_some() {
        return Err(cursor.not_a_function(attribute));
    }

    Ok(Function {
        attributes,
        visibility,
        qualifiers,
        constness,
        asyncness,
        fn_token,
        name,
        generics,
        parameters,
        output,
        where_clause,
        body,
    })
}

struct Cursor<'a> {
    tokens: &'a [TokenTree],
    index: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a TokenTree> {
        self.tokens.get(self.index)
    }

    fn next(&mut self) -> Option<&'a TokenTree> {
        let token = self.tokens.get(self.index);
        self.index += 1;
        token
    }

    fn peek_punct(&self, ch: char) -> bool {
        matches!(self.peek(), Some(token) if is_punct(token, ch))
    }

    fn peek_ident(&self, name: &str) -> bool {
        matches!(self.peek(), Some(TokenTree::Ident(ident)) if ident_is(ident, name))
    }

    /// Moves up to a `where` or a `{...}` that is not inside angle brackets.
    fn skip_until_body_or_where(&mut self) {
        let mut angles = AngleDepth::default();
        while let Some(token) = self.peek() {
            if angles.depth == 0 {
                let is_body = matches!(token, TokenTree::Group(group) if group.delimiter() == Delimiter::Brace);
                let is_where = matches!(token, TokenTree::Ident(ident) if ident_is(ident, "where"));
                if is_body || is_where {
                    break;
                }
            }
            angles.step(token);
            self.index += 1;
        }
    }

    /// The error for an item that stops looking like a function at the next token (or at its
    /// end).
    fn not_a_function(&self, attribute: &str) -> Error {
        let (span, found) = match self.peek() {
            Some(token) => (token.span(), describe(token)),
            None => (
                match self.tokens.last() {
                    Some(token) => token.span(),
                    None => Span::call_site(),
                },
                "the end of the item".to_owned(),
            ),
        };
        Error::new(
            span,
            message(&[
                "expected `async fn`, found ",
                &found,
                ": `",
                attribute,
                "` goes on a function like `async fn main() {}`",
            ]),
        )
    }

    /// [`Cursor::not_a_function`] at the token just taken by [`Cursor::next`].
    fn not_a_function_before(&mut self, attribute: &str) -> Error {
        self.index -= 1;
        self.not_a_function(attribute)
    }
}

/// Counts `<` and `>` to tell the commas and braces of generic arguments from the rest; the
/// `>` of `->` does not close anything.
#[derive(Default)]
pub(crate) struct AngleDepth {
    pub(crate) depth: usize,
    after_minus: bool,
}

impl AngleDepth {
    pub(crate) fn step(&mut self, token: &TokenTree) {
        let after_minus = std::mem::take(&mut self.after_minus);
        let TokenTree::Punct(punct) = token else {
            return;
        };
        match punct.as_char() {
            '<' => self.depth += 1,
            '>' if !after_minus => self.depth = self.depth.saturating_sub(1),
            '-' => self.after_minus = punct.spacing() == Spacing::Joint,
            _ => {}
        }
    }
}

/// How a token is named in a message: `` `struct` ``, `` `=` ``, `` `(...)` ``.
pub(crate) fn describe(token: &TokenTree) -> String {
    if let TokenTree::Group(group) = token {
        let text = match group.delimiter() {
            Delimiter::Parenthesis => "`(...)`",
            Delimiter::Brace => "`{...}`",
            Delimiter::Bracket => "`[...]`",
            Delimiter::None => "an invisible group",
        };
        return text.to_owned();
    }
    let text = token.to_string();
    if let TokenTree::Literal(_) = token {
        // Characters, not bytes: every byte that does not continue a UTF-8 sequence.
        let mut chars = 0;
        for byte in text.as_bytes() {
            if byte & 0xC0 != 0x80 {
                chars += 1;
            }
        }
        if chars > 20 {
            return "a literal".to_owned();
        }
    }
    message(&["`", &text, "`"])
}
