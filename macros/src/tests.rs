//! Unit tests of the pipeline, without the compiler: expansions as text, errors as messages,
//! and a property test that the macro never panics and always emits lexable tokens.

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use proptest::prelude::*;

use crate::expand;
use crate::validate::Kind;

fn tokens(text: &str) -> TokenStream {
    text.parse().expect("test input lexes")
}

/// Tokens printed one space apart whatever their spacing, so that expansions compare by shape.
fn canonical(stream: TokenStream) -> String {
    let mut text = String::new();
    for token in stream {
        let piece = match token {
            TokenTree::Group(group) => {
                let inner = canonical(group.stream());
                match group.delimiter() {
                    Delimiter::Parenthesis => format!("( {inner} )"),
                    Delimiter::Brace => format!("{{ {inner} }}"),
                    Delimiter::Bracket => format!("[ {inner} ]"),
                    Delimiter::None => inner,
                }
            }
            other => other.to_string(),
        };
        text.push_str(&piece);
        text.push(' ');
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` in the form expansions are compared in.
fn norm(text: &str) -> String {
    canonical(tokens(text))
}

fn entry(args: &str, item: &str) -> String {
    canonical(expand::attribute(Kind::Entry, tokens(args), tokens(item)))
}

fn test(args: &str, item: &str) -> String {
    canonical(expand::attribute(Kind::Test, tokens(args), tokens(item)))
}

/// The messages of the `compile_error!`s in an expansion, in order.
fn errors(expansion: &str) -> Vec<String> {
    expansion
        .split("compile_error ! {")
        .skip(1)
        .map(|rest| {
            let literal = rest.split(" }").next().unwrap_or_default().trim();
            literal.trim_matches('"').to_owned()
        })
        .collect()
}

#[test]
fn plain_main_runs_its_body_on_a_config() {
    let expansion = entry("", "async fn main() { work().await; }");
    assert_eq!(
        expansion,
        norm(
            "fn main() {
                let body = async move {
                    if false {
                        return ::corun::__private::output_type::<()>();
                    }
                    { work().await; }
                };
                ::corun::__private::Config::new().main_name(\"main\").run(body)
            }"
        )
    );
}

#[test]
fn unset_debug_does_not_call_debug() {
    assert!(!entry("", "async fn main() {}").contains(&norm(".debug")));
}

#[test]
fn debug_alone_means_true() {
    assert!(entry("debug", "async fn main() {}").contains(&norm(".debug(true)")));
}

#[test]
fn debug_false_is_passed_on() {
    assert!(entry("debug = false", "async fn main() {}").contains(&norm(".debug(false)")));
}

#[test]
fn loop_factory_goes_through_the_checking_helper() {
    let expansion = entry("loop_factory = my::Loop::<u8>::new", "async fn main() {}");
    assert!(expansion.contains(&norm(
        "::corun::__private::loop_factory(::corun::__private::Config::new(), my::Loop::<u8>::new)"
    )));
}

#[test]
fn a_type_like_loop_factory_is_read_through_a_use() {
    let expansion = entry("loop_factory = my::MyLoop", "async fn main() {}");
    assert!(
        expansion.contains(&norm(
            "::corun::__private::type_like_loop_factory(::corun::__private::Config::new(), {
                #[allow(unused_imports)] use ::corun::__private::type_given::*;
                #[allow(unused_imports)] use my::MyLoop as __corun_loop_factory;
                __corun_loop_factory
            })"
        )),
        "{expansion}"
    );
}

#[test]
fn constructors_and_constants_are_not_type_like() {
    for factory in [
        "my::MyLoop::new",
        "MY_FACTORY",
        "MyLoop::<u8>",
        "<MyLoop>::new",
    ] {
        let expansion = entry(&format!("loop_factory = {factory}"), "async fn main() {}");
        assert!(
            expansion.contains("loop_factory (") && !expansion.contains("type_like"),
            "{expansion}"
        );
    }
}

#[test]
fn crate_option_replaces_every_corun_path() {
    let expansion = entry(
        "crate = engine, loop_factory = engine::loops::VirtualTimeLoop::new",
        "async fn main() {}",
    );
    assert!(!expansion.contains(&norm("::corun")), "{expansion}");
    assert!(expansion.contains(&norm(
        "engine::__private::loop_factory(engine::__private::Config::new(), engine::loops::VirtualTimeLoop::new)"
    )));
}

#[test]
fn options_combine_in_any_order() {
    let expansion = entry(
        "loop_factory = f, crate = c, debug = true,",
        "async fn main() {}",
    );
    assert_eq!(errors(&expansion), Vec::<String>::new());
    assert!(expansion.contains(&norm(
        "c::__private::loop_factory(c::__private::Config::new().debug(true), f)"
    )));
}

#[test]
fn workers_run_every_worker_from_a_closure_and_merge_their_outputs() {
    let expansion = entry(
        "workers = 2 * n, crate = c, debug",
        "async fn main() -> Result<(), E> { Ok(()) }",
    );
    assert_eq!(errors(&expansion), Vec::<String>::new());
    for piece in [
        "let body = | _ : c::__private::Worker | async move",
        "let outputs = c::__private::Workers::new(2 * n)\
            .config(move || c::__private::Config::new().debug(true).main_name(\"main\"))\
            .run(body);",
        "c::__private::workers_output(outputs)",
    ] {
        assert!(
            expansion.contains(&norm(piece)),
            "no {piece} in {expansion}"
        );
    }
}

#[test]
fn a_test_with_workers_goes_through_the_test_entry() {
    let expansion = test("workers = N", "async fn both() {}");
    assert!(expansion.contains(&norm(
        "::corun::__private::run_workers_test(::corun::__private::Workers::new(N)\
            .config(move || ::corun::__private::Config::new().main_name(\"both\")), body)"
    )));
}

#[test]
fn a_worker_count_of_the_wrong_kind_is_rejected() {
    for (value, wrong) in [
        ("\"4\"", "not a string"),
        ("-1", "not a negative number"),
        ("- n", "not a negative number"),
        ("2.0", "not a float"),
        ("true", "not a bool"),
        ("'4'", "not a character"),
        ("4u8", "not a `u8`"),
    ] {
        let expansion = entry(&format!("workers = {value}"), "async fn main() {}");
        assert_eq!(
            errors(&expansion),
            [format!(
                "`workers` takes a number of worker threads (a `usize`), {wrong}: write \
                 `workers = 4` (0: one per core)"
            )],
            "workers = {value}"
        );
    }
    for value in ["4", "4usize", "0", "N", "cores() * 2", "config::WORKERS"] {
        let expansion = entry(&format!("workers = {value}"), "async fn main() {}");
        assert_eq!(
            errors(&expansion),
            Vec::<String>::new(),
            "workers = {value}"
        );
    }
}

#[test]
fn signature_parts_are_kept() {
    let expansion = entry(
        "",
        "/// Docs.\n#[inline] pub(crate) async unsafe extern \"C\" fn serve() -> Result<(), Box<dyn Error>> where u8: Copy { Ok(()) }",
    );
    let signature = norm(
        "#[doc = \" Docs.\"] #[inline] pub(crate) unsafe extern \"C\" fn serve() -> Result<(), Box<dyn Error>> where u8: Copy",
    );
    assert!(expansion.starts_with(&signature), "{expansion}");
    assert!(expansion.contains(&norm(
        "{ if false { return ::corun::__private::output_type::<Result<(), Box<dyn Error>>>(); } { Ok(()) } }"
    )));
    assert!(expansion.contains(&norm(".main_name(\"serve\")")));
}

#[test]
fn impl_trait_output_is_inferred() {
    let expansion = entry("", "async fn make() -> impl Display { 5 }");
    assert!(
        expansion.contains(&norm("let body = async move { 5 };")),
        "{expansion}"
    );
}

#[test]
fn never_output_is_the_closures_output() {
    let expansion = entry("", "async fn main() -> ! { loop {} }");
    assert!(
        expansion.starts_with(&norm("fn main() -> !"))
            && expansion.contains(&norm("let body = async move || -> ! { loop {} };"))
            && expansion.contains(&norm(".run(body())")),
        "{expansion}"
    );
}

#[test]
fn raw_names_are_unrawed_in_the_task_name() {
    assert!(entry("", "async fn r#async() {}").contains(&norm(".main_name(\"async\")")));
}

#[test]
fn main_is_entry_under_another_name() {
    let main = canonical(expand::attribute(
        Kind::Main,
        tokens("debug"),
        tokens("async fn main() {}"),
    ));
    assert_eq!(main, entry("debug", "async fn main() {}"));
}

#[test]
fn main_names_itself_in_its_errors() {
    let expansion = canonical(expand::attribute(
        Kind::Main,
        tokens(""),
        tokens("async fn main(argc: i32) {}"),
    ));
    assert_eq!(
        errors(&expansion),
        ["`#[corun::main]` takes a function without parameters: write `async fn main()`"]
    );
}

