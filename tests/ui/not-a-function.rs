#[corun::entry]
struct Main;

fn main() {
    let _ = Main;
}
