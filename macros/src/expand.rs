//! Expand: the whole pipeline, and the rewrite of a valid `async fn` into a plain `fn`.

use crate::tt::{Delimiter, Ident, Literal, TokenStream, TokenTree};

use crate::error::to_compile_errors;
use crate::fallback;
use crate::parse;
use crate::tokens::{code, group, relocate, Push, Span};
use crate::validate::{self, Kind, Options};

/// Parse → validate → expand, or fall back to a compiling sync fn next to the errors.
///
/// A plain function of token streams so that it can be tested without the compiler; it never
/// panics, whatever it is given.
pub(crate) fn attribute(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let (raw_options, mut errors) = parse::options(args);
    let options = validate::options(raw_options, &mut errors);
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let function = match parse::function(&tokens, kind.attribute()) {
        Ok(function) => function,
        Err(error) => {
            // Not a function: the item is given back untouched, so nothing else breaks.
            errors.push(error);
            let mut output = to_compile_errors(&errors);
            output.extend(tokens);
            return output;
        }
    };
    let signature_errors = validate::signature(kind, &function);
    if !signature_errors.is_empty() {
        errors.extend(signature_errors);
        let mut output = to_compile_errors(&errors);
        output.extend(fallback::sync_function(&function));
        return output;
    }
    // Option errors alone do not stop the expansion: the valid options are applied, so the
    // body is still checked and the IDE still sees a runnable function.
    let mut output = to_compile_errors(&errors);
    output.extend(function_with_runtime(kind, &options, &function));
    output
}

/// How the body's output type is fixed.
enum Output {
    /// No `->` (the output is `()`) or a type that can be named: the async block's return type
    /// is set to it before the body runs (see [`function_with_runtime`]).
    Named(TokenStream),
    /// `-> impl Trait`: cannot be named, so the block's output is inferred from the function's.
    Opaque,
    /// `-> !`: cannot be named in a generic argument on stable, but can be an async closure's
    /// return type.
    Never,
}

fn output_kind(function: &parse::Function) -> Output {
    let output = &function.output;
    if output.is_empty() {
        return Output::Named(code("()", Span::call_site()));
    }
    if let [TokenTree::Punct(bang)] = output.as_slice() {
        if bang.as_char() == '!' {
            return Output::Never;
        }
    }
    if contains_impl(output.iter()) {
        return Output::Opaque;
    }
    Output::Named(output.iter().cloned().collect())
}

/// Whether `impl` appears anywhere in the tokens (`impl Trait`, `Box<impl Trait>`).
pub(crate) fn contains_impl<'a>(tokens: impl IntoIterator<Item = &'a TokenTree>) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => crate::tokens::ident_is(ident, "impl"),
        TokenTree::Group(group) => contains_impl(&group.stream().into_iter().collect::<Vec<_>>()),
        _ => false,
    })
}

