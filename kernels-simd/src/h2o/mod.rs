//! h2o

mod kernels;
