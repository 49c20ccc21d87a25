// `-> !` works: the body must not return, as in any `fn main() -> !`.

#[corun::entry]
async fn main() -> ! {
    corun::yield_now().await;
    std::process::exit(0)
}
