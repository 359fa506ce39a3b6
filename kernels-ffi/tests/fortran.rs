//! include/kernels.f90, the Fortran module `kernels`, must be exactly what the
//! generator makes from include/kernels.h: one interface for every C function, so the
//! module never lags behind the header. `KN_BLESS=1 cargo test -p kernels-ffi --test
//! header` rewrites both files.
//!
//! With gfortran on the PATH the module is also compiled (`-std=f2018`, every warning
//! an error); without it that check says SKIPPED (the install test compiles it too).

mod fortran_module;

use std::path::{Path, PathBuf};
use std::process::Command;

fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../include")
}

#[test]
fn committed_fortran_module_is_current() {
    let header = std::fs::read_to_string(include_dir().join("kernels.h")).unwrap();
    let fresh = fortran_module::generate(&header);
    let committed = std::fs::read_to_string(include_dir().join("kernels.f90")).unwrap_or_default();
    if committed != fresh {
        let first = fresh
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(fresh.lines().count().min(committed.lines().count()));
        panic!(
            "include/kernels.f90 is stale (first difference at line {}). \
             Regenerate it with: KN_BLESS=1 cargo test -p kernels-ffi --test header",
            first + 1
        );
    }
}

#[test]
fn every_c_function_has_a_fortran_interface() {
    let header = std::fs::read_to_string(include_dir().join("kernels.h")).unwrap();
    let module = fortran_module::generate(&header);
    // Every exported name in the header, found without the generator's parser.
    let mut names: Vec<&str> = header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("//") && !l.starts_with('#'))
        .filter_map(|l| l.split_once('(').map(|(head, _)| head))
        .filter_map(|head| head.rsplit([' ', '*']).next())
        .filter(|name| name.starts_with("kn_"))
        .collect();
    names.sort_unstable();
    assert!(
        names.len() > 50,
        "found only {} functions in kernels.h",
        names.len()
    );
    for name in names {
        let binding = format!("bind(C, name=\"{name}\")");
        assert!(module.contains(&binding), "no Fortran interface for {name}");
    }
}

#[test]
fn fortran_module_compiles_with_gfortran() {
    let out = std::env::temp_dir().join(format!("kernels-f90-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let run = Command::new("gfortran")
        .args([
            "-std=f2018",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            "-J",
        ])
        .arg(&out)
        .arg(include_dir().join("kernels.f90"))
        .output();
    let _ = std::fs::remove_dir_all(&out);
    match run {
        Err(e) => eprintln!("SKIPPED: gfortran not runnable ({e}): the module was not compiled"),
        Ok(o) => assert!(
            o.status.success(),
            "gfortran rejected include/kernels.f90:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}
