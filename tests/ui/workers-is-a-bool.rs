#[corun::test(workers = true)]
async fn both_workers_pass() {}

fn main() {}
