//! Runs `examples/files.rs`'s group (on the default loop, or with the `tokio` feature on
//! `TokioLoop` with `tokio::fs`, as the example does) and checks the directory it leaves: only
//! whole files, no partial one, and the error names the file that failed.

#[allow(dead_code)]
#[path = "../examples/files.rs"]
mod files;

use corun::Failure;

#[test]
fn the_files_example_leaves_only_whole_files_and_names_the_one_that_failed() {
    let dir = files::fresh_dir("files-test").unwrap();
    let config = corun::Config::new();
    #[cfg(feature = "tokio")]
    let config = config.loop_factory(corun::loops::TokioLoop::new);
    let outcome = config.run(files::write_files(&dir, &files::JOBS));
    let listing = files::listing(&dir).unwrap();
    let contents: Vec<(String, String)> = listing
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            (name.clone(), text)
        })
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();

    let error = outcome.unwrap_err();
    let [failure] = error.failures() else {
        panic!("one failure: {error:?}")
    };
    let Failure::Error(why) = failure.failure() else {
        panic!("an io error: {error:?}")
    };
    assert_eq!(why.file, "report.txt");
    assert!(why.path.ends_with("missing-input.txt"));
    assert!(error.to_string().contains("report.txt"), "{error}");

    assert!(
        !listing.iter().any(|name| name.ends_with(".part")),
        "{listing:?}"
    );
    assert!(!listing.contains(&"report.txt".to_owned()));
    for (name, text) in &contents {
        let job = files::JOBS.iter().find(|job| job.name == name).unwrap();
        assert_eq!(text, &files::content(job), "{name} is whole");
    }
}
