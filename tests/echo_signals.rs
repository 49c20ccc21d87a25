//! Ctrl-C to real child processes running the IO examples. `examples/echo_server.rs` with
//! connections open: it stops accepting, closes a connection that is between lines, lets one in
//! the middle of a line finish it, drops one that never finishes once `shutdown_grace` is over,
//! and exits with 130. `examples/http_server.rs` (a server task whose `corun::cancelled()` axum
//! awaits in a tokio task): a request under way is answered, then the process exits with 130; the
//! same with `--multi-thread` (`TokioLoop::multi_thread`), the request's handler on a worker.
//! `examples/http_workers.rs` on two workers sharing a port: one Ctrl-C makes both answer the
//! requests they have under way, then the process exits with 130.
//!
//! This binary (`harness = false`) re-runs itself as the child, through the harness of
//! `tests/common/child.rs`: the child gets SIGINT's default disposition even when this test runs
//! as a background job of a non-interactive shell (which starts with SIGINT ignored, and corun
//! rightly leaves an ignored signal alone), through `env --default-signal` then.

#[cfg(unix)]
#[path = "../examples/echo_server.rs"]
mod echo_server;

#[cfg(unix)]
#[path = "../examples/http_server.rs"]
mod http_server;

#[cfg(unix)]
#[path = "../examples/http_workers.rs"]
mod http_workers;

#[cfg(unix)]
#[path = "common/child.rs"]
mod child;

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
fn main() {
    println!("echo_signals: skipped, not a Unix platform");
}

#[cfg(unix)]
mod unix {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{SocketAddr, TcpStream};

    use crate::child::{launcher, Child, PATIENCE};

    /// The environment variable that makes this binary act as the child.
    const CHILD: &str = "CORUN_ECHO_SERVER_CHILD";

    pub fn main() {
        // Port 0: the system picks one, which the server prints.
        match std::env::var(CHILD).as_deref() {
            Ok("echo_server") => return super::echo_server::main().expect("the server ran"),
            Ok("http_server") => return super::http_server::main().expect("the server ran"),
            Ok("http_workers") => return super::http_workers::main().expect("the server ran"),
            _ => {}
        }
        if launcher().is_none() {
            // A child started from a background job would ignore SIGINT.
            println!(
                "echo_signals: skipped, SIGINT or SIGTERM is ignored in this process and `env \
                 --default-signal` (coreutils 8.31+) cannot give the child the default disposition"
            );
            return;
        }
        let cases: [(&str, fn()); 4] = [
            (
                "ctrl_c_stops_accepting_and_lets_open_lines_finish_then_exits_130",
                ctrl_c_stops_accepting_and_lets_open_lines_finish_then_exits_130,
            ),
            (
                "ctrl_c_stops_axum_gracefully_through_cancelled_then_exits_130",
                ctrl_c_stops_axum_gracefully_through_cancelled_then_exits_130,
            ),
            (
                "one_ctrl_c_drains_both_http_workers_then_exits_130",
                one_ctrl_c_drains_both_http_workers_then_exits_130,
            ),
            (
                "ctrl_c_stops_axum_on_multi_thread_gracefully_then_exits_130",
                ctrl_c_stops_axum_on_multi_thread_gracefully_then_exits_130,
            ),
        ];
        for (name, case) in cases {
            print!("test {name} ... ");
            std::io::stdout().flush().unwrap();
            case();
            println!("ok");
        }
        println!("test result: ok. {} passed; 0 failed", cases.len());
    }

    fn ctrl_c_stops_axum_gracefully_through_cancelled_then_exits_130() {
        let lines = stop_axum_during_a_request(&[]);
        assert!(
            lines.iter().any(|l| l.ends_with("on the loop's thread")),
            "{lines:?}"
        );
    }

    fn ctrl_c_stops_axum_on_multi_thread_gracefully_then_exits_130() {
        let lines = stop_axum_during_a_request(&["--multi-thread"]);
        assert!(
            lines.iter().any(|l| l.ends_with("on a tokio worker")),
            "{lines:?}"
        );
    }

