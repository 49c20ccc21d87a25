//! The child-process harness of the signal tests (`tests/signals.rs`, `tests/echo_signals.rs`,
//! both `harness = false`, which include this file by `#[path]` on Unix): the binary re-runs
//! itself as the child, chosen by an environment variable, with the default disposition of
//! SIGINT and SIGTERM; the parent waits for lines the child prints, signals it with `kill`, and
//! collects what it printed and how it exited.

// Each binary uses a part (echo_signals never reads the child's stderr, for one).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long the parent waits for anything the child does.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A child process of this binary, with its stdout read line by line.
pub struct Child {
    process: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Reads the child's stderr to the end.
    stderr: thread::JoinHandle<Vec<String>>,
}

impl Child {
    /// Starts this binary with `args` as a child that runs `program` (the value of the
    /// environment variable `child_var`, which the binary's `main` looks at).
    pub fn start(child_var: &str, program: &str, args: &[&str]) -> Child {
        let mut process = launcher()
            .expect("main() checked that a child can be started")
            .args(args)
            .env(child_var, program)
            .env_remove("CORUN_DEBUG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = process.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let lines = BufReader::new(stderr).lines().map_while(Result::ok);
            lines.collect()
        });
        let stdout = process.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Child {
            process,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Every line the child printed on stdout so far (as far as the parent waited for it).
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Waits until the child prints `expected` (a whole line), from now on.
    pub fn wait_for(&mut self, expected: &str) {
        let from = self.seen.len();
        if !self.receive_until(|lines| lines[from..].iter().any(|line| line == expected)) {
            panic!(
                "the child never printed {expected:?}; it printed {:?}",
                self.seen
            );
        }
    }

    /// Waits until what the child printed satisfies `done`.
    pub fn wait_for_lines(&mut self, done: impl Fn(&[String]) -> bool) {
        if !self.receive_until(done) {
            panic!("the child printed only {:?}", self.seen);
        }
    }

    /// Takes in the child's lines until they satisfy `done`; false (and the child killed) if
    /// they do not within the patience.
    fn receive_until(&mut self, done: impl Fn(&[String]) -> bool) -> bool {
        let deadline = Instant::now() + PATIENCE;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    let _ = self.process.kill();
                    return false;
                }
            }
        }
        true
    }

    /// Sends the child the signal `name` (`INT`, `TERM`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.process.id().to_string()])
            .status()
            .expect("the `kill` command runs");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits for the child to exit; gives its status and every line it printed.
    pub fn finish(self) -> (ExitStatus, Vec<String>) {
        let (status, stdout, _) = self.finish_with_stderr();
        (status, stdout)
    }

    /// Like `finish`, also giving every line the child printed on stderr.
    pub fn finish_with_stderr(mut self) -> (ExitStatus, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.process.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.process.kill();
                panic!("the child did not exit; it printed {:?}", self.seen);
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The reader threads end at EOF; take what they read.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let stderr = self
            .stderr
            .join()
            .expect("the stderr reader does not panic");
        (status, self.seen, stderr)
    }
}

/// How to start this binary as a child with the default disposition of SIGINT and SIGTERM:
/// directly if this process has it, else through `env --default-signal` (GNU coreutils
/// 8.31 and later), since a child inherits `SIG_IGN` and corun rightly leaves an ignored
/// signal alone. `None` if neither works.
pub fn launcher() -> Option<Command> {
    launcher_for(signal_ignored(2) || signal_ignored(15))
}

/// [`launcher`] for a parent that does (or does not) ignore SIGINT or SIGTERM.
pub fn launcher_for(parent_ignores: bool) -> Option<Command> {
    let exe = std::env::current_exe().unwrap();
    if !parent_ignores {
        return Some(Command::new(exe));
    }
    let works = Command::new("env")
        .args(["--default-signal=INT,TERM", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !works {
        return None;
    }
    let mut command = Command::new("env");
    command.arg("--default-signal=INT,TERM").arg(exe);
    Some(command)
}

/// Whether `signal` is ignored in this process (inherited `SIG_IGN`), from Linux's
/// `/proc/self/status`; elsewhere assumed not.
pub fn signal_ignored(signal: u32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}
