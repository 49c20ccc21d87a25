// Inner attributes and `//!` comments at the start of the body work with every kind of return
// type, as on any `async fn`, and `//!` does not warn (`unused_doc_comments`).
#![deny(warnings)]

#[corun::entry]
async fn unit() {
    //! Runs with the lint allowed.
    #![allow(unused_variables)]
    let unused = 1;
}

#[corun::entry]
async fn named() -> u8 {
    #![allow(unused_mut)]
    //! Returns five.
    let mut five = 5;
    five
}

#[corun::entry]
async fn opaque() -> impl std::fmt::Display {
    #![allow(unused_variables)]
    //! Returns something to print.
    let unused = 1;
    42
}

#[corun::entry]
async fn never() -> ! {
    //! Ends the process.
    #![allow(unreachable_code)]
    std::process::exit(0);
    loop {}
}

#[corun::test]
async fn tested() {
    //! A test with inner attributes.
    #![allow(unused_variables)]
    let unused = 1;
}

fn main() {
    unit();
    assert_eq!(named(), 5);
    assert_eq!(opaque().to_string(), "42");
    never()
}
