// `workers = N` alone and with every other option; its value any `usize` expression; the
// return types that N workers' outputs can be made into one of; a count passed in by a
// `macro_rules!` macro.

use std::sync::atomic::{AtomicUsize, Ordering};

static RAN: AtomicUsize = AtomicUsize::new(0);
const TWO: usize = 2;

fn three() -> usize {
    3
}

#[corun::entry(workers = 2)]
async fn unit() {
    RAN.fetch_add(1, Ordering::SeqCst);
}

#[corun::entry(workers = 0)]
async fn one_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    assert_eq!(corun::worker().unwrap().count(), cores);
}

#[corun::entry(workers = TWO, debug)]
async fn constant() -> Result<(), String> {
    assert!(corun::is_debug());
    RAN.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[corun::entry(crate = ::corun, workers = three() - 1_usize, loop_factory = corun::loops::VirtualTimeLoop::new)]
async fn expression() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    corun::sleep(std::time::Duration::from_secs(3600)).await;
    let index: u8 = corun::worker().unwrap().index().to_string().parse()?;
    if index == 1 {
        return Err("worker 1 failed".into());
    }
    Ok(())
}

macro_rules! on_workers {
    ($count:expr, $name:ident) => {
        #[corun::entry(workers = $count)]
        async fn $name() {
            RAN.fetch_add(1, Ordering::SeqCst);
        }
    };
}

on_workers!(TWO + 1, from_macro_rules);

#[corun::entry(workers = 2)]
async fn opaque() -> impl std::fmt::Debug {}

#[corun::entry(workers = 2)]
async fn never_returns() -> ! {
    panic!("stops every worker")
}

fn main() {
    std::env::remove_var("CORUN_DEBUG");
    unit();
    assert_eq!(RAN.load(Ordering::SeqCst), 2);
    constant().unwrap();
    assert_eq!(RAN.load(Ordering::SeqCst), 4);
    assert_eq!(expression().unwrap_err().to_string(), "worker 1 failed");
    from_macro_rules();
    assert_eq!(RAN.load(Ordering::SeqCst), 7);
    opaque();
    one_per_core();
    std::panic::set_hook(Box::new(|_| {})); // the panics below are expected
    let panicked = std::panic::catch_unwind(|| never_returns());
    assert!(panicked.is_err());
}
