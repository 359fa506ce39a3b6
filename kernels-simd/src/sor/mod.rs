//! sor

mod kernels;
mod red_black;
