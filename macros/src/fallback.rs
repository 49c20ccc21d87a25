//! Fallback: what is emitted next to the errors when the signature is rejected.
//!
//! A plain, synchronous version of the user's function whose body is `loop {}`: it has the
//! same name, visibility, attributes and (when it can be kept) return type, so callers, `main`
//! lookup and the IDE keep working, and no second error follows the macro's own.

use proc_macro2::{Group, TokenStream};
use quote::quote;

use crate::parse::Function;
use crate::validate::{self, Output};

/// `#attributes #[allow(dead_code)] #visibility fn #name() [-> #output] { loop {} }`.
///
/// Generics and parameters are dropped (they are what was rejected, and `main` or a test may not
/// have them). The return type is dropped too when it may name a dropped generic or is an
/// `impl Trait` that `loop {}` cannot satisfy.
pub(crate) fn function(function: &Function) -> TokenStream {
    let attributes = &function.attributes;
    let head = function.plain_head();
    let generic = function.generics.lt_token.is_some();
    let opaque = matches!(validate::output(function), Output::Opaque);
    let output = (!generic && !opaque).then_some(&function.output);
    let where_clause = (!generic).then_some(&function.where_clause);
    let mut body = Group::new(proc_macro2::Delimiter::Brace, quote!(loop {}));
    body.set_span(function.braces.span.join());
    quote!(#(#attributes)* #[allow(dead_code)] #head #output #where_clause #body)
}
