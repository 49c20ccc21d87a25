//! Fallback: what is emitted next to the errors when the signature is rejected.
//!
//! A plain, synchronous version of the user's function whose body is `loop {}`: it has the
//! same name, visibility, attributes and (when it can be kept) return type, so callers, `main`
//! lookup and the IDE keep working, and no second error follows the macro's own.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::contains_impl;
use crate::parse::{Attribute, Function};

/// `#attributes #[allow(dead_code)] #visibility fn #name() [-> #output] { loop {} }`.
///
/// Generics and parameters are dropped (they are what was rejected, and `main` or a test may not
/// have them). The return type is dropped too when it may name a dropped generic or is an
/// `impl Trait` that `loop {}` cannot satisfy.
pub(crate) fn sync_function(function: &Function) -> TokenStream {
    let attributes = function.attributes.iter().map(Attribute::tokens);
    let visibility = &function.visibility;
    let qualifiers = &function.other_qualifiers;
    let fn_token = &function.fn_token;
    let name = &function.name;
    let keep_output = !function.output.is_empty()
        && function.generics.is_empty()
        && !contains_impl(function.output.iter());
    let arrow_and_output = if keep_output {
        let output = &function.output;
        quote!(-> #(#output)*)
    } else {
        TokenStream::new()
    };
    let where_clause = if function.generics.is_empty() {
        function.where_clause.as_slice()
    } else {
        &[]
    };
    quote! {
        #(#attributes)*
        #[allow(dead_code)]
        #(#visibility)* #(#qualifiers)* #fn_token #name() #arrow_and_output #(#where_clause)* {
            loop {}
        }
    }
}
