//! cg

mod kernels;
