//! Process CPU time from `/proc` (no `libc`, no unsafe), for benches/runtimes.rs and io.rs.

use std::time::Duration;

pub fn source() -> &'static str {
    if from_schedstat().is_some() {
        "/proc/self/task/*/schedstat (ns, all threads)"
    } else if from_stat().is_some() {
        "/proc/self/stat utime+stime (10 ms ticks)"
    } else {
        "unavailable"
    }
}

pub fn now() -> Option<Duration> {
    from_schedstat().or_else(from_stat)
}

/// The sum over the process's threads of their time on the CPU, in ns.
fn from_schedstat() -> Option<Duration> {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let path = entry.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    // A kernel without schedstats reports zero everywhere; do not trust that.
    (total > 0).then(|| Duration::from_nanos(total))
}

/// `utime + stime` of the whole process, assuming 100 clock ticks per second.
fn from_stat() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it follow its ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0], so utime (14) and stime (15) are 11 and 12.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
