//! The one error type of the library.
//!
//! The numeric value of every variant is the C status code of API.md, so the C layer
//! converts with a cast and every backend reports a bad input the same way.

use core::ffi::CStr;
use core::fmt;

/// Why a kernel refused its input or stopped.
///
/// Non-convergence is not an error: iterative kernels write their result and say
/// `converged = false` in their [`Report`](crate::Report).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Error {
    /// A required pointer is NULL (C layer only).
    Null = -1,
    /// A size is zero where it may not be, sizes disagree, or a product overflows.
    Dimension = -2,
    /// The workspace is smaller than its size query returned.
    Workspace = -3,
    /// A parameter is out of its documented range, or a CSR structure is malformed.
    Argument = -4,
    /// An input holds NaN or infinity.
    NonFinite = -5,
    /// The computation broke down (underflow to zero, indefinite matrix, overflow).
    Numerical = -6,
    /// The backend is absent (no CUDA driver or device) or the build lacks the feature.
    Unsupported = -7,
    /// An internal invariant failed: a bug in this library.
    Internal = -8,
}

impl Error {
    /// Every variant, in code order (0 to -8 without the two success codes).
    pub const ALL: [Error; 8] = [
        Error::Null,
        Error::Dimension,
        Error::Workspace,
        Error::Argument,
        Error::NonFinite,
        Error::Numerical,
        Error::Unsupported,
        Error::Internal,
    ];

    /// The stable status code (negative), which the C library returns as its status.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The variant for a status code, if it is one.
    pub const fn from_code(code: i32) -> Option<Error> {
        match code {
            -1 => Some(Error::Null),
            -2 => Some(Error::Dimension),
            -3 => Some(Error::Workspace),
            -4 => Some(Error::Argument),
            -5 => Some(Error::NonFinite),
            -6 => Some(Error::Numerical),
            -7 => Some(Error::Unsupported),
            -8 => Some(Error::Internal),
            _ => None,
        }
    }

    /// A static English sentence saying what went wrong, NUL-terminated for C.
    pub const fn c_message(self) -> &'static CStr {
        match self {
            Error::Null => c"a required pointer is NULL",
            Error::Dimension => {
                c"a size is zero where it may not be, sizes disagree, or a product overflows"
            }
            Error::Workspace => c"the workspace is smaller than its size query returned",
            Error::Argument => {
                c"a parameter is out of its documented range, or a CSR structure is malformed"
            }
            Error::NonFinite => c"an input holds NaN or infinity",
            Error::Numerical => {
                c"the computation broke down (underflow to zero, indefinite matrix, overflow)"
            }
            Error::Unsupported => {
                c"the backend is absent (no CUDA driver or device) or the build lacks the feature"
            }
            Error::Internal => c"an internal invariant failed (a bug in the kernels library)",
        }
    }

    /// The same sentence as [`Error::c_message`], as a `str`.
    pub fn message(self) -> &'static str {
        // Every message is ASCII, so the conversion cannot fail.
        self.c_message().to_str().unwrap_or("")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for Error {}

/// Shorthand for results of this library.
pub type Result<T> = core::result::Result<T, Error>;
