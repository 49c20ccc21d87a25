struct NotAFactory;

#[corun::entry(loop_factory = NotAFactory)]
async fn main() {}
