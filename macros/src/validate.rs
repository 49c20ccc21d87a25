//! Validate: decide what the parsed options and signature mean, or why they are rejected.

use crate::tt::{Ident, Span, TokenStream, TokenTree};

use crate::error::Error;
use crate::parse::{self, AngleDepth, Function, RawOption, VALID_OPTIONS};

/// Which attribute is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    pub(crate) loop_factory: Option<TokenStream>,
    /// The path after `crate =`.
    pub(crate) krate: Option<TokenStream>,
}

/// Checks every option, pushing one error per mistake, and keeps the valid ones.
pub(crate) fn options(raw: Vec<RawOption>, errors: &mut Vec<Error>) -> Options {
    let mut options = Options::default();
    let mut seen: Vec<String> = Vec::new();
    for option in raw {
        let name = option.name.to_string();
        let known = matches!(name.as_str(), "debug" | "loop_factory" | "crate");
        if !known {
            errors.push(Error::new(
                option.name.span(),
                format!("unknown option `{name}`: the options are {VALID_OPTIONS}"),
            ));
            continue;
        }
        if seen.contains(&name) {
            let end = option
                .value
                .last()
                .map_or(option.eq.unwrap_or(option.name.span()), TokenTree::span);
            errors.push(Error::spanning(
                option.name.span(),
                end,
                format!("option `{name}` is given twice: remove this one"),
            ));
            continue;
        }
        seen.push(name.clone());
        match name.as_str() {
            "debug" => match debug_value(&option) {
                Ok(on) => options.debug = Some(on),
                Err(error) => errors.push(error),
            },
            "loop_factory" => match path_value(&option, true) {
                Ok(path) => options.loop_factory = Some(path),
                Err(error) => errors.push(error),
            },
            _ => match path_value(&option, false) {
                Ok(path) => options.krate = Some(path),
                Err(error) => errors.push(error),
            },
        }
    }
    options
}

fn debug_value(option: &RawOption) -> Result<bool, Error> {
    let Some(eq) = option.eq else {
        return Ok(true);
    };
    if let [TokenTree::Ident(value)] = option.value.as_slice() {
        if crate::tokens::ident_is(value, "true") {
            return Ok(true);
        }
        if crate::tokens::ident_is(value, "false") {
            return Ok(false);
        }
    }
    Err(Error::covering(
        &option.value,
        eq,
        "`debug` takes a bool: write `debug`, `debug = true` or `debug = false`",
    ))
}

fn path_value(option: &RawOption, is_loop_factory: bool) -> Result<TokenStream, Error> {
    let message = if is_loop_factory {
        "`loop_factory` takes the path of a function that makes the loop: \
         write `loop_factory = corun::loops::VirtualTimeLoop::new`"
    } else {
        "`crate` takes the path of the corun crate: write `crate = my_corun`"
    };
    if option.eq.is_none() || option.value.is_empty() {
        let end = option.eq.unwrap_or(option.name.span());
        return Err(Error::spanning(
            option.name.span(),
            end,
            message.replace(" takes ", " needs "),
        ));
    }
    if !is_path(&option.value, is_loop_factory) {
        return Err(Error::covering(&option.value, option.name.span(), message));
    }
    Ok(option.value.iter().cloned().collect())
}

/// `a::b::c`, optionally with a leading `::`; with `generics`, also `Loop::<T>::new` and
/// `<Loop as Trait>::new`.
fn is_path(tokens: &[TokenTree], generics: bool) -> bool {
    let mut index = 0;
    let is_colons = |index: usize| {
        matches!((tokens.get(index), tokens.get(index + 1)),
            (Some(TokenTree::Punct(first)), Some(TokenTree::Punct(second)))
                if first.as_char() == ':' && first.spacing() == crate::tt::Spacing::Joint
                    && second.as_char() == ':')
    };
    // Skips a balanced `<...>` starting at `index`, returning the index after it.
    let skip_angles = |mut index: usize| -> Option<usize> {
        let mut angles = AngleDepth::default();
        loop {
            angles.step(tokens.get(index)?);
            index += 1;
            if angles.depth == 0 {
                return Some(index);
            }
        }
    };
    if generics
        && tokens
            .first()
            .is_some_and(|token| parse::is_punct(token, '<'))
    {
        let Some(after) = skip_angles(0) else {
            return false;
        };
        if !is_colons(after) {
            return false;
        }
        index = after + 2;
    } else if is_colons(0) {
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
        if !is_colons(index) {
            return false;
        }
        index += 2;
        if generics
            && tokens
                .get(index)
                .is_some_and(|token| parse::is_punct(token, '<'))
        {
            let Some(after) = skip_angles(index) else {
                return false;
            };
            if after == tokens.len() {
                return true;
            }
            if !is_colons(after) {
                return false;
            }
            index = after + 2;
        }
    }
}

/// Checks that the function can be run by the attribute; one error per problem.
pub(crate) fn signature(kind: Kind, function: &Function) -> Vec<Error> {
    let attribute = kind.attribute();
    let name = unraw(&function.name);
    let mut errors = Vec::new();
    if let Some(constness) = &function.constness {
        errors.push(Error::new(
            constness.span(),
            format!(
                "`{attribute}` cannot run a `const fn`: remove `const` and write `async fn {name}`"
            ),
        ));
    }
    if function.asyncness.is_none() {
        errors.push(Error::new(
            function.fn_token.span(),
            format!("a coroutine was expected, found a plain `fn`: write `async fn {name}`"),
        ));
    }
    if !function.generics.is_empty() {
        errors.push(Error::covering(
            &function.generics,
            function.name.span(),
            format!("`{attribute}` takes a function without generic parameters: write `async fn {name}()`"),
        ));
    }
    let parameters: Vec<TokenTree> = function.parameters.stream().into_iter().collect();
    if let Some(receiver) = self_token(&parameters) {
        errors.push(Error::new(
            receiver,
            format!(
                "`{attribute}` cannot run a method: remove `self` and write `async fn {name}()`"
            ),
        ));
    } else if !parameters.is_empty() {
        errors.push(Error::covering(
            &parameters,
            function.parameters.span(),
            format!("`{attribute}` takes a function without parameters: write `async fn {name}()`"),
        ));
    }
    if kind == Kind::Test {
        for attribute in function
            .attributes
            .iter()
            .filter(|attribute| attribute.is_test())
        {
            errors.push(Error::spanning(
                attribute.pound.span(),
                attribute.brackets.span(),
                "this function is already a test: remove this attribute, `#[corun::test]` adds `#[test]` itself",
            ));
        }
    }
    errors
}

/// The span of `self` in the first parameter (`self`, `&self`, `&'a mut self`, `self: Box<Self>`).
fn self_token(parameters: &[TokenTree]) -> Option<Span> {
    parameters
        .iter()
        .take_while(|token| !parse::is_punct(token, ',') && !parse::is_punct(token, ':'))
        .find_map(|token| match token {
            TokenTree::Ident(ident) if crate::tokens::ident_is(ident, "self") => Some(ident.span()),
            _ => None,
        })
}

/// The name without `r#`, as users and the task name see it.
pub(crate) fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(stripped) => stripped.to_owned(),
        None => name,
    }
}
