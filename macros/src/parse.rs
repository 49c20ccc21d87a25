//! Parse: the attribute's options and the function's signature, read with syn.
//!
//! The options are a comma-separated list of `name` or `name = value`; the item is read as the
//! parts of a function signature, up to its body, which stays tokens: only the body's leading
//! inner attributes (`#![..]`, `//!`) are read off it, so they can go on the rewritten `fn`.
//! This step only checks shape; what is allowed is decided in `validate`.
//!
//! syn looks through the invisible groups a `macro_rules!` macro wraps its pieces in (`$vis`,
//! `$body:block`, `$path`, `$expr`), so those arrive here as if written in place.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::token::{Brace, Paren};
use syn::{
    braced, parenthesized, Abi, Attribute, Error, ExprPath, Generics, Ident, LitBool, ReturnType,
    Token, Visibility, WhereClause,
};

/// What every option message lists.
pub(crate) const VALID_OPTIONS: &str =
    "`debug`, `debug = true|false`, `loop_factory = path`, `workers = N` and `crate = path`";

/// One `name` or `name = value` of the attribute's arguments, not yet checked.
pub(crate) struct RawOption {
    /// The option's name (`crate` is an ident here too).
    pub(crate) name: Ident,
    /// The `=`, if present.
    pub(crate) eq: Option<Token![=]>,
    pub(crate) value: Value,
}

/// What follows an option's `=`, read as the one thing it can be.
pub(crate) enum Value {
    /// No `=`.
    Absent,
    /// `true` or `false`.
    Bool(LitBool),
    /// A path in expression form: `a::b`, `::a::b`, `A::<B, C>::new`, `<A as B>::new`.
    Path(ExprPath),
    /// Anything else, up to the next comma (empty after a lone `=`).
    Other(TokenStream),
}

/// Reads every option of the attribute's arguments, with one error for each piece that is not
/// `name [= value]`: after such a piece the reading goes on at the next comma, so that every
/// mistake of one attribute is reported together. A trailing comma is allowed.
pub(crate) fn options(args: TokenStream) -> (Vec<RawOption>, Vec<Error>) {
    let read = |input: ParseStream| {
        let mut options = Vec::new();
        let mut errors = Vec::new();
        while !input.is_empty() {
            match option(input) {
                Ok(option) => options.push(option),
                Err(error) => {
                    errors.push(error);
                    rest_of_option(input)?;
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok((options, errors))
    };
    // `read` stops only at a comma or at the end, so it cannot fail; were it to, its error is
    // reported like any other.
    read.parse2(args)
        .unwrap_or_else(|error| (Vec::new(), vec![error]))
}

/// One option, up to (not including) the next comma or the end.
fn option(input: ParseStream) -> syn::Result<RawOption> {
    if input.peek(Token![,]) {
        return Err(input.error(format!(
            "expected an option before `,`: the options are {VALID_OPTIONS}"
        )));
    }
    if !input.peek(Ident::peek_any) {
        let piece = rest_of_option(input)?;
        let found = describe(piece.clone().into_iter().next());
        return Err(Error::new_spanned(
            piece,
            format!("expected an option, found {found}: the options are {VALID_OPTIONS}"),
        ));
    }
    let name = input.call(Ident::parse_any)?;
    if at_option_end(input) {
        return Ok(RawOption {
            name,
            eq: None,
            value: Value::Absent,
        });
    }
    let Some(eq) = input.parse::<Option<Token![=]>>()? else {
        let rest = rest_of_option(input)?;
        let found = describe(rest.clone().into_iter().next());
        return Err(Error::new_spanned(
            rest,
            format!("expected `=` or `,` after `{name}`, found {found}"),
        ));
    };
    Ok(RawOption {
        name,
        eq: Some(eq),
        value: value(input)?,
    })
}

/// The value after `=`: a bool or a path when it is exactly one, else its tokens.
fn value(input: ParseStream) -> syn::Result<Value> {
    let ahead = input.fork();
    if let Ok(bool) = ahead.parse::<LitBool>() {
        if at_option_end(&ahead) {
            input.parse::<LitBool>()?;
            return Ok(Value::Bool(bool));
        }
    }
    let ahead = input.fork();
    if let Ok(path) = ahead.parse::<ExprPath>() {
        if at_option_end(&ahead) {
            input.parse::<ExprPath>()?;
            return Ok(Value::Path(path));
        }
    }
    rest_of_option(input).map(Value::Other)
}

fn at_option_end(input: ParseStream) -> bool {
    input.is_empty() || input.peek(Token![,])
}

/// The tokens up to the next comma or the end, taken off the input.
fn rest_of_option(input: ParseStream) -> syn::Result<TokenStream> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut tokens = TokenStream::new();
        while let Some((token, next)) = rest.token_tree() {
            if matches!(&token, TokenTree::Punct(punct) if punct.as_char() == ',') {
                break;
            }
            tokens.extend([token]);
            rest = next;
        }
        Ok((tokens, rest))
    })
}

