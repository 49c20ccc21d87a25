// The rewritten function keeps its name, visibility, attributes, doc comments and return
// type, and the main task is named after it.

mod server {
    /// Says which task it ran as.
    #[must_use]
    #[inline]
    #[corun::entry]
    pub(crate) async fn serve() -> String {
        corun::current_task().expect("inside a task").name().to_owned()
    }

    #[corun::entry]
    pub async fn answer() -> impl std::fmt::Display {
        42
    }

    #[corun::entry]
    #[doc = "Written as an attribute."]
    pub(crate) async fn r#async() -> &'static str {
        corun::current_task().map_or("none", |_| "in a task")
    }
}

#[corun::entry]
async fn main() {
    assert_eq!(corun::current_task().expect("main is a task").name(), "main");
    std::thread::spawn(|| {
        assert_eq!(server::serve(), "serve");
        assert_eq!(server::answer().to_string(), "42");
        assert_eq!(server::r#async(), "in a task");
    })
    .join()
    .unwrap();
}
