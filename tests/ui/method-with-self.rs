struct Server;

impl Server {
    #[corun::entry]
    async fn serve(&self) {}
}

fn main() {}
