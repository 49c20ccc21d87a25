//! Expand: the whole pipeline, and the rewrite of a valid `async fn` into a plain `fn`.

use proc_macro2::{Delimiter, Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};

use crate::error::to_compile_errors;
use crate::fallback;
use crate::parse;
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
        return Output::Named(quote!(()));
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
        TokenTree::Ident(ident) => ident == "impl",
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
    let private = match &options.krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::corun::__private),
    };
    let attributes = function.attributes.iter().map(parse::Attribute::tokens);
    let test_attribute = match kind {
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Entry => TokenStream::new(),
    };
    let visibility = &function.visibility;
    let qualifiers = &function.other_qualifiers;
    let fn_token = &function.fn_token;
    let name = &function.name;
    let arrow_and_output = if function.output.is_empty() {
        TokenStream::new()
    } else {
        let output = &function.output;
        quote!(-> #(#output)*)
    };
    let where_clause = &function.where_clause;

    // Glue is located at the user's code (so errors land there) but keeps the macro's hygiene
    // and expansion context (so lints like `unused_braces` do not fire on code the user did not
    // write).
    let body_span = function.body.span();
    let glue = Span::call_site().located_at(body_span);
    let body_var = Ident::new("body", Span::mixed_site().located_at(body_span));
    let mut body = Group::new(Delimiter::Brace, function.body.stream());
    body.set_span(glue);
    let (future, call) = match output_kind(function) {
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
            let at_output = Span::call_site().located_at(first);
            let callee = respan(private.clone(), at_output);
            let mut call = Group::new(Delimiter::Parenthesis, TokenStream::new());
            call.set_span(Span::call_site().located_at(last));
            let output_type = quote_spanned!(at_output=> #callee::output_type::<#output> #call);
            let future = quote_spanned! {glue=>
                async move {
                    if false {
                        return #output_type;
                    }
                    #body
                }
            };
            (future, TokenStream::new())
        }
        Output::Opaque => (quote_spanned!(glue=> async move #body), TokenStream::new()),
        Output::Never => (
            quote_spanned!(glue=> async move || -> ! #body),
            quote_spanned!(glue=> ()),
        ),
    };

    let debug = options.debug.map(|on| {
        let on = Ident::new(if on { "true" } else { "false" }, Span::call_site());
        quote!(.debug(#on))
    });
    let mut config = quote!(#private::Config::new() #debug);
    if let Some(path) = &options.loop_factory {
        config = with_loop_factory(&options.krate, config, path);
    }
    let main_name = Literal::string(&validate::unraw(name));
    let run = quote_spanned! {glue=>
        #config
            .main_name(#main_name)
            .run(#body_var #call)
    };

    quote! {
        #(#attributes)*
        #test_attribute
        #(#visibility)* #(#qualifiers)* #fn_token #name() #arrow_and_output #(#where_clause)* {
            let #body_var = #future;
            #run
        }
    }
}

/// `::corun::__private::loop_factory(#config, #path)`, the call located at the path.
///
/// The helper's bounds are where a wrong path is caught, and rustc reports an unmet bound that
/// no argument's type names at the whole call, so the call itself is given the path's location:
/// the error then underlines the path, not the attribute.
fn with_loop_factory(
    krate: &Option<TokenStream>,
    config: TokenStream,
    path: &TokenStream,
) -> TokenStream {
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
    let krate = match krate {
        Some(krate) => respan(krate.clone(), at_path),
        None => quote_spanned!(at_path=> ::corun),
    };
    let callee = quote_spanned!(at_path=> #krate::__private::loop_factory);
    let mut arguments = Group::new(Delimiter::Parenthesis, quote!(#config, #path));
    arguments.set_span(Span::call_site().located_at(last));
    quote!(#callee #arguments)
}

/// The same tokens, each moved to `span`'s location with its own hygiene (a group keeps its
/// contents' spans).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(token.span().located_at(span));
            token
        })
        .collect()
}
