// Each worker returns a `u32`; the function cannot return all of them as one.
#[corun::entry(workers = 2)]
async fn index() -> u32 {
    corun::worker().unwrap().index() as u32
}

fn main() {
    index();
}
