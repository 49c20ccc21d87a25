//! Fairness: tasks that wake themselves forever cannot starve timers, wakes from other threads,
//! or other tasks.

use std::cell::Cell;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use futures::channel::oneshot;

const SPINNERS: usize = 100;

/// Spawns tasks that yield in a loop until `stop` is set, counting their turns.
fn spawn_spinners(stop: &Rc<Cell<bool>>) -> Vec<Rc<Cell<u64>>> {
    (0..SPINNERS)
        .map(|_| {
            let turns = Rc::new(Cell::new(0u64));
            let (count, stop) = (turns.clone(), stop.clone());
            drop(corun::spawn(async move {
                while !stop.get() {
                    count.set(count.get() + 1);
                    corun::yield_now().await;
                }
            }));
            turns
        })
        .collect()
}

#[test]
fn self_waking_tasks_do_not_starve_a_sleeper() {
    let (ticks, elapsed, turns) = corun::run(async {
        let stop = Rc::new(Cell::new(false));
        let turns = spawn_spinners(&stop);
        let start = Instant::now();
        let mut ticks = 0;
        while ticks < 20 {
            corun::sleep(Duration::from_millis(10)).await;
            ticks += 1;
        }
        let elapsed = start.elapsed();
        stop.set(true);
        (ticks, elapsed, turns)
    });
    assert_eq!(ticks, 20);
    // 20 ticks of 10 ms: at least 200 ms, and not much more despite 100 busy tasks (a loose
    // bound for a shared machine).
    assert!(elapsed >= Duration::from_millis(200));
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
    assert!(
        turns.iter().all(|count| count.get() > 0),
        "every spinner ran"
    );
}

#[test]
fn self_waking_tasks_do_not_starve_a_wake_from_another_thread() {
    let (received, waited) = corun::run(async {
        let stop = Rc::new(Cell::new(false));
        let _turns = spawn_spinners(&stop);
        let (sent, receive) = oneshot::channel();
        let start = Instant::now();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            sent.send(7).unwrap();
        });
        let received = receive.await.unwrap();
        stop.set(true);
        (received, start.elapsed())
    });
    assert_eq!(received, 7);
    assert!(waited < Duration::from_secs(1), "took {waited:?}");
}

#[test]
fn self_waking_tasks_do_not_starve_a_task_spawned_later() {
    let (value, spinner_turns_meanwhile) = corun::run(async {
        let stop = Rc::new(Cell::new(false));
        let turns = spawn_spinners(&stop);
        corun::yield_now().await;
        let before = turns[0].get();
        let late = corun::spawn(async { 3 });
        let value = late.await;
        let meanwhile = turns[0].get() - before;
        stop.set(true);
        (value, meanwhile)
    });
    assert_eq!(value, 3);
    // The late task ran within a couple of turns, each spinner running once per turn.
    assert!(
        spinner_turns_meanwhile <= 3,
        "{spinner_turns_meanwhile} turns"
    );
}