/// The parts of an `fn` item. The parameters and the body stay tokens.
pub(crate) struct Function {
    /// Every outer attribute, doc comments included, in order.
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) visibility: Visibility,
    pub(crate) constness: Option<Token![const]>,
    pub(crate) asyncness: Option<Token![async]>,
    pub(crate) unsafety: Option<Token![unsafe]>,
    pub(crate) abi: Option<Abi>,
    pub(crate) fn_token: Token![fn],
    pub(crate) name: Ident,
    pub(crate) generics: Generics,
    pub(crate) parentheses: Paren,
    pub(crate) parameters: TokenStream,
    pub(crate) output: ReturnType,
    pub(crate) where_clause: Option<WhereClause>,
    pub(crate) braces: Brace,
    /// The inner attributes at the start of the body (`#![allow(..)]`, `//!`).
    pub(crate) inner_attributes: Vec<Attribute>,
    /// The rest of the body, as written.
    pub(crate) body: TokenStream,
}

impl Function {
    /// `#visibility #unsafety #abi fn #name()`: the signature without `const`, `async`,
    /// generics, parameters and return type, which both rewrites (`expand`, `fallback`) start
    /// from. The parentheses keep the span of the user's parameter list.
    pub(crate) fn plain_head(&self) -> TokenStream {
        let Function {
            visibility,
            unsafety,
            abi,
            fn_token,
            name,
            ..
        } = self;
        let mut parentheses = Group::new(Delimiter::Parenthesis, TokenStream::new());
        parentheses.set_span(self.parentheses.span.join());
        quote!(#visibility #unsafety #abi #fn_token #name #parentheses)
    }
}

/// Reads an item as the parts of a function, or says where it stops looking like one.
/// `attribute` is the attribute as written in messages (`#[corun::entry]`).
pub(crate) fn function(item: TokenStream, attribute: &str) -> syn::Result<Function> {
    let read = |input: ParseStream| {
        let attributes = input
            .call(Attribute::parse_outer)
            .map_err(|_| not_a_function(input, attribute))?;
        let visibility = input.parse()?;
        let constness = input.parse()?;
        let asyncness = input.parse()?;
        let unsafety = input.parse()?;
        let abi = input.parse()?;
        let fn_token = input
            .parse()
            .map_err(|_| not_a_function(input, attribute))?;
        let name = input
            .parse()
            .map_err(|_| not_a_function(input, attribute))?;
        let generics = input.parse()?;
        if !input.peek(Paren) {
            return Err(not_a_function(input, attribute));
        }
        let parameters;
        let parentheses = parenthesized!(parameters in input);
        let parameters = parameters.parse()?;
        let output = input.parse()?;
        let where_clause = input.parse()?;
        if !input.peek(Brace) {
            return Err(not_a_function(input, attribute));
        }
        let body;
        let braces = braced!(body in input);
        let inner_attributes = body.call(Attribute::parse_inner)?;
        let body = body.parse()?;
        if !input.is_empty() {
            return Err(not_a_function(input, attribute));
        }
        Ok(Function {
            attributes,
            visibility,
            constness,
            asyncness,
            unsafety,
            abi,
            fn_token,
            name,
            generics,
            parentheses,
            parameters,
            output,
            where_clause,
            braces,
            inner_attributes,
            body,
        })
    };
    read.parse2(item)
}

/// The error for an item that stops looking like a function at the input's next token (or at
/// its end).
fn not_a_function(input: ParseStream, attribute: &str) -> Error {
    let next = input.cursor().token_tree().map(|(token, _)| token);
    let found = match &next {
        Some(_) => describe(next.clone()),
        None => "the end of the item".to_owned(),
    };
    let span = next.map_or_else(|| input.span(), |token| token.span());
    Error::new(
        span,
        format!(
            "expected `async fn`, found {found}: `{attribute}` goes on a function like `async fn main() {{}}`"
        ),
    )
}

/// How a token is named in a message: `` `struct` ``, `` `=` ``, `` `(...)` ``.
fn describe(token: Option<TokenTree>) -> String {
    let Some(token) = token else {
        return "nothing".to_owned();
    };
    match token {
        TokenTree::Group(group) => match group.delimiter() {
            Delimiter::Parenthesis => "`(...)`",
            Delimiter::Brace => "`{...}`",
            Delimiter::Bracket => "`[...]`",
            Delimiter::None => "an invisible group",
        }
        .to_owned(),
        TokenTree::Literal(literal) if literal.to_string().chars().count() > 20 => {
            "a literal".to_owned()
        }
        other => format!("`{other}`"),
    }
}
