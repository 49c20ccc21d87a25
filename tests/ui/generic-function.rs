#[corun::entry]
async fn make<T: Default>() -> T {
    T::default()
}

fn main() {}
