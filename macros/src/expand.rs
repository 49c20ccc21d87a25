//! Expand: the whole pipeline, and the rewrite of a valid `async fn` into a plain `fn`.

use crate::tt::{Delimiter, Ident, Literal, TokenStream, TokenTree};

use crate::fallback;
use crate::parse;
use crate::tokens::{
    code, copy, first_span, group, group_of_one, group_of_stream, ident_is, last_span, push_code,
    push_copies, push_ident, push_relocated, stream, trees, Span, Tokens,
};
use crate::validate::{self, Kind, Options};

/// Parse → validate → expand, or fall back to a compiling sync fn next to the errors.
///
/// A plain function of token streams so that it can be tested without the compiler; it never
/// panics, whatever it is given.
pub(crate) fn attribute(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    // The compile errors come first (the options', then the signature's), then the item.
    let mut output = Vec::new();
    let options = validate::options(args, &mut output);
    let mut tokens = trees(item);
    let function = match parse::function(&tokens, kind.attribute()) {
        Ok(function) => function,
        Err(error) => {
            // Not a function: the item is given back untouched, so nothing else breaks.
            error.push_to(&mut output);
            output.append(&mut tokens);
            return stream(output);
        }
    };
    if !validate::signature(kind, &function, &mut output) {
        fallback::push_sync_function(&mut output, &function);
        return stream(output);
    }
    // Option errors alone do not stop the expansion: the valid options are applied, so the
    // body is still checked and the IDE still sees a runnable function.
    push_function_with_runtime(&mut output, kind, options, &function);
    stream(output)
}

/// How the body's output type is fixed.
enum Output {
    /// No `->` (the output is `()`) or a type that can be named: the async block's return type
    /// is set to it before the body runs (see [`push_function_with_runtime`]).
    Named(Tokens),
    /// `-> impl Trait`: cannot be named, so the block's output is inferred from the function's.
    Opaque,
    /// `-> !`: cannot be named in a generic argument on stable, but can be an async closure's
    /// return type.
    Never,
}

fn output_kind(function: &parse::Function) -> Output {
    let output = function.output;
    if output.is_empty() {
        return Output::Named(code("()", Span::call_site()));
    }
    if let [TokenTree::Punct(bang)] = output {
        if bang.as_char() == '!' {
            return Output::Never;
        }
    }
    if contains_impl(output) {
        return Output::Opaque;
    }
    Output::Named(copy(output))
}

/// Whether `impl` appears anywhere in the tokens (`impl Trait`, `Box<impl Trait>`).
pub(crate) fn contains_impl(tokens: &[TokenTree]) -> bool {
    for token in tokens {
        let found = match token {
            TokenTree::Ident(ident) => ident_is(ident, "impl"),
            TokenTree::Group(group) => contains_impl(&trees(group.stream())),
            _ => false,
        };
        if found {
            return true;
        }
    }
    false
}