#[test]
fn tests_run_through_run_test() {
    let expansion = test("debug", "async fn works() {}");
    assert!(
        expansion.contains(&norm(
            "::corun::__private::run_test(::corun::__private::Config::new().debug(true).main_name(\"works\"), body)"
        )),
        "{expansion}"
    );
    assert!(!expansion.contains(". run ("), "{expansion}");
}

#[test]
fn inner_attributes_of_the_body_go_on_the_function() {
    let expansion = entry(
        "",
        "async fn main() -> impl Display { #![allow(unused)] //! Docs.\n 5 }",
    );
    assert!(
        expansion.starts_with(
            "fn main ( ) - > impl Display { # ! [ allow ( unused ) ] # ! [ doc = \" Docs.\" ] let body = async move { 5 } ;"
        ),
        "{expansion}"
    );
}

#[test]
fn invisible_groups_from_macro_rules_are_seen_through() {
    let invisible = |text: &str| TokenTree::Group(Group::new(Delimiter::None, tokens(text)));
    let item: TokenStream = [
        invisible(""),
        TokenTree::Ident(Ident::new("async", Span::call_site())),
        TokenTree::Ident(Ident::new("fn", Span::call_site())),
        TokenTree::Ident(Ident::new("main", Span::call_site())),
        TokenTree::Group(Group::new(Delimiter::Parenthesis, TokenStream::new())),
        invisible("{ work().await; }"),
    ]
    .into_iter()
    .collect();
    let args: TokenStream = tokens("debug = ")
        .into_iter()
        .chain([invisible("false")])
        .chain(tokens(", loop_factory = "))
        .chain([invisible("my::make")])
        .collect();
    let expansion = canonical(expand::attribute(Kind::Entry, args, item));
    assert_eq!(errors(&expansion), Vec::<String>::new());
    assert!(
        expansion.contains(&norm(
            "::corun::__private::loop_factory(::corun::__private::Config::new().debug(false), my::make)"
        )),
        "{expansion}"
    );
    assert!(
        expansion.contains(&norm("{ work().await; }")),
        "{expansion}"
    );
}

