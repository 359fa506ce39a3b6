//! sor

mod kernels;
pub(crate) mod red_black;
