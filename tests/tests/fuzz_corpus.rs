//! Replays the committed fuzz corpus (fuzz/corpus/<target>/*) through the fuzz targets'
//! checks, so every input the fuzzer once found interesting stays a regression test.

use kernels_tests::fuzz::TARGETS;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

#[test]
fn every_corpus_input_passes_its_check() {
    for target in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target.name);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no corpus for {} at {}: {e}", target.name, dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "the corpus of {} is empty", target.name);
        for input in &inputs {
            let data = std::fs::read(input).unwrap();
            let outcome = std::panic::catch_unwind(|| (target.check)(&data));
            assert!(
                outcome.is_ok(),
                "{} failed on {}",
                target.name,
                input.display()
            );
        }
        println!("{}: {} corpus inputs replayed", target.name, inputs.len());
    }
}

#[test]
fn every_fuzz_target_is_replayed() {
    let mut files: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        files, names,
        "fuzz/fuzz_targets and kernels_tests::fuzz::TARGETS differ"
    );
}