#[test]
fn test_attribute_goes_after_the_users_attributes() {
    let expansion = test("", "#[should_panic] async fn fails() { panic!() }");
    assert!(
        expansion.starts_with(&norm(
            "#[should_panic] #[::core::prelude::v1::test] fn fails()"
        )),
        "{expansion}"
    );
}

#[test]
fn missing_async_is_a_coroutine_error() {
    let expansion = entry("", "fn main() {}");
    assert_eq!(
        errors(&expansion),
        ["a coroutine was expected, found a plain `fn`: write `async fn main`"]
    );
    assert!(expansion.contains(&norm("fn main () { loop { } }")));
}

#[test]
fn parameters_are_rejected_and_dropped_from_the_fallback() {
    let expansion = entry("", "async fn main(argc: i32) -> u8 { 0 }");
    assert_eq!(
        errors(&expansion),
        ["`#[corun::entry]` takes a function without parameters: write `async fn main()`"]
    );
    assert!(expansion.contains(&norm("fn main () -> u8 { loop { } }")));
}

#[test]
fn self_is_rejected() {
    let expansion = entry("", "async fn run(&mut self) {}");
    assert_eq!(
        errors(&expansion),
        ["`#[corun::entry]` cannot run a method: remove `self` and write `async fn run()`"]
    );
}

#[test]
fn generics_are_rejected_and_the_output_that_may_name_them_dropped() {
    let expansion = entry(
        "",
        "async fn make<T: Fn() -> u8>() -> T where T: Default { T::default() }",
    );
    assert_eq!(
        errors(&expansion),
        ["`#[corun::entry]` takes a function without generic parameters: write `async fn make()`"]
    );
    assert!(
        expansion.contains(&norm("fn make () { loop { } }")),
        "{expansion}"
    );
}

#[test]
fn const_is_rejected() {
    let expansion = entry("", "const async fn main() {}");
    assert_eq!(
        errors(&expansion),
        ["`#[corun::entry]` cannot run a `const fn`: remove `const` and write `async fn main`"]
    );
}

#[test]
fn items_that_are_not_functions_are_given_back() {
    let expansion = entry("", "pub struct Main;");
    assert_eq!(
        errors(&expansion),
        ["expected `async fn`, found `struct`: `#[corun::entry]` goes on a function like `async fn main() {}`"]
    );
    assert!(expansion.ends_with("pub struct Main ;"));
}

#[test]
fn every_option_error_is_reported_together() {
    let expansion = entry(
        "flavor = \"current_thread\", debug = 1, debug, loop_factory",
        "async fn main() {}",
    );
    assert_eq!(
        errors(&expansion),
        [
            "unknown option `flavor`: the options are `debug`, `debug = true|false`, `loop_factory = path`, `workers = N` and `crate = path`",
            "`debug` takes a bool: write `debug`, `debug = true` or `debug = false`",
            "option `debug` is given twice: remove this one",
            "`loop_factory` needs the path of a function that makes the loop: write `loop_factory = corun::loops::VirtualTimeLoop::new`",
        ]
    );
    // The valid function is still expanded, so no second error follows.
    assert!(expansion.contains(&norm(".run(body)")));
}

