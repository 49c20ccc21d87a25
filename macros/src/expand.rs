//! Expand: the whole pipeline, and the rewrite of a valid `async fn` into a plain `fn`.

use proc_macro2::{Delimiter, Group, Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Error, ExprPath};

use crate::fallback;
use crate::parse::{self, Function};
use crate::validate::{self, Kind, Options, Output};

/// Parse → validate → expand, or fall back to a compiling sync fn next to the errors.
///
/// A plain function of token streams so that it can be tested without the compiler; it never
/// panics, whatever it is given.
pub(crate) fn attribute(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    // The compile errors come first (the options' shape, their meaning, then the signature's),
    // then the item.
    let (raw_options, mut errors) = parse::options(args);
    let (options, option_errors) = validate::options(raw_options);
    errors.extend(option_errors);
    let code = match parse::function(item.clone(), kind.attribute()) {
        // Not a function: the item is given back untouched, so nothing else breaks.
        Err(error) => {
            errors.push(error);
            item
        }
        Ok(function) => {
            let signature_errors = validate::signature(kind, &function);
            if signature_errors.is_empty() {
                // Option errors alone do not stop the expansion: the valid options are
                // applied, so the body is still checked and the IDE still sees a runnable
                // function.
                function_with_runtime(kind, options, &function)
            } else {
                errors.extend(signature_errors);
                fallback::function(&function)
            }
        }
    };
    let errors = errors
        .into_iter()
        .reduce(|mut all, next| {
            all.combine(next);
            all
        })
        .map(Error::into_compile_error);
    quote!(#errors #code)
}

/// The rewrite itself:
///
/// ```text
/// #attributes [#[::core::prelude::v1::test]] #visibility fn #name() -> #output {
///     #inner_attributes
///     let body = async move {
///         if false {
///             return ::corun::__private::output_type::<#output>();
///         }
///         { #body }
///     };
///     [::corun::__private::loop_factory(]
///         ::corun::__private::Config::new()[.debug(#debug)]
///     [, #path)]
///         .main_name("#name")
///         .run(body)
/// }
/// ```
///
/// (`#[corun::test]` ends in `::corun::__private::run_test(<config>.main_name("#name"), body)`
/// instead of `.run(body)`.)
///
/// Glue is located at the user's code (so errors land there) but keeps the macro's hygiene and
/// expansion context (so lints like `unused_braces` do not fire on code the user did not
/// write). The `return` that never runs fixes the async block's return type to the declared
/// one before the body is checked, so `?` converts errors into it and a mismatch is reported at
/// the body's tail expression; and since the body comes last, a diverging body (`loop { .. }`)
/// leaves no code unreachable. `-> impl Trait` has its output inferred instead, and `-> !` is
/// the return type of an async closure (`async move || -> ! #body`), the one place stable Rust
/// accepts it. The body's inner attributes go on the rewritten `fn`, where they mean what they
/// meant on the `async fn`.
fn function_with_runtime(kind: Kind, options: Options, function: &Function) -> TokenStream {
    let krate = match &options.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::corun),
    };
    let body_span = function.braces.span.join();
    let glue = Span::call_site().located_at(body_span);
    let body_var = Ident::new("body", Span::mixed_site().located_at(body_span));
    let body = group(Delimiter::Brace, function.body.clone(), glue);

    let output = validate::output(function);
    let future = match &output {
        Output::Unit => typed_async_block(&krate, quote!(()), &body, glue),
        Output::Named(declared) => {
            typed_async_block(&krate, declared.to_token_stream(), &body, glue)
        }
        Output::Opaque => quote_spanned!(glue=> async move #body),
        Output::Never => quote_spanned!(glue=> async move || -> ! #body),
    };
    let run_argument = match output {
        Output::Never => quote_spanned!(glue=> #body_var()),
        _ => body_var.to_token_stream(),
    };

    let debug = options.debug.map(|on| quote!(.debug(#on)));
    let mut config = quote!(#krate::__private::Config::new() #debug);
    if let Some(path) = &options.loop_factory {
        config = loop_factory_call(&krate, config, path);
    }
    let main_name = Literal::string(&validate::unraw(&function.name));
    let config = quote_spanned!(glue=> #config.main_name(#main_name));
    let inner_attributes = &function.inner_attributes;
    let statements = match &options.workers {
        Some(count) => {
            let run = with_workers(kind, &krate, config, count, &body_var, &output, glue);
            // Each worker calls the closure for its own main future; `-> !` needs no async
            // closure here, as nothing is returned from the workers' outputs.
            let future = match output {
                Output::Never => quote_spanned!(glue=> async move #body),
                _ => future,
            };
            quote_spanned!(glue=>
                #(#inner_attributes)*
                let #body_var = |_: #krate::__private::Worker| #future;
                #run
            )
        }
        None => {
            let run = match kind {
                Kind::Entry | Kind::Main => quote_spanned!(glue=> #config.run(#run_argument)),
                Kind::Test => quote_spanned!(glue=>
                    #krate::__private::run_test(#config, #run_argument)
                ),
            };
            quote_spanned!(glue=>
                #(#inner_attributes)*
                let #body_var = #future;
                #run
            )
        }
    };

    let attributes = &function.attributes;
    let test = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    let head = function.plain_head();
    let output = &function.output;
    let where_clause = &function.where_clause;
    let block = group(Delimiter::Brace, statements, body_span);
    quote!(#(#attributes)* #test #head #output #where_clause #block)
}

/// The run of `workers = #count`: each worker's config made by the attribute's other options,
/// every worker's main from the closure `#body_var`, and their outputs made into the function's
/// one output by `workers_output`, whose bound says which return types can be (the call is
/// located at the declared return type, so an error lands there). `-> !`: no worker returns, so
/// nothing follows the run but `unreachable!`.
///
/// ```text
/// let outputs = ::corun::__private::Workers::new(#count)
///     .config(move || <config>.main_name("#name"))
///     .run(body);
/// ::corun::__private::workers_output(outputs)
/// ```
fn with_workers(
    kind: Kind,
    krate: &TokenStream,
    config: TokenStream,
    count: &TokenStream,
    body_var: &Ident,
    output: &Output<'_>,
    glue: Span,
) -> TokenStream {
    // `Workers::new(#count)` located at the count, so that a count of the wrong type is
    // reported there alone.
    let at_count = Span::call_site().located_at(first_span(count, glue));
    let count = group(Delimiter::Parenthesis, count.clone(), at_count);
    let krate_at_count = relocated(krate, at_count);
    let new = quote_spanned!(at_count=> #krate_at_count::__private::Workers::new #count);
    let workers = quote_spanned!(glue=> #new.config(move || #config));
    let outputs = match kind {
        Kind::Entry | Kind::Main => quote_spanned!(glue=> #workers.run(#body_var)),
        Kind::Test => quote_spanned!(glue=>
            #krate::__private::run_workers_test(#workers, #body_var)
        ),
    };
    let at_output = match output {
        Output::Named(declared) => Span::call_site().located_at(first_span(declared, glue)),
        Output::Never => {
            return quote_spanned!(glue=>
                let _ = #outputs;
                ::core::unreachable!("a worker's main returning `!` returned")
            )
        }
        Output::Unit | Output::Opaque => glue,
    };
    // Through a variable located at the return type: rustc reports the unmet bound at the
    // argument, whose type names the output.
    let outputs_var = Ident::new("outputs", Span::mixed_site().located_at(at_output));
    let krate = relocated(krate, at_output);
    let arguments = group(
        Delimiter::Parenthesis,
        outputs_var.to_token_stream(),
        at_output,
    );
    let call = quote_spanned!(at_output=> #krate::__private::workers_output #arguments);
    quote_spanned!(glue=>
        let #outputs_var = #outputs;
        #call
    )
}

/// `async move { if false { return #krate::__private::output_type::<#output>(); } #body }`,
/// the call located at the declared type, so that rustc's "return type inferred to be .. here"
/// points at it.
fn typed_async_block(
    krate: &TokenStream,
    output: TokenStream,
    body: &Group,
    glue: Span,
) -> TokenStream {
    let at_output = Span::call_site().located_at(first_span(&output, glue));
    let parentheses = group(
        Delimiter::Parenthesis,
        TokenStream::new(),
        Span::call_site().located_at(last_span(&output, glue)),
    );
    let krate = relocated(krate, at_output);
    let call = quote_spanned!(at_output=> #krate::__private::output_type::<#output>);
    quote_spanned!(glue=> async move {
        if false {
            return #call #parentheses;
        }
        #body
    })
}

/// `#krate::__private::loop_factory(#config, #path)`, the call located at the path.
///
/// The helper's bounds are where a wrong path is caught, and rustc reports an unmet bound that
/// no argument's type names at the whole call, so the call itself is given the path's location:
/// the error then underlines the path, not the attribute.
///
/// A path that looks like a type (`corun::loops::VirtualTimeLoop`, a common slip for its
/// `::new`) is read through a `use`, so that a type without a value of that name does not stop
/// the build at name resolution ("expected value, found struct") but reaches the helper as a
/// stand-in whose bound says to name the constructor
/// (`corun::__private::type_like_loop_factory`).
fn loop_factory_call(krate: &TokenStream, config: TokenStream, path: &ExprPath) -> TokenStream {
    let call_site = Span::call_site();
    let at_path = call_site.located_at(first_span(path, call_site));
    let krate = relocated(krate, at_path);
    let (helper, factory) = if looks_like_a_type(path) {
        let name = Ident::new("__corun_loop_factory", at_path);
        // The block's braces (which rustc underlines as the argument) are at the path's last
        // segment: the type's name.
        let at_name = call_site.located_at(last_span(path, call_site));
        let stand_in = quote_spanned!(at_path=>
            #[allow(unused_imports)]
            use #krate::__private::type_given::*;
            #[allow(unused_imports)]
            use #path as #name;
            #name
        );
        let factory = group(Delimiter::Brace, stand_in, at_name).into_token_stream();
        (quote_spanned!(at_path=> type_like_loop_factory), factory)
    } else {
        (
            quote_spanned!(at_path=> loop_factory),
            path.to_token_stream(),
        )
    };
    let arguments = group(
        Delimiter::Parenthesis,
        quote_spanned!(at_path=> #config, #factory),
        call_site.located_at(last_span(path, call_site)),
    );
    quote_spanned!(at_path=> #krate::__private::#helper #arguments)
}

/// A plain path (no `<..>`, so a `use` can name it) whose last segment is `UpperCamelCase`.
fn looks_like_a_type(path: &ExprPath) -> bool {
    let plain = path.qself.is_none()
        && path
            .path
            .segments
            .iter()
            .all(|segment| segment.arguments.is_none());
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let name = last.ident.to_string();
    plain
        && name.starts_with(|first: char| first.is_ascii_uppercase())
        && name.contains(|letter: char| letter.is_ascii_lowercase())
}

/// Copies of `tokens`, each moved to `span`'s location with its own hygiene (a group keeps its
/// contents' spans).
fn relocated(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut token| {
            token.set_span(token.span().located_at(span));
            token
        })
        .collect()
}

/// A group around `contents`, its delimiters at `span`.
fn group(delimiter: Delimiter, contents: TokenStream, span: Span) -> Group {
    let mut group = Group::new(delimiter, contents);
    group.set_span(span);
    group
}

/// The span of the first token of `tokens`, or `otherwise` when there is none.
fn first_span(tokens: impl ToTokens, otherwise: Span) -> Span {
    tokens
        .into_token_stream()
        .into_iter()
        .next()
        .map_or(otherwise, |token| token.span())
}

/// The span of the last token of `tokens`, or `otherwise` when there is none.
fn last_span(tokens: impl ToTokens, otherwise: Span) -> Span {
    tokens
        .into_token_stream()
        .into_iter()
        .last()
        .map_or(otherwise, |token| token.span())
}
