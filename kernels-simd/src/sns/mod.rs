//! sns

mod kernels;