#[test]
fn a_loop_factory_that_is_not_a_path_is_rejected() {
    let expansion = entry("loop_factory = || make()", "async fn main() {}");
    assert_eq!(
        errors(&expansion),
        ["`loop_factory` takes the path of a function that makes the loop: write `loop_factory = corun::loops::VirtualTimeLoop::new`"]
    );
}

#[test]
fn qualified_paths_are_loop_factories() {
    let expansion = entry(
        "loop_factory = <my::Loop as Default>::default",
        "async fn main() {}",
    );
    assert_eq!(errors(&expansion), Vec::<String>::new());
}

#[test]
fn an_option_without_equals_is_rejected() {
    let expansion = entry("debug true", "async fn main() {}");
    assert_eq!(
        errors(&expansion),
        ["expected `=` or `,` after `debug`, found `true`"]
    );
}

#[test]
fn a_second_test_attribute_is_rejected() {
    let expansion = test("", "#[test] async fn twice() {}");
    assert_eq!(
        errors(&expansion),
        ["this function is already a test: remove this attribute, `#[corun::test]` adds `#[test]` itself"]
    );
}

#[test]
fn cfg_test_is_not_a_test_attribute() {
    assert_eq!(
        errors(&test("", "#[cfg(test)] async fn only_in_tests() {}")),
        Vec::<String>::new()
    );
}

// Property test: random arguments and items never make the macro panic, and what it emits
// always lexes again. `PROPTEST_CASES` sets the number of cases (default: a few seconds' worth).

fn proptest_config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const IDENTS: &[&str] = &[
    "fn",
    "async",
    "pub",
    "const",
    "unsafe",
    "extern",
    "where",
    "impl",
    "self",
    "Self",
    "crate",
    "debug",
    "loop_factory",
    "workers",
    "true",
    "false",
    "test",
    "main",
    "r#type",
    "struct",
    "mut",
    "dyn",
    "u8",
    "x",
];
const PUNCTS: &[char] = &[
    '#', '<', '>', '-', ':', ',', '=', '!', '&', ';', '.', '+', '*', '?', '|', '@',
];
const FRAGMENTS: &[&str] = &[
    "async fn main()",
    "fn f(x: u8)",
    "#[test]",
    "#[doc = \"x\"]",
    "pub(crate)",
    "-> Result<(), Box<dyn Error>>",
    "-> impl Fn() -> u8",
    "-> !",
    "<T: Fn() -> u8>",
    "where T: Copy",
    "{ body().await? }",
    "debug = true",
    "loop_factory = a::B::<C, D>::new",
    "workers = 4",
    "crate = ::x",
    "extern \"C\"",
    "(&self)",
];

fn token_tree() -> impl Strategy<Value = TokenTree> {
    let leaf = prop_oneof![
        prop::sample::select(IDENTS).prop_map(|name| TokenTree::Ident(
            if let Some(raw) = name.strip_prefix("r#") {
                Ident::new_raw(raw, Span::call_site())
            } else {
                Ident::new(name, Span::call_site())
            }
        )),
        (prop::sample::select(PUNCTS), any::<bool>()).prop_map(|(ch, joint)| {
            TokenTree::Punct(Punct::new(
                ch,
                if joint {
                    Spacing::Joint
                } else {
                    Spacing::Alone
                },
            ))
        }),
        any::<u8>().prop_map(|n| TokenTree::Literal(Literal::u8_unsuffixed(n))),
        "[a-z\"`]{0,4}".prop_map(|s| TokenTree::Literal(Literal::string(&s))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        (
            prop::sample::select(
                &[
                    Delimiter::Parenthesis,
                    Delimiter::Brace,
                    Delimiter::Bracket,
                    Delimiter::None,
                ][..],
            ),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|(delimiter, trees)| {
                TokenTree::Group(Group::new(delimiter, trees.into_iter().collect()))
            })
    })
}

/// Random tokens mixed with pieces of real signatures, so that deep paths are reached too.
fn token_stream() -> impl Strategy<Value = TokenStream> {
    let chunk = prop_oneof![
        prop::sample::select(FRAGMENTS).prop_map(tokens),
        prop::collection::vec(token_tree(), 0..4).prop_map(TokenStream::from_iter),
    ];
    prop::collection::vec(chunk, 0..6).prop_map(TokenStream::from_iter)
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn never_panics_and_always_relexes(args in token_stream(), item in token_stream(), is_test in any::<bool>()) {
        // Only inputs that lex again themselves can be expected to give output that does.
        prop_assume!(args.to_string().parse::<TokenStream>().is_ok());
        prop_assume!(item.to_string().parse::<TokenStream>().is_ok());
        let kind = if is_test { Kind::Test } else { Kind::Entry };
        let output = expand::attribute(kind, args, item);
        let text = output.to_string();
        prop_assert!(text.parse::<TokenStream>().is_ok(), "does not lex: {}", text);
    }
}
