//! kn_status_str returns a static, NUL-terminated, non-empty ASCII sentence for every
//! 32-bit value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::CStr;

fuzz_target!(|code: i32| {
    let p = kernels::kn_status_str(code);
    assert!(!p.is_null());
    // SAFETY: kn_status_str documents a static NUL-terminated string.
    let s = unsafe { CStr::from_ptr(p) };
    assert!(!s.to_bytes().is_empty() && s.to_bytes().is_ascii());
});
