//! `CORUN_DEBUG` decides debug mode when the config does not, read once per process. Each value
//! is tried in a child process: this binary (`harness = false`) re-runs itself as the child when
//! `DEBUG_ENV_CHILD` is set, since the variable is read by the first run of a process.

use std::process::Command;

use corun_runtime::{is_debug, Config};

fn main() {
    if cfg!(miri) {
        println!("debug_env: skipped under Miri, which cannot start child processes");
        return;
    }
    if let Some(part) = std::env::var_os("DEBUG_ENV_CHILD") {
        child(part.to_str().expect("a child part is UTF-8"));
        return;
    }
    corun_debug_env_var_sets_debug_mode_unless_the_config_does_and_false_no_off_mean_off();
    println!("test corun_debug_env_var_sets_debug_mode_unless_the_config_does ... ok");
    corun_debug_is_read_once_per_process_by_the_first_run();
    println!("test corun_debug_is_read_once_per_process_by_the_first_run ... ok");
}

/// What the child prints: whether its runs were in debug mode.
fn child(part: &str) {
    let plain = || Config::new().run(async { is_debug() });
    match part {
        "plain" => println!("debug={}", plain()),
        "configured" => {
            let off = Config::new().debug(false).run(async { is_debug() });
            let on = Config::new().debug(true).run(async { is_debug() });
            println!("off={off} on={on}");
        }
        "changed" => {
            let first = plain();
            let flipped = if first { "0" } else { "1" };
            std::env::set_var("CORUN_DEBUG", flipped);
            println!("first={first} second={}", plain());
        }
        _ => panic!("unknown child part {part:?}"),
    }
}

/// Runs the `child` test in a new process with `CORUN_DEBUG` set to `value` (or unset) and
/// returns the line it printed.
fn in_child(part: &str, value: Option<&str>) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.env("DEBUG_ENV_CHILD", part);
    match value {
        Some(value) => command.env("CORUN_DEBUG", value),
        None => command.env_remove("CORUN_DEBUG"),
    };
    let output = command.output().unwrap();
    assert!(output.status.success(), "the child failed: {output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout.lines().find(|line| line.contains('='));
    line.unwrap_or_else(|| panic!("the child printed no answer: {stdout:?}"))
        .to_owned()
}

fn debug_with_env(value: Option<&str>) -> bool {
    match in_child("plain", value).as_str() {
        "debug=true" => true,
        "debug=false" => false,
        other => panic!("unexpected answer {other:?}"),
    }
}

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

    assert_eq!(
        in_child("configured", Some("1")),
        "off=false on=true",
        "Config::debug(false) wins over CORUN_DEBUG=1"
    );
    assert_eq!(
        in_child("configured", Some("0")),
        "off=false on=true",
        "Config::debug(true) wins over CORUN_DEBUG=0"
    );
}

fn corun_debug_is_read_once_per_process_by_the_first_run() {
    assert_eq!(
        in_child("changed", Some("1")),
        "first=true second=true",
        "a later set_var is not seen"
    );
    assert_eq!(
        in_child("changed", None),
        "first=false second=false",
        "a later set_var is not seen"
    );
}
