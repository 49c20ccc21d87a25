// A loop type instead of its constructor: the message says to name the constructor.

#[corun::entry(loop_factory = corun::loops::VirtualTimeLoop)]
async fn main() {}
