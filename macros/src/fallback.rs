//! Fallback: what is emitted next to the errors when the signature is rejected.
//!
//! A plain, synchronous version of the user's function whose body is `loop {}`: it has the
//! same name, visibility, attributes and (when it can be kept) return type, so callers, `main`
//! lookup and the IDE keep working, and no second error follows the macro's own.

use crate::tt::Delimiter;

use crate::expand::{contains_impl, push_head};
use crate::parse::Function;
use crate::tokens::{code, group, push_code, push_copies, Span, Tokens};

/// Appends `#attributes #[allow(dead_code)] #visibility fn #name() [-> #output] { loop {} }`.
///
/// Generics and parameters are dropped (they are what was rejected, and `main` or a test may not
/// have them). The return type is dropped too when it may name a dropped generic or is an
/// `impl Trait` that `loop {}` cannot satisfy.
pub(crate) fn push_sync_function(item: &mut Tokens, function: &Function) {
    let call_site = Span::call_site();
    push_copies(item, function.attributes);
    push_code(item, "#[allow(dead_code)]", call_site);
    push_head(item, function);
    let keep_output = !function.output.is_empty()
        && function.generics.is_empty()
        && !contains_impl(function.output);
    if keep_output {
        push_code(item, "->", call_site);
        push_copies(item, function.output);
    }
    if function.generics.is_empty() {
        push_copies(item, function.where_clause);
    }
    item.push(group(
        Delimiter::Brace,
        code("loop {}", call_site),
        function.body.span(),
    ));
}
