//! include/kernels.h must be exactly what cbindgen generates from this crate.
//!
//! Run with `KN_BLESS=1` to rewrite the header after changing the C interface; that
//! also rewrites include/kernels.f90, the Fortran module generated from the header
//! (checked by the test `fortran`).

mod fortran_module;

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("../include/kernels.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to parse kernels-ffi");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);

    if std::env::var_os("KN_BLESS").is_some() {
        std::fs::write(&header, &fresh).unwrap();
        let module = fortran_module::generate(std::str::from_utf8(&fresh).unwrap());
        let f90 = crate_dir.join("../include/kernels.f90");
        std::fs::write(&f90, module).unwrap();
        eprintln!("rewrote {} and {}", header.display(), f90.display());
        return;
    }
    let committed = std::fs::read(&header).unwrap_or_default();
    if committed != fresh {
        let fresh = String::from_utf8_lossy(&fresh);
        let committed = String::from_utf8_lossy(&committed);
        let first = fresh
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(fresh.lines().count().min(committed.lines().count()));
        panic!(
            "include/kernels.h is stale (first difference at line {}). \
             Regenerate it with: KN_BLESS=1 cargo test -p kernels-ffi --test header",
            first + 1
        );
    }
}
