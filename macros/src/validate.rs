//! Validate: decide what the parsed options and signature mean, or why they are rejected.

use crate::tt::{Ident, Spacing, Span, TokenStream, TokenTree};

use crate::error::{message, Error};
use crate::parse::{is_test_attribute, AngleDepth, Function, OptionList, RawOption, VALID_OPTIONS};
use crate::tokens::{ident_is, is_punct, last_span, trees, Tokens};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[corun::entry]`.
    Entry,
    /// `#[corun::test]`.
    Test,
}

impl Kind {
    /// The attribute as users write it, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Entry => "#[corun::entry]",
            Kind::Test => "#[corun::test]",
        }
    }
}

/// The options of one attribute, each remembered with the span it was given at.
#[derive(Default)]
pub(crate) struct Options {
    /// `debug` or `debug = bool`; unset means "let `CORUN_DEBUG` decide".
    pub(crate) debug: Option<bool>,
    /// The path after `loop_factory =`.
    pub(crate) loop_factory: Option<Tokens>,
    /// The path after `crate =`.
    pub(crate) krate: Option<Tokens>,
}

/// Reads and checks every option of the attribute's arguments, appending one compile error per
/// mistake to `errors`, and keeps the valid ones.
///
/// The errors of pieces that are not `name [= value]` come first, then those of options that
/// are unknown, repeated or given a wrong value, each group in the order written.
pub(crate) fn options(args: TokenStream, errors: &mut Tokens) -> Options {
    let mut options = Options::default();
    let mut meaning_errors = Vec::new();
    let mut seen_debug = false;
    let mut seen_loop_factory = false;
    let mut seen_crate = false;
    let mut list = OptionList::new(args);
    while let Some(piece) = list.next() {
        let option = match piece {
            Ok(option) => option,
            Err(error) => {
                error.push_to(errors);
                continue;
            }
        };
        let name = option.name.to_string();
        let seen = match name.as_str() {
            "debug" => &mut seen_debug,
            "loop_factory" => &mut seen_loop_factory,
            "crate" => &mut seen_crate,
            _ => {
                let error = Error::new(
                    option.name.span(),
                    message(&[
                        "unknown option `",
                        &name,
                        "`: the options are ",
                        VALID_OPTIONS,
                    ]),
                );
                error.push_to(&mut meaning_errors);
                continue;
            }
        };
        if *seen {
            let otherwise = option.eq.unwrap_or(option.name.span());
            let error = Error::spanning(
                option.name.span(),
                last_span(&option.value, otherwise),
                message(&["option `", &name, "` is given twice: remove this one"]),
            );
            error.push_to(&mut meaning_errors);
            continue;
        }
        *seen = true;
        match name.as_str() {
            "debug" => match debug_value(&option) {
                Ok(on) => options.debug = Some(on),
                Err(error) => error.push_to(&mut meaning_errors),
            },
            "loop_factory" => match path_value(option, true) {
                Ok(path) => options.loop_factory = Some(path),
                Err(error) => error.push_to(&mut meaning_errors),
            },
            _ => match path_value(option, false) {
                Ok(path) => options.krate = Some(path),
                Err(error) => error.push_to(&mut meaning_errors),
            },
        }
    }
    errors.append(&mut meaning_errors);
    options
}

fn debug_value(option: &RawOption) -> Result<bool, Error> {
    let Some(eq) = option.eq else {
        return Ok(true);
    };
    if let [TokenTree::Ident(value)] = option.value.as_slice() {
        if ident_is(value, "true") {
            return Ok(true);
        }
        if ident_is(value, "false") {
            return Ok(false);
        }
    }
    Err(Error::covering(
        &option.value,
        eq,
        "`debug` takes a bool: write `debug`, `debug = true` or `debug = false`".to_owned(),
    ))
}

fn path_value(option: RawOption, is_loop_factory: bool) -> Result<Tokens, Error> {
    let (takes, needs) = if is_loop_factory {
        (
            "`loop_factory` takes the path of a function that makes the loop: \
             write `loop_factory = corun::loops::VirtualTimeLoop::new`",
            "`loop_factory` needs the path of a function that makes the loop: \
             write `loop_factory = corun::loops::VirtualTimeLoop::new`",
        )
    } else {
        (
            "`crate` takes the path of the corun crate: write `crate = my_corun`",
            "`crate` needs the path of the corun crate: write `crate = my_corun`",
        )
    };
    if option.eq.is_none() || option.value.is_empty() {
        let end = option.eq.unwrap_or(option.name.span());
        return Err(Error::spanning(option.name.span(), end, needs.to_owned()));
    }
    if !is_path(&option.value, is_loop_factory) {
        return Err(Error::covering(
            &option.value,
            option.name.span(),
            takes.to_owned(),
        ));
    }
    Ok(option.value)
}

