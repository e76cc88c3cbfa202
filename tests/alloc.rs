//! The hot path allocates nothing: reading a session event by projection, finding its
//! candidate rules and evaluating them, for events that raise no alert, once the engine's
//! buffers have grown. A counting global allocator (per thread) proves it. This is its own
//! test binary so that the allocator sees only this test.

// A global allocator is unsafe to implement; this file is the one place that does.
#![allow(unsafe_code)]

#[path = "../benches/gen/mod.rs"]
mod generator;

use session_sigma::{Alert, AlertSink, Engine, RuleSet};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every method forwards unchanged to the system allocator; the counter is a
// thread-local `Cell` with a const initialiser, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

struct Count(u64);

impl AlertSink for Count {
    fn alert(&mut self, _: Alert) {
        self.0 += 1;
    }
}

#[test]
fn reading_and_evaluating_an_event_allocates_nothing() {
    for n in [20, 200, 2000] {
        let set = RuleSet::builder()
            .add_str("gen.yml", generator::rules(1, n))
            .build()
            .expect("generated rules compile");
        quiet_events_allocate_nothing(&format!("{n} rules"), &set);
    }
}

/// The bundled detection rules (`rules/session`), keyword search included. Regression: the
/// keyword search built a list of an object's members for every event.
#[test]
fn the_bundled_detection_rules_allocate_nothing_per_event() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/session");
    let mut builder = RuleSet::builder();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("rules/session")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yml"))
    {
        let text = std::fs::read_to_string(f).expect("rule");
        builder.add_str(f.display().to_string(), text);
    }
    let set = builder.build().expect("bundled rules compile");
    quiet_events_allocate_nothing("bundled session rules", &set);
}

fn quiet_events_allocate_nothing(name: &str, set: &RuleSet) {
    {
        let lines = generator::events(7, 6_000);
        let mut engine = Engine::new(set);
        let mut sink = Count(0);
        // Warm-up: buffers grow to their working size.
        for l in &lines[..1_000] {
            engine.process_line(l.as_bytes(), &mut sink).expect("valid");
            engine.flush(&mut sink);
        }
        let (mut quiet, mut allocating) = (0u64, Vec::new());
        for (i, l) in lines[1_000..].iter().enumerate() {
            let alerts = sink.0;
            let before = allocations();
            engine.process_line(l.as_bytes(), &mut sink).expect("valid");
            // Alerts of one time are held until time moves on: write them now, so that the
            // events that raised an alert are known.
            engine.flush(&mut sink);
            let spent = allocations() - before;
            // Alerts are output: building them allocates. Look at the events that raised none.
            if sink.0 == alerts {
                quiet += 1;
                if spent > 0 {
                    allocating.push((i, spent));
                }
            }
        }
        assert!(
            quiet > 500,
            "{name}: enough quiet events to measure ({quiet})"
        );
        assert!(
            allocating.is_empty(),
            "{name}: {} of {quiet} events allocated, e.g. {:?}",
            allocating.len(),
            &allocating[..allocating.len().min(5)]
        );
    }
}
