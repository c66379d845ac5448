//! The same input gives the same bytes, every run.

use crate::common::{examples, output_of};

#[test]
fn two_builds_of_every_example_are_byte_identical() {
    for path in examples() {
        let a = output_of(&path);
        let b = output_of(&path);
        assert_eq!(a.files.len(), b.files.len());
        for (x, y) in a.files.iter().zip(&b.files) {
            assert_eq!(x.path, y.path);
            assert!(
                x.contents == y.contents,
                "{}: {} differs between two builds",
                path.display(),
                x.path
            );
        }
    }
}

#[test]
fn output_has_no_timestamps() {
    for path in examples() {
        for f in output_of(&path).files {
            assert!(
                !f.contents.contains("2026-") && !f.contents.contains("creationTimestamp"),
                "{}",
                f.path
            );
        }
    }
}

#[test]
fn the_number_of_threads_does_not_change_the_bytes() {
    for path in examples() {
        let text = std::fs::read_to_string(&path).expect("example");
        let mut sources = meshc::source::Sources::new();
        let id = sources.add("topology.kdl", text);
        let (doc, _) = meshc::syntax::parse(sources.get(id));
        let doc = doc.expect("parses");
        let (ast, _) = meshc::lower::lower(&[(id, &doc)]);
        let (model, _) = meshc::check::check(&ast);
        let model = model.expect("checks");
        let mut rendered = meshc::render::render(&model);
        let (schedule, _) = meshc::rollout::schedule(&model, &rendered);
        let schedule = schedule.expect("orders");
        meshc::render::wire(&model, &mut rendered, &schedule);
        let one = meshc::emit::emit_with_threads(&model, &rendered, &schedule, &sources, 1);
        for threads in [2, 3, 7] {
            let many =
                meshc::emit::emit_with_threads(&model, &rendered, &schedule, &sources, threads);
            assert!(
                one.files == many.files,
                "{}: {threads} threads give other bytes than 1",
                path.display()
            );
        }
    }
}

/// Work handed out one item at a time still comes back in the items' order, whatever the
/// number of threads and however unequal the items (the first ones here are the slowest).
#[test]
fn parallel_map_keeps_the_order_of_the_items() {
    let items: Vec<u64> = (0..300).collect();
    let work = |n: &u64| -> u64 {
        let rounds = if *n < 10 { 200_000 } else { 10 };
        (0..rounds).fold(*n, |acc, i| acc.wrapping_mul(31).wrapping_add(i)) % 1000 + n * 1000
    };
    let one: Vec<u64> = items.iter().map(work).collect();
    for threads in [1, 2, 3, 8, 500] {
        let many = meshc::emit::parallel_map_with(&items, threads, || (), |(), n| work(n));
        assert_eq!(one, many, "{threads} threads");
    }
    let empty: Vec<u64> = meshc::emit::parallel_map_with(&[], 4, || (), |(), n: &u64| *n);
    assert!(empty.is_empty());
}