/// Whether `tokens[index..]` starts with `::`.
fn is_colons(tokens: &[TokenTree], index: usize) -> bool {
    matches!((tokens.get(index), tokens.get(index + 1)),
        (Some(TokenTree::Punct(first)), Some(TokenTree::Punct(second)))
            if first.as_char() == ':' && first.spacing() == Spacing::Joint
                && second.as_char() == ':')
}

/// Skips a balanced `<...>` starting at `index`, returning the index after it.
fn skip_angles(tokens: &[TokenTree], mut index: usize) -> Option<usize> {
    let mut angles = AngleDepth::default();
    loop {
        angles.step(tokens.get(index)?);
        index += 1;
        if angles.depth == 0 {
            return Some(index);
        }
    }
}

/// Whether `tokens[index]` is a `<`.
fn is_angle_at(tokens: &[TokenTree], index: usize) -> bool {
    matches!(tokens.get(index), Some(token) if is_punct(token, '<'))
}

/// `a::b::c`, optionally with a leading `::`; with `generics`, also `Loop::<T>::new` and
/// `<Loop as Trait>::new`.
fn is_path(tokens: &[TokenTree], generics: bool) -> bool {
    let mut index = 0;
    if generics && is_angle_at(tokens, 0) {
        let Some(after) = skip_angles(tokens, 0) else {
            return false;
        };
        if !is_colons(tokens, after) {
            return false;
        }
        index = after + 2;
    } else if is_colons(tokens, 0) {
        index = 2;
    }
    loop {
        if !matches!(tokens.get(index), Some(TokenTree::Ident(_))) {
            return false;
        }
        index += 1;
        if index == tokens.len() {
            return true;
        }
        if !is_colons(tokens, index) {
            return false;
        }
        index += 2;
        if generics && is_angle_at(tokens, index) {
            let Some(after) = skip_angles(tokens, index) else {
                return false;
            };
            if after == tokens.len() {
                return true;
            }
            if !is_colons(tokens, after) {
                return false;
            }
            index = after + 2;
        }
    }
}

/// Checks that the function can be run by the attribute, appending one compile error per
/// problem to `errors`; whether there was none.
pub(crate) fn signature(kind: Kind, function: &Function, errors: &mut Tokens) -> bool {
    let attribute = kind.attribute();
    let name = unraw(function.name);
    let errors_before = errors.len();
    if let Some(constness) = function.constness {
        Error::new(
            constness.span(),
            message(&[
                "`",
                attribute,
                "` cannot run a `const fn`: remove `const` and write `async fn ",
                &name,
                "`",
            ]),
        )
        .push_to(errors);
    }
    if function.asyncness.is_none() {
        Error::new(
            function.fn_token.span(),
            message(&[
                "a coroutine was expected, found a plain `fn`: write `async fn ",
                &name,
                "`",
            ]),
        )
        .push_to(errors);
    }
    if !function.generics.is_empty() {
        Error::covering(
            function.generics,
            function.name.span(),
            message(&[
                "`",
                attribute,
                "` takes a function without generic parameters: write `async fn ",
                &name,
                "()`",
            ]),
        )
        .push_to(errors);
    }
    let parameters = trees(function.parameters.stream());
    if let Some(receiver) = self_token(&parameters) {
        Error::new(
            receiver,
            message(&[
                "`",
                attribute,
                "` cannot run a method: remove `self` and write `async fn ",
                &name,
                "()`",
            ]),
        )
        .push_to(errors);
    } else if !parameters.is_empty() {
        Error::covering(
            &parameters,
            function.parameters.span(),
            message(&[
                "`",
                attribute,
                "` takes a function without parameters: write `async fn ",
                &name,
                "()`",
            ]),
        )
        .push_to(errors);
    }
    if kind == Kind::Test {
        // The attributes come in pairs: `#`, `[...]`.
        let attributes = function.attributes;
        let mut index = 1;
        while index < attributes.len() {
            if let TokenTree::Group(brackets) = &attributes[index] {
                if is_test_attribute(brackets) {
                    Error::spanning(
                        attributes[index - 1].span(),
                        brackets.span(),
                        "this function is already a test: remove this attribute, `#[corun::test]` adds `#[test]` itself".to_owned(),
                    ).push_to(errors);
                }
            }
            index += 2;
        }
    }
    errors.len() == errors_before
}

/// The span of `self` in the first parameter (`self`, `&self`, `&'a mut self`, `self: Box<Self>`).
fn self_token(parameters: &[TokenTree]) -> Option<Span> {
    for token in parameters {
        match token {
            TokenTree::Punct(punct) if punct.as_char() == ',' || punct.as_char() == ':' => break,
            TokenTree::Ident(ident) if ident_is(ident, "self") => return Some(ident.span()),
            _ => {}
        }
    }
    None
}

/// The name without `r#`, as users and the task name see it.
pub(crate) fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(stripped) => message(&[stripped]),
        None => name,
    }
}