    /// Runs `http_server` with `args`, sends Ctrl-C while a request is under way, checks that
    /// the request is answered, the server stops gracefully and the process exits with 130; gives
    /// the server's lines.
    fn stop_axum_during_a_request(args: &[&str]) -> Vec<String> {
        let mut server = Child::start(CHILD, "http_server", &[&["0"], args].concat());
        let address = listening_address(&mut server);
        // A request to /slow (200 ms), under way when Ctrl-C comes.
        let mut request = connect(address);
        request
            .write_all(b"GET /slow HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
            .unwrap();
        server.wait_for_lines(|lines| lines.iter().any(|l| l.starts_with("/slow: answering")));
        server.signal("INT");
        let mut response = String::new();
        std::io::Read::read_to_string(&mut request, &mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response:?}");
        assert!(response.ends_with("slow hello\n"), "{response:?}");
        let (status, lines) = server.finish();
        assert_eq!(status.code(), Some(130), "interrupted: {lines:?}");
        assert!(
            lines.iter().any(|line| line == "stopped gracefully"),
            "{lines:?}"
        );
        lines
    }

    fn one_ctrl_c_drains_both_http_workers_then_exits_130() {
        // Port 0: one free port for both workers; 2 workers.
        let mut server = Child::start(CHILD, "http_workers", &["0", "2"]);
        server.wait_for_lines(|lines| {
            lines
                .iter()
                .filter(|l| l.contains(" listening on "))
                .count()
                == 2
        });
        let addresses: Vec<SocketAddr> = server
            .seen()
            .iter()
            .filter_map(|line| line.split(" listening on ").nth(1)?.parse().ok())
            .collect();
        assert_eq!(addresses[0], addresses[1], "one port: {:?}", server.seen());
        // Requests to /slow (1.5 s each), one connection each, until both workers have one
        // under way: the kernel spreads connections over the two listening sockets.
        let mut requests = Vec::new();
        let under_way = |lines: &[String], worker: usize| {
            let line = format!("worker {worker}: /slow under way");
            lines.iter().filter(|l| **l == line).count()
        };
        while under_way(server.seen(), 0) == 0 || under_way(server.seen(), 1) == 0 {
            assert!(
                requests.len() < 32,
                "32 connections all went to one worker: {:?}",
                server.seen()
            );
            let mut request = connect(addresses[0]);
            request
                .write_all(b"GET /slow HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
                .unwrap();
            requests.push(request);
            let sent = requests.len();
            server.wait_for_lines(|lines| under_way(lines, 0) + under_way(lines, 1) == sent);
        }
        let before_the_signal = server.seen().len();
        server.signal("INT");
        for mut request in requests {
            let mut response = String::new();
            std::io::Read::read_to_string(&mut request, &mut response).unwrap();
            assert!(response.starts_with("HTTP/1.1 200 OK"), "{response:?}");
            assert!(response.contains("slow hello from worker "), "{response:?}");
        }
        let (status, lines) = server.finish();
        assert_eq!(status.code(), Some(130), "{lines:?}");
        let after_the_signal = &lines[before_the_signal..];
        for worker in 0..2 {
            for expected in [
                format!("worker {worker}: /slow answered"),
                format!("worker {worker}: stopped gracefully"),
            ] {
                assert!(
                    after_the_signal.contains(&expected),
                    "no {expected:?} after the signal in {lines:?}"
                );
            }
        }
    }

    fn ctrl_c_stops_accepting_and_lets_open_lines_finish_then_exits_130() {
        let mut server = start_server("echo_server");
        let address = listening_address(&mut server);

        // A connection in the middle of a line: the echo of "first" proves the server read the
        // start of "partial" in the same poll (both came in one write).
        let mut mid_line = connect(address);
        mid_line.write_all(b"first\npartial").unwrap();
        let mut mid_line_reader = BufReader::new(mid_line.try_clone().unwrap());
        assert_eq!(read_line(&mut mid_line_reader), "first\n");
        // A connection between lines.
        let mut idle = connect(address);
        idle.write_all(b"hello\n").unwrap();
        let mut idle_reader = BufReader::new(idle.try_clone().unwrap());
        assert_eq!(read_line(&mut idle_reader), "hello\n");
        // A connection whose line never ends: dropped when the grace is over.
        let mut stuck = connect(address);
        stuck.write_all(b"one\nnever end").unwrap();
        let mut stuck_reader = BufReader::new(stuck.try_clone().unwrap());
        assert_eq!(read_line(&mut stuck_reader), "one\n");
        server.wait_for_lines(|lines| {
            lines.iter().filter(|l| l.ends_with(" connected")).count() == 3
        });

        server.signal("INT");

        // The connection between lines is closed at once...
        assert_eq!(read_line(&mut idle_reader), "", "closed between lines");
        // ... by then main (with its listener) is gone: nobody accepts any more.
        assert!(
            TcpStream::connect(address).is_err(),
            "a new connection is refused after Ctrl-C"
        );
        // The one in the middle of a line finishes it, then closes.
        mid_line.write_all(b" line\n").unwrap();
        assert_eq!(read_line(&mut mid_line_reader), "partial line\n");
        assert_eq!(read_line(&mut mid_line_reader), "", "closed after its line");
        // The stuck one is dropped when `shutdown_grace` runs out, and the process exits 130.
        assert_eq!(read_line(&mut stuck_reader), "", "dropped after the grace");
        let (status, lines) = server.finish();
        assert_eq!(status.code(), Some(130), "{lines:?}");
        for expected in ["asked to stop between lines", "closed after 2 line(s)"] {
            assert!(
                lines.iter().any(|line| line.ends_with(expected)),
                "no line ending with {expected:?} in {lines:?}"
            );
        }
        assert!(
            !lines.iter().any(|line| line.contains("failed")),
            "{lines:?}"
        );
    }

    fn connect(address: SocketAddr) -> TcpStream {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    fn read_line(reader: &mut BufReader<TcpStream>) -> String {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("a line (or the end) within the patience");
        line
    }

    /// Starts `program` (`echo_server` or `http_server`) as a child, on a port the system picks.
    fn start_server(program: &str) -> Child {
        Child::start(CHILD, program, &["0"])
    }

    /// The address the server listens on, from its first line.
    fn listening_address(server: &mut Child) -> SocketAddr {
        server.wait_for_lines(|lines| !lines.is_empty());
        let first = &server.seen()[0];
        first
            .strip_prefix("listening on ")
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("not an address line: {first:?}"))
    }
}
