//! 10,000 runs in a row, each leaving tasks and timers behind and handing work to `to_thread`,
//! keep the process's resident memory flat: the growth between run 1,000 and run 10,000 is
//! printed and bounded.

use std::time::Duration;

fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn one_run() {
    corun::run(async {
        for i in 0..8u64 {
            drop(corun::spawn(async move {
                corun::sleep(Duration::from_secs(3600 + i)).await;
            }));
        }
        let _pending_timer = corun::spawn(corun::sleep(Duration::from_secs(60)));
        // Thread work awaited, and thread work left behind by a task the shutdown cancels: the
        // run waits for it, and nothing of it stays.
        assert_eq!(corun::to_thread(|| 21 * 2).await, 42);
        drop(corun::spawn(corun::to_thread(|| {
            std::hint::black_box(vec![0u8; 64]).len()
        })));
        corun::yield_now().await;
    });
}

#[test]
fn ten_thousand_runs_with_leftovers_keep_rss_flat() {
    for _ in 0..1_000 {
        one_run();
    }
    let Some(at_1000) = resident_kib() else {
        eprintln!("no /proc/self/status here: growth not measured");
        return;
    };
    for _ in 1_000..10_000 {
        one_run();
    }
    let at_10000 = resident_kib().expect("read once, readable again");
    let growth = at_10000.saturating_sub(at_1000);
    println!("RSS at run 1,000: {at_1000} KiB; at run 10,000: {at_10000} KiB; growth {growth} KiB");
    assert!(growth < 256, "RSS grew {growth} KiB over 9,000 runs");
}
