// Without `debug`, the macro does not call `Config::debug`, so `CORUN_DEBUG` decides (read once
// per process, by the first run).

#[corun::entry]
async fn debug_from_environment() -> bool {
    corun::is_debug()
}

fn main() {
    std::env::set_var("CORUN_DEBUG", "1");
    assert!(debug_from_environment());
    std::env::set_var("CORUN_DEBUG", "0");
    assert!(debug_from_environment(), "a later change is not seen");
}
