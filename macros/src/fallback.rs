//! Fallback: what is emitted next to the errors when the signature is rejected.
//!
//! A plain, synchronous version of the user's function whose body is `loop {}`: it has the
//! same name, visibility, attributes and (when it can be kept) return type, so callers, `main`
//! lookup and the IDE keep working, and no second error follows the macro's own.

use crate::tt::{Delimiter, TokenStream};

use crate::expand::{contains_impl, push_head};
use crate::parse::{Attribute, Function};
use crate::tokens::{code, group, Push, Span};

/// `#attributes #[allow(dead_code)] #visibility fn #name() [-> #output] { loop {} }`.
///
/// Generics and parameters are dropped (they are what was rejected, and `main` or a test may not
/// have them). The return type is dropped too when it may name a dropped generic or is an
/// `impl Trait` that `loop {}` cannot satisfy.
pub(crate) fn sync_function(function: &Function) -> TokenStream {
    let call_site = Span::call_site();
    let mut item: TokenStream = function
        .attributes
        .iter()
        .flat_map(Attribute::tokens)
        .collect();
    item.push(code("#[allow(dead_code)]", call_site));
    push_head(&mut item, function);
    let keep_output = !function.output.is_empty()
        && function.generics.is_empty()
        && !contains_impl(function.output.iter());
    if keep_output {
        item.push(code("->", call_site))
            .push(function.output.iter().cloned());
    }
    if function.generics.is_empty() {
        item.push(function.where_clause.iter().cloned());
    }
    item.push([group(
        Delimiter::Brace,
        code("loop {}", call_site),
        function.body.span(),
    )]);
    item
}