/// The rewrite itself:
///
/// ```text
/// #attributes [#[::core::prelude::v1::test]] #visibility fn #name() -> #output {
///     let body = async move {
///         if false {
///             return ::corun::__private::output_type::<#output>();
///         }
///         #body
///     };
///     [::corun::__private::loop_factory(]
///         ::corun::__private::Config::new()[.debug(#debug)]
///     [, #path)]
///         .main_name("#name")
///         .run(body)
/// }
/// ```
///
/// The `return` that never runs fixes the async block's return type to the declared one before
/// the body is checked, so `?` converts errors into it and a mismatch is reported at the body's
/// tail expression; and since the body comes last, a diverging body (`loop { .. }`) leaves no
/// code unreachable. `-> impl Trait` has its output inferred instead, and `-> !` is the return
/// type of an async closure (`async move || -> ! #body`), the one place stable Rust accepts it.
fn function_with_runtime(kind: Kind, options: &Options, function: &parse::Function) -> TokenStream {
    let call_site = Span::call_site();
    let krate = match &options.krate {
        Some(path) => path.clone(),
        None => code("::corun", call_site),
    };
    let mut private = krate.clone();
    private.push(code("::__private", call_site));

    // Glue is located at the user's code (so errors land there) but keeps the macro's hygiene
    // and expansion context (so lints like `unused_braces` do not fire on code the user did not
    // write).
    let body_span = function.body.span();
    let glue = call_site.located_at(body_span);
    let body_var = TokenTree::Ident(Ident::new("body", Span::mixed_site().located_at(body_span)));
    let body = group(Delimiter::Brace, function.body.stream(), glue);

    let mut future = TokenStream::new();
    let mut call = TokenStream::new();
    match output_kind(function) {
        Output::Named(output) => {
            // Located at the declared type, so that rustc's "return type inferred to be ..
            // here" points at it.
            let first = output
                .clone()
                .into_iter()
                .next()
                .map_or(glue, |token| token.span());
            let last = output
                .clone()
                .into_iter()
                .last()
                .map_or(glue, |token| token.span());
            let at_output = call_site.located_at(first);
            let mut early_return = code("return", glue);
            early_return
                .push(relocate(private.clone(), at_output))
                .push(code("::output_type::<", at_output))
                .push(output)
                .push(code(">", at_output))
                .push([group(
                    Delimiter::Parenthesis,
                    TokenStream::new(),
                    call_site.located_at(last),
                )])
                .push(code(";", glue));
            let mut block = code("if false", glue);
            block
                .push([group(Delimiter::Brace, early_return, glue)])
                .push([body]);
            future
                .push(code("async move", glue))
                .push([group(Delimiter::Brace, block, glue)]);
        }
        Output::Opaque => {
            future.push(code("async move", glue)).push([body]);
        }
        Output::Never => {
            future.push(code("async move || -> !", glue)).push([body]);
            call = code("()", glue);
        }
    }

    let mut config = private.clone();
    config.push(code("::Config::new()", call_site));
    match options.debug {
        Some(true) => config.push(code(".debug(true)", call_site)),
        Some(false) => config.push(code(".debug(false)", call_site)),
        None => &mut config,
    };
    if let Some(path) = &options.loop_factory {
        config = with_loop_factory(&krate, config, path);
    }
    let main_name = TokenTree::Literal(Literal::string(&validate::unraw(&function.name)));
    let mut run_arguments = TokenStream::from(body_var.clone());
    run_arguments.push(call);

    let mut statements = code("let", glue);
    statements
        .push([body_var])
        .push(code("=", glue))
        .push(future)
        .push(code(";", glue))
        .push(config)
        .push(code(".main_name", glue))
        .push([group(Delimiter::Parenthesis, main_name.into(), glue)])
        .push(code(".run", glue))
        .push([group(Delimiter::Parenthesis, run_arguments, glue)]);

    let mut item: TokenStream = function
        .attributes
        .iter()
        .flat_map(parse::Attribute::tokens)
        .collect();
    if kind == Kind::Test {
        item.push(code("#[::core::prelude::v1::test]", call_site));
    }
    push_head(&mut item, function);
    if !function.output.is_empty() {
        item.push(code("->", call_site))
            .push(function.output.iter().cloned());
    }
    item.push(function.where_clause.iter().cloned())
        .push([group(Delimiter::Brace, statements, function.body.span())]);
    item
}

/// `::corun::__private::loop_factory(#config, #path)`, the call located at the path.
///
/// The helper's bounds are where a wrong path is caught, and rustc reports an unmet bound that
/// no argument's type names at the whole call, so the call itself is given the path's location:
/// the error then underlines the path, not the attribute.
fn with_loop_factory(krate: &TokenStream, config: TokenStream, path: &TokenStream) -> TokenStream {
    let first = path
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span());
    let last = path
        .clone()
        .into_iter()
        .last()
        .map_or_else(Span::call_site, |token| token.span());
    let at_path = Span::call_site().located_at(first);
    let mut arguments = config;
    arguments.push(code(",", at_path)).push(path.clone());
    let mut call = relocate(krate.clone(), at_path);
    call.push(code("::__private::loop_factory", at_path))
        .push([group(
            Delimiter::Parenthesis,
            arguments,
            Span::call_site().located_at(last),
        )]);
    call
}

/// `#visibility #qualifiers fn #name()`: the head of the rewritten function, shared with the
/// fallback. The parentheses keep the span of the user's parameter list.
pub(crate) fn push_head(item: &mut TokenStream, function: &parse::Function) {
    item.push(function.visibility.iter().cloned())
        .push(function.other_qualifiers.iter().cloned())
        .push([
            TokenTree::Ident(function.fn_token.clone()),
            TokenTree::Ident(function.name.clone()),
        ])
        .push([group(
            Delimiter::Parenthesis,
            TokenStream::new(),
            function.parameters.span(),
        )]);
}
