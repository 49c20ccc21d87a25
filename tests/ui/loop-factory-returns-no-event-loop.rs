fn make_a_number() -> u8 {
    7
}

#[corun::entry(loop_factory = make_a_number)]
async fn main() {}
