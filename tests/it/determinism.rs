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
