// Nothing the macro writes warns in user code: single-expression bodies (no `unused_braces`),
// diverging bodies (no `unreachable_code`), unit bodies, `return`, under `#![deny(warnings)]`.
#![deny(warnings)]

#[corun::entry]
async fn five() -> u8 { 5 }

#[corun::entry]
async fn unit() { () }

#[corun::entry]
async fn empty() {}

#[corun::entry]
async fn early_return() -> u8 {
    if corun::is_debug() || !corun::is_debug() {
        return 7;
    }
    8
}

#[corun::entry]
async fn diverges() -> u8 {
    panic!("never returns")
}

#[corun::entry]
async fn looping() -> Result<(), ()> {
    loop {
        corun::yield_now().await;
        return Ok(());
    }
}

#[corun::entry(debug)]
pub async fn main() {
    let _ = diverges;
    ::std::thread::spawn(|| {
        assert_eq!(five(), 5);
        unit();
        empty();
        assert_eq!(looping(), Ok(()));
        assert_eq!(early_return(), 7);
    })
    .join()
    .unwrap();
}
