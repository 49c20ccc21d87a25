//! Several files written at once in a task group, one of which needs an input that is missing: the others finish or undo their work, so the directory holds only whole files (`cargo run --example files`; with `--features tokio`, on `TokioLoop` with `tokio::fs`).
//!
//! Each child writes its file as `NAME.part` in a few steps and renames it to `NAME` once whole.
//! The report needs `missing-input.txt`, which does not exist: its read fails, the group cancels
//! the others, and each one still writing hears it through `corun::cancelled()`, removes its
//! `.part` file (awaiting the removal) and stops. What had already finished stays. The program
//! then lists the directory and says which file failed, from the group's error. On the default
//! loop the file operations run on threads (`corun::to_thread` and `std::fs`); with the `tokio`
//! feature, on `TokioLoop` with `tokio::fs`.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use corun::{GroupError, TaskGroup};

/// One file to write: its name, its lines, and (for the report) an input file to copy in.
pub struct Job {
    /// The file's name in the directory.
    pub name: &'static str,
    /// How many lines it has, each written in a step of its own.
    pub lines: usize,
    /// A file of the directory to copy in at the end.
    pub input: Option<&'static str>,
}

/// The files this example writes: a quick one that finishes before the failure, two slow ones
/// still writing when it comes, and the report, whose input is missing.
pub const JOBS: [Job; 4] = [
    Job {
        name: "summary.txt",
        lines: 1,
        input: None,
    },
    Job {
        name: "orders.csv",
        lines: 8,
        input: None,
    },
    Job {
        name: "customers.csv",
        lines: 8,
        input: None,
    },
    Job {
        name: "report.txt",
        lines: 2,
        input: Some("missing-input.txt"),
    },
];

/// What went wrong with one file: which file, at which path, and why.
#[derive(Debug)]
pub struct FileError {
    /// The file being written.
    pub file: &'static str,
    /// The path whose operation failed (the file's part, or its input).
    pub path: PathBuf,
    /// Why.
    pub source: io::Error,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.path.display(), self.source)
    }
}

impl std::error::Error for FileError {}

/// The full text of `job`'s file (without its input's part).
pub fn content(job: &Job) -> String {
    (1..=job.lines)
        .map(|n| format!("{} line {n}\n", job.name))
        .collect()
}

/// Writes every job's file in `dir` in one task group: `Ok` if all were written, else the
/// group's error (each failure names its file).
pub async fn write_files(dir: &Path, jobs: &[Job]) -> Result<(), GroupError<FileError>> {
    corun::task_group(async |g: &TaskGroup<'_, FileError>| {
        for job in jobs {
            g.try_spawn(write_one(dir, job));
        }
        Ok(())
    })
    .await
}

/// Writes `job`'s file as `NAME.part`, then renames it. Cancelled while writing, it removes the
/// part it wrote; failing, too.
async fn write_one(dir: &Path, job: &Job) -> Result<(), FileError> {
    let part = dir.join(format!("{}.part", job.name));
    let mut stop = std::pin::pin!(corun::cancelled()); // listening: cancellation wakes it
    let written = write_steps(dir, job, &part, stop.as_mut()).await;
    match written {
        Ok(true) => {
            fs::rename(&part, &dir.join(job.name))
                .await
                .map_err(|source| FileError {
                    file: job.name,
                    path: dir.join(job.name),
                    source,
                })?;
            println!("{}: written", job.name);
            Ok(())
        }
        Ok(false) => {
            let _ = fs::remove(&part).await; // undo: the group is stopping
            println!("{}: cancelled, partial file removed", job.name);
            Ok(())
        }
        Err(error) => {
            let _ = fs::remove(&part).await;
            Err(error)
        }
    }
}

/// The steps of one file: `Ok(false)` if the group was cancelled between two of them.
async fn write_steps(
    dir: &Path,
    job: &Job,
    part: &Path,
    mut stop: Pin<&mut corun::Cancelled>,
) -> Result<bool, FileError> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| FileError {
            file: job.name,
            path,
            source,
        }
    };
    fs::create(part).await.map_err(failed(part))?;
    for line in content(job).lines() {
        // Each step is awaited whole (a write handed to a thread finishes anyway), and the
        // cancellation is looked at between steps.
        if is_ready(stop.as_mut()) {
            return Ok(false);
        }
        fs::append(part, format!("{line}\n").into_bytes())
            .await
            .map_err(failed(part))?;
        corun::sleep(Duration::from_millis(10)).await; // a slow disk, say
    }
    if let Some(input) = job.input {
        let input = dir.join(input);
        let bytes = fs::read(&input).await.map_err(failed(&input))?;
        fs::append(part, bytes).await.map_err(failed(part))?;
    }
    Ok(!is_ready(stop))
}

/// Polls `future` once: whether it is ready.
fn is_ready<F: Future>(future: Pin<&mut F>) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    matches!(future.poll(&mut cx), Poll::Ready(_))
}

/// The file operations, on threads with `std::fs` on the default loop.
#[cfg(not(feature = "tokio"))]
mod fs {
    use std::io::{self, Write};
    use std::path::Path;

    pub async fn create(path: &Path) -> io::Result<()> {
        let path = path.to_owned();
        corun::to_thread(move || std::fs::File::create(path).map(drop)).await
    }

    pub async fn append(path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        let path = path.to_owned();
        corun::to_thread(move || {
            let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
            file.write_all(&bytes)
        })
        .await
    }

    pub async fn read(path: &Path) -> io::Result<Vec<u8>> {
        let path = path.to_owned();
        corun::to_thread(move || std::fs::read(path)).await
    }

    pub async fn rename(from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (from.to_owned(), to.to_owned());
        corun::to_thread(move || std::fs::rename(from, to)).await
    }

    pub async fn remove(path: &Path) -> io::Result<()> {
        let path = path.to_owned();
        corun::to_thread(move || std::fs::remove_file(path)).await
    }
}

/// The file operations with `tokio::fs` on `TokioLoop`.
#[cfg(feature = "tokio")]
mod fs {
    use std::io;
    use std::path::Path;

    use tokio::io::AsyncWriteExt;

    pub async fn create(path: &Path) -> io::Result<()> {
        tokio::fs::File::create(path).await.map(drop)
    }

    pub async fn append(path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .await?;
        file.write_all(&bytes).await?;
        file.flush().await
    }

    pub async fn read(path: &Path) -> io::Result<Vec<u8>> {
        tokio::fs::read(path).await
    }

    pub async fn rename(from: &Path, to: &Path) -> io::Result<()> {
        tokio::fs::rename(from, to).await
    }

    pub async fn remove(path: &Path) -> io::Result<()> {
        tokio::fs::remove_file(path).await
    }
}

/// A fresh directory under the system's temporary directory.
pub fn fresh_dir(label: &str) -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("corun-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The names of the files in `dir`, sorted.
pub fn listing(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

async fn example() -> Result<(), Box<dyn std::error::Error>> {
    let dir = fresh_dir("files-example")?;
    println!("writing {} files in {}", JOBS.len(), dir.display());
    match write_files(&dir, &JOBS).await {
        Ok(()) => println!("all written"),
        Err(error) => {
            for failure in error.failures() {
                if let corun::Failure::Error(why) = failure.failure() {
                    println!("{} failed: {}", why.file, why.source);
                }
            }
            println!("{error}");
        }
    }
    println!("the directory holds only whole files: {:?}", listing(&dir)?);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[cfg(not(feature = "tokio"))]
#[corun::entry]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    example().await
}

#[cfg(feature = "tokio")]
#[corun::entry(loop_factory = corun::loops::TokioLoop::new)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    example().await
}
