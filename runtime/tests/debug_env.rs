//! `CORUN_DEBUG` decides debug mode when the config does not. One test in its own binary: the
//! environment is per process, so no other test may read it while this one changes it.

use corun_runtime::{is_debug, Config};

fn debug_with_env(value: Option<&str>) -> bool {
    match value {
        Some(value) => std::env::set_var("CORUN_DEBUG", value),
        None => std::env::remove_var("CORUN_DEBUG"),
    }
    Config::new().run(async { is_debug() })
}

#[test]
fn corun_debug_env_var_sets_debug_mode_unless_the_config_does_and_false_no_off_mean_off() {
    assert!(!debug_with_env(None), "unset means off");
    assert!(!debug_with_env(Some("")), "empty means off");
    assert!(!debug_with_env(Some("0")), "\"0\" means off");
    for off in ["false", "FALSE", "no", "No", "off", "OFF", " off "] {
        assert!(!debug_with_env(Some(off)), "{off:?} means off");
    }
    assert!(debug_with_env(Some("1")), "\"1\" means on");
    assert!(debug_with_env(Some("true")), "\"true\" means on");
    assert!(debug_with_env(Some("yes")), "anything else means on");

    std::env::set_var("CORUN_DEBUG", "1");
    let configured = Config::new().debug(false).run(async { is_debug() });
    assert!(
        !configured,
        "Config::debug(false) wins over the environment"
    );
    std::env::set_var("CORUN_DEBUG", "0");
    let configured = Config::new().debug(true).run(async { is_debug() });
    assert!(configured, "Config::debug(true) wins over the environment");
    std::env::remove_var("CORUN_DEBUG");
}
