//! Fuzzes the attribute's expansion: arbitrary bytes are lexed into an options stream and an
//! item stream and handed to `expand::attribute`, the function `#[corun::entry]`,
//! `#[corun::main]` and `#[corun::test]` call. It must never panic, and what it emits must lex again.
//!
//! A proc-macro crate can only export macros, so the pipeline's modules (everything but the thin
//! `lib.rs`) are compiled into this binary by path, on proc-macro2's tokens, as the macros
//! crate's own unit tests run them.
#![no_main]

#[path = "../../macros/src/expand.rs"]
mod expand;
#[path = "../../macros/src/fallback.rs"]
mod fallback;
#[path = "../../macros/src/parse.rs"]
mod parse;
#[path = "../../macros/src/validate.rs"]
mod validate;

use proc_macro2::TokenStream;

/// Lexes `text`, keeping only streams that print as something that lexes again (as the
/// property test does): the compiler never hands the macro anything else.
fn lex(text: &str) -> Option<TokenStream> {
    let stream: TokenStream = text.parse().ok()?;
    stream.to_string().parse::<TokenStream>().ok()?;
    Some(stream)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // The options and the item are split at the first NUL; without one, there are no options.
    let (args, item) = text.split_once('\0').unwrap_or(("", text));
    let (Some(args), Some(item)) = (lex(args), lex(item)) else {
        return;
    };
    let kind = match selector % 3 {
        0 => validate::Kind::Entry,
        1 => validate::Kind::Main,
        _ => validate::Kind::Test,
    };
    let output = expand::attribute(kind, args, item);
    let printed = output.to_string();
    assert!(
        printed.parse::<TokenStream>().is_ok(),
        "the expansion does not lex: {printed}"
    );
});
