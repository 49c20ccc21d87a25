// A value that is not callable at all.

const NOT_A_FACTORY: u8 = 7;

#[corun::entry(loop_factory = NOT_A_FACTORY)]
async fn main() {}