/// Appends the rewrite itself:
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
fn push_function_with_runtime(
    item: &mut Tokens,
    kind: Kind,
    options: Options,
    function: &parse::Function,
) {
    let call_site = Span::call_site();
    let krate = match options.krate {
        Some(path) => path,
        None => code("::corun", call_site),
    };

    // Glue is located at the user's code (so errors land there) but keeps the macro's hygiene
    // and expansion context (so lints like `unused_braces` do not fire on code the user did not
    // write).
    let body_span = function.body.span();
    let glue = call_site.located_at(body_span);
    let body_var = Ident::new("body", Span::mixed_site().located_at(body_span));
    let body = group_of_stream(Delimiter::Brace, function.body.stream(), glue);

    let mut statements = code("let", glue);
    push_ident(&mut statements, &body_var);
    push_code(&mut statements, "=", glue);
    let mut run_arguments = Vec::new();
    push_ident(&mut run_arguments, &body_var);
    match output_kind(function) {
        Output::Named(mut output) => {
            // Located at the declared type, so that rustc's "return type inferred to be ..
            // here" points at it.
            let at_output = call_site.located_at(first_span(&output, glue));
            let last = last_span(&output, glue);
            let mut early_return = code("return", glue);
            push_relocated(&mut early_return, &krate, at_output);
            push_code(&mut early_return, "::__private::output_type::<", at_output);
            early_return.append(&mut output);
            push_code(&mut early_return, ">", at_output);
            early_return.push(group(
                Delimiter::Parenthesis,
                Vec::new(),
                call_site.located_at(last),
            ));
            push_code(&mut early_return, ";", glue);
            let mut block = code("if false", glue);
            block.push(group(Delimiter::Brace, early_return, glue));
            block.push(body);
            push_code(&mut statements, "async move", glue);
            statements.push(group(Delimiter::Brace, block, glue));
        }
        Output::Opaque => {
            push_code(&mut statements, "async move", glue);
            statements.push(body);
        }
        Output::Never => {
            push_code(&mut statements, "async move || -> !", glue);
            statements.push(body);
            push_code(&mut run_arguments, "()", glue);
        }
    }
    push_code(&mut statements, ";", glue);

    let mut config = copy(&krate);
    push_code(&mut config, "::__private::Config::new()", call_site);
    match options.debug {
        Some(true) => push_code(&mut config, ".debug(true)", call_site),
        Some(false) => push_code(&mut config, ".debug(false)", call_site),
        None => {}
    }
    match options.loop_factory {
        Some(path) => push_loop_factory(&mut statements, &krate, config, path),
        None => statements.append(&mut config),
    }
    let main_name = TokenTree::Literal(Literal::string(&validate::unraw(function.name)));
    push_code(&mut statements, ".main_name", glue);
    statements.push(group_of_one(Delimiter::Parenthesis, main_name, glue));
    push_code(&mut statements, ".run", glue);
    statements.push(group(Delimiter::Parenthesis, run_arguments, glue));

    push_copies(item, function.attributes);
    if kind == Kind::Test {
        push_code(item, "#[::core::prelude::v1::test]", call_site);
    }
    push_head(item, function);
    if !function.output.is_empty() {
        push_code(item, "->", call_site);
        push_copies(item, function.output);
    }
    push_copies(item, function.where_clause);
    item.push(group(Delimiter::Brace, statements, function.body.span()));
}

/// Appends `::corun::__private::loop_factory(#config, #path)`, the call located at the path.
///
/// The helper's bounds are where a wrong path is caught, and rustc reports an unmet bound that
/// no argument's type names at the whole call, so the call itself is given the path's location:
/// the error then underlines the path, not the attribute.
fn push_loop_factory(tokens: &mut Tokens, krate: &[TokenTree], config: Tokens, mut path: Tokens) {
    let call_site = Span::call_site();
    let at_path = call_site.located_at(first_span(&path, call_site));
    let last = last_span(&path, call_site);
    let mut arguments = config;
    push_code(&mut arguments, ",", at_path);
    arguments.append(&mut path);
    push_relocated(tokens, krate, at_path);
    push_code(tokens, "::__private::loop_factory", at_path);
    tokens.push(group(
        Delimiter::Parenthesis,
        arguments,
        call_site.located_at(last),
    ));
}

/// Appends `#visibility #qualifiers fn #name()`, without `const` and `async`: the head of the rewritten function, shared
/// with the fallback. The parentheses keep the span of the user's parameter list.
pub(crate) fn push_head(item: &mut Tokens, function: &parse::Function) {
    push_copies(item, function.visibility);
    for qualifier in function.qualifiers {
        let is_const_or_async = matches!(qualifier,
            TokenTree::Ident(ident) if ident_is(ident, "const") || ident_is(ident, "async"));
        if !is_const_or_async {
            item.push(qualifier.clone());
        }
    }
    push_ident(item, function.fn_token);
    push_ident(item, function.name);
    item.push(group(
        Delimiter::Parenthesis,
        Vec::new(),
        function.parameters.span(),
    ));
}
