//! Validate: decide what the parsed options and signature mean, or why they are rejected.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::{Error, ExprPath, Ident, Lit, ReturnType, Type};

use crate::parse::{Function, RawOption, Value, VALID_OPTIONS};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[corun::entry]`.
    Entry,
    /// `#[corun::main]`: another name for `#[corun::entry]`.
    Main,
    /// `#[corun::test]`.
    Test,
}

impl Kind {
    /// The attribute as users write it, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Entry => "#[corun::entry]",
            Kind::Main => "#[corun::main]",
            Kind::Test => "#[corun::test]",
        }
    }
}

/// The valid options of one attribute.
#[derive(Default)]
pub(crate) struct Options {
    /// `debug` or `debug = bool`; unset means "let `CORUN_DEBUG` decide".
    pub(crate) debug: Option<bool>,
    /// The path after `loop_factory =`.
    pub(crate) loop_factory: Option<ExprPath>,
    /// The path after `crate =`.
    pub(crate) krate: Option<ExprPath>,
    /// The expression after `workers =`: how many workers (`corun::Workers::new`'s argument).
    pub(crate) workers: Option<TokenStream>,
}

/// Checks the meaning of every option read, with one error per option that is unknown,
/// repeated or given a wrong value, in the order written; keeps the valid ones.
pub(crate) fn options(raw: Vec<RawOption>) -> (Options, Vec<Error>) {
    let mut options = Options::default();
    let mut seen: Vec<String> = Vec::new();
    let errors = raw
        .into_iter()
        .filter_map(|option| {
            let name = option.name.to_string();
            if !matches!(
                name.as_str(),
                "debug" | "loop_factory" | "workers" | "crate"
            ) {
                return Some(Error::new(
                    option.name.span(),
                    format!("unknown option `{name}`: the options are {VALID_OPTIONS}"),
                ));
            }
            if seen.contains(&name) {
                let RawOption { name, eq, value } = option;
                return Some(Error::new_spanned(
                    quote!(#name #eq #value),
                    format!("option `{name}` is given twice: remove this one"),
                ));
            }
            seen.push(name.clone());
            let checked = match name.as_str() {
                "debug" => debug_value(option).map(|on| options.debug = Some(on)),
                "loop_factory" => {
                    loop_factory_value(option).map(|path| options.loop_factory = Some(path))
                }
                "workers" => workers_value(option).map(|count| options.workers = Some(count)),
                _ => crate_value(option).map(|path| options.krate = Some(path)),
            };
            checked.err()
        })
        .collect();
    (options, errors)
}

fn debug_value(option: RawOption) -> syn::Result<bool> {
    match option.value {
        Value::Absent => Ok(true),
        Value::Bool(on) => Ok(on.value),
        value => Err(Error::new_spanned(
            value_or(&value, &option.eq),
            "`debug` takes a bool: write `debug`, `debug = true` or `debug = false`",
        )),
    }
}

const LOOP_FACTORY_EXAMPLE: &str = "write `loop_factory = corun::loops::VirtualTimeLoop::new`";

fn loop_factory_value(option: RawOption) -> syn::Result<ExprPath> {
    let RawOption { name, eq, value } = option;
    match value {
        Value::Path(path) => Ok(path),
        value if is_missing(&value) => Err(Error::new_spanned(
            quote!(#name #eq),
            format!(
                "`loop_factory` needs the path of a function that makes the loop: {LOOP_FACTORY_EXAMPLE}"
            ),
        )),
        value => Err(Error::new_spanned(
            value,
            format!(
                "`loop_factory` takes the path of a function that makes the loop: {LOOP_FACTORY_EXAMPLE}"
            ),
        )),
    }
}

const WORKERS_EXAMPLE: &str = "write `workers = 4` (0: one per core)";

/// `workers = N`: any expression of type `usize` (a literal, a const, a call), handed to
/// `Workers::new`, which the compiler type-checks at the expression. What is plainly not a
/// number of threads is rejected here, at the value: a bool, a string, a character, a float, a
/// negative number, an integer of another type than `usize`.
fn workers_value(option: RawOption) -> syn::Result<TokenStream> {
    let RawOption { name, eq, value } = option;
    let wrong = match &value {
        value if is_missing(value) => {
            return Err(Error::new_spanned(
                quote!(#name #eq),
                format!("`workers` needs a number of worker threads: {WORKERS_EXAMPLE}"),
            ))
        }
        Value::Bool(_) => Some("not a bool".to_owned()),
        Value::Other(tokens) => wrong_worker_count(tokens),
        Value::Path(_) | Value::Absent => None,
    };
    match wrong {
        Some(wrong) => Err(Error::new_spanned(
            &value,
            format!("`workers` takes a number of worker threads (a `usize`), {wrong}: {WORKERS_EXAMPLE}"),
        )),
        None => Ok(value.to_token_stream()),
    }
}

/// What is wrong with `tokens` as a number of worker threads, when it plainly is: a literal of
/// another kind than an integer, an integer suffixed with another type than `usize`, or a
/// negative number. `None` for everything else (a plain integer, a path, an expression).
fn wrong_worker_count(tokens: &TokenStream) -> Option<String> {
    let mut trees = tokens.clone().into_iter();
    let first = trees.next()?;
    if let TokenTree::Punct(punct) = &first {
        return (punct.as_char() == '-').then(|| "not a negative number".to_owned());
    }
    if trees.next().is_some() {
        return None;
    }
    let TokenTree::Literal(literal) = first else {
        return None;
    };
    match syn::parse2::<Lit>(literal.into_token_stream()).ok()? {
        Lit::Int(int) if matches!(int.suffix(), "" | "usize") => None,
        Lit::Int(int) => Some(format!("not a `{}`", int.suffix())),
        Lit::Float(_) => Some("not a float".to_owned()),
        Lit::Str(_) | Lit::ByteStr(_) | Lit::CStr(_) => Some("not a string".to_owned()),
        Lit::Char(_) | Lit::Byte(_) => Some("not a character".to_owned()),
        _ => Some("not this literal".to_owned()),
    }
}

fn crate_value(option: RawOption) -> syn::Result<ExprPath> {
    let RawOption { name, eq, value } = option;
    match value {
        Value::Path(path) if path.qself.is_none() && is_plain(&path) => Ok(path),
        value if is_missing(&value) => Err(Error::new_spanned(
            quote!(#name #eq),
            "`crate` needs the path of the corun crate: write `crate = my_corun`",
        )),
        value => Err(Error::new_spanned(
            value,
            "`crate` takes the path of the corun crate: write `crate = my_corun`",
        )),
    }
}

/// No value at all: no `=`, or nothing after it.
fn is_missing(value: &Value) -> bool {
    match value {
        Value::Absent => true,
        Value::Other(tokens) => tokens.is_empty(),
        Value::Bool(_) | Value::Path(_) => false,
    }
}

/// A path without generic arguments: `a::b`, `::a`.
fn is_plain(path: &ExprPath) -> bool {
    path.path
        .segments
        .iter()
        .all(|segment| segment.arguments.is_none())
}

/// The value's tokens, or the `=` when the value is empty, for an error's span.
fn value_or(value: &Value, eq: &Option<syn::Token![=]>) -> TokenStream {
    let tokens = value.to_token_stream();
    if tokens.is_empty() {
        eq.to_token_stream()
    } else {
        tokens
    }
}

impl ToTokens for Value {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Value::Absent => {}
            Value::Bool(on) => on.to_tokens(tokens),
            Value::Path(path) => path.to_tokens(tokens),
            Value::Other(other) => other.to_tokens(tokens),
        }
    }
}

/// Checks that the function can be run by the attribute, with one error per problem.
pub(crate) fn signature(kind: Kind, function: &Function) -> Vec<Error> {
    let attribute = kind.attribute();
    let name = unraw(&function.name);
    let mut errors = Vec::new();
    if let Some(constness) = &function.constness {
        errors.push(Error::new(
            constness.span,
            format!(
                "`{attribute}` cannot run a `const fn`: remove `const` and write `async fn {name}`"
            ),
        ));
    }
    if function.asyncness.is_none() {
        errors.push(Error::new(
            function.fn_token.span,
            format!("a coroutine was expected, found a plain `fn`: write `async fn {name}`"),
        ));
    }
    if function.generics.lt_token.is_some() {
        errors.push(Error::new_spanned(
            &function.generics,
            format!(
                "`{attribute}` takes a function without generic parameters: write `async fn {name}()`"
            ),
        ));
    }
    if let Some(receiver) = self_token(&function.parameters) {
        errors.push(Error::new(
            receiver,
            format!(
                "`{attribute}` cannot run a method: remove `self` and write `async fn {name}()`"
            ),
        ));
    } else if !function.parameters.is_empty() {
        errors.push(Error::new_spanned(
            &function.parameters,
            format!("`{attribute}` takes a function without parameters: write `async fn {name}()`"),
        ));
    }
    if kind == Kind::Test {
        errors.extend(
            function
                .attributes
                .iter()
                .filter(|attribute| {
                    attribute
                        .path()
                        .segments
                        .last()
                        .is_some_and(|segment| segment.ident == "test")
                })
                .map(|test| {
                    Error::new_spanned(
                        test,
                        "this function is already a test: remove this attribute, `#[corun::test]` adds `#[test]` itself",
                    )
                }),
        );
    }
    errors
}

/// The span of `self` in the first parameter (`self`, `&self`, `&'a mut self`, `self: Box<Self>`).
fn self_token(parameters: &TokenStream) -> Option<Span> {
    parameters
        .clone()
        .into_iter()
        .take_while(|token| {
            !matches!(token, TokenTree::Punct(punct) if matches!(punct.as_char(), ',' | ':'))
        })
        .find_map(|token| match token {
            TokenTree::Ident(ident) if ident == "self" => Some(ident.span()),
            _ => None,
        })
}

/// How the body's output type is fixed in the expansion.
pub(crate) enum Output<'a> {
    /// No `->`: the output is `()`.
    Unit,
    /// A type that can be named: the async block's return type is set to it before the body
    /// runs (see `expand`).
    Named(&'a Type),
    /// `impl Trait` somewhere in the type: cannot be named, so the block's output is inferred
    /// from the function's.
    Opaque,
    /// `-> !`: cannot be named in a generic argument on stable, but can be an async closure's
    /// return type.
    Never,
}

/// What kind of return type the function declares.
pub(crate) fn output(function: &Function) -> Output<'_> {
    let ReturnType::Type(_, declared) = &function.output else {
        return Output::Unit;
    };
    let mut ty: &Type = declared;
    // Through the invisible group of a `$ty` passed in by a `macro_rules!` macro, and parentheses.
    while let Type::Group(syn::TypeGroup { elem, .. }) | Type::Paren(syn::TypeParen { elem, .. }) =
        ty
    {
        ty = elem;
    }
    if let Type::Never(_) = ty {
        return Output::Never;
    }
    if contains_impl(declared.to_token_stream()) {
        return Output::Opaque;
    }
    Output::Named(declared)
}

/// Whether `impl` appears anywhere in the tokens (`impl Trait`, `Box<impl Trait>`).
fn contains_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => contains_impl(group.stream()),
        _ => false,
    })
}

/// The name without `r#`, as users and the task name see it.
pub(crate) fn unraw(ident: &Ident) -> String {
    ident.unraw().to_string()
}
