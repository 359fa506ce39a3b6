//! linattn

mod kernels;
