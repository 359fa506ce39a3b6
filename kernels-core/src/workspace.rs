//! Scratch memory carved out of a caller's byte buffer.
//!
//! A kernel that needs scratch space states its needs twice in the same order: once
//! with [`WorkspaceSize`] for the size query, and once with [`Workspace::take`] when it
//! runs. Each array is budgeted with `align_of::<T>() - 1` bytes of slack, so any
//! buffer address works: the carving aligns each sub-slice itself.

use crate::{Error, Result};
use bytemuck::Pod;
use core::mem::{align_of, size_of};

/// Builder for a workspace size query: add each array the kernel will take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkspaceSize {
    bytes: usize,
}

impl WorkspaceSize {
    /// An empty workspace (zero bytes).
    pub const fn new() -> Self {
        WorkspaceSize { bytes: 0 }
    }

    /// Adds an array of `len` values of `T`, with alignment slack.
    ///
    /// Fails with [`Error::Dimension`] when the total overflows `usize`.
    pub fn array<T: Pod>(self, len: usize) -> Result<Self> {
        let bytes = len
            .checked_mul(size_of::<T>())
            .and_then(|b| b.checked_add(align_of::<T>() - 1))
            .and_then(|b| b.checked_add(self.bytes))
            .ok_or(Error::Dimension)?;
        Ok(WorkspaceSize { bytes })
    }

    /// The total in bytes: what `*_work_bytes` returns.
    pub const fn bytes(self) -> usize {
        self.bytes
    }

    /// The larger of two sizes: a workspace that serves either use (for example one
    /// query for the `f32` and `f64` versions of a kernel).
    #[must_use]
    pub const fn max(self, other: Self) -> Self {
        if other.bytes > self.bytes {
            other
        } else {
            self
        }
    }

    /// Both sizes, one after the other: a workspace carved first as `self` says, then
    /// as `other` says (a kernel that calls another with the rest of its buffer).
    ///
    /// Fails with [`Error::Dimension`] when the total overflows `usize`.
    pub fn then(self, other: Self) -> Result<Self> {
        let bytes = self
            .bytes
            .checked_add(other.bytes)
            .ok_or(Error::Dimension)?;
        Ok(WorkspaceSize { bytes })
    }

    /// `copies` of this size one after the other: scratch for that many tiles at once,
    /// each carved from its own `self.bytes()`-byte piece.
    ///
    /// Fails with [`Error::Dimension`] when the total overflows `usize`.
    pub fn times(self, copies: usize) -> Result<Self> {
        let bytes = self.bytes.checked_mul(copies).ok_or(Error::Dimension)?;
        Ok(WorkspaceSize { bytes })
    }

    /// The number of whole `T` values in [`bytes`](Self::bytes). For a size made of
    /// one array of `T` this is the array's length (its alignment slack is less than
    /// one value): the length to allocate where memory comes typed and aligned, as
    /// device memory does.
    pub const fn len_of<T>(self) -> usize {
        self.bytes / size_of::<T>()
    }
}

/// A caller's scratch buffer being carved into typed, aligned slices.
#[derive(Debug)]
pub struct Workspace<'a> {
    rest: &'a mut [u8],
}

impl<'a> Workspace<'a> {
    /// Wraps a byte buffer of any alignment.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Workspace { rest: buf }
    }

    /// Bytes not yet handed out.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The bytes not yet handed out, for carving into further pieces.
    pub fn rest(self) -> &'a mut [u8] {
        self.rest
    }

    /// Takes the next `len` values of `T`, aligned for `T`.
    ///
    /// The contents are whatever the buffer held. Fails with [`Error::Workspace`] when
    /// the buffer is too small, which a kernel that queried its size first never sees.
    pub fn take<T: Pod>(&mut self, len: usize) -> Result<&'a mut [T]> {
        let rest = core::mem::take(&mut self.rest);
        let pad = rest.as_ptr().align_offset(align_of::<T>());
        let bytes = len.checked_mul(size_of::<T>()).ok_or(Error::Dimension)?;
        let end = pad.checked_add(bytes).ok_or(Error::Workspace)?;
        if end > rest.len() {
            self.rest = rest;
            return Err(Error::Workspace);
        }
        let (head, tail) = rest.split_at_mut(end);
        self.rest = tail;
        // The cast cannot fail: the slice starts aligned for T and holds exactly
        // len * size_of::<T>() bytes.
        bytemuck::try_cast_slice_mut(&mut head[pad..]).map_err(|_| Error::Internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_covers_every_offset() {
        let size = WorkspaceSize::new()
            .array::<u8>(3)
            .unwrap()
            .array::<f64>(5)
            .unwrap()
            .array::<u32>(7)
            .unwrap();
        let mut storage = [0u64; 16];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut storage);
        for offset in 0..8 {
            let buf = &mut bytes[offset..offset + size.bytes()];
            let mut ws = Workspace::new(buf);
            let a = ws.take::<u8>(3).unwrap();
            let b = ws.take::<f64>(5).unwrap();
            let c = ws.take::<u32>(7).unwrap();
            assert_eq!((a.len(), b.len(), c.len()), (3, 5, 7));
            assert_eq!(b.as_ptr() as usize % align_of::<f64>(), 0);
            b.fill(1.5);
            c.fill(7);
        }
    }

    #[test]
    fn too_small_is_an_error_and_keeps_the_buffer() {
        let mut storage = [0u8; 16];
        let mut ws = Workspace::new(&mut storage);
        assert_eq!(ws.take::<u8>(17).unwrap_err(), Error::Workspace);
        assert_eq!(ws.remaining(), 16);
        assert_eq!(ws.take::<u8>(16).unwrap().len(), 16);
    }

    #[test]
    fn sizes_compose() {
        let a = WorkspaceSize::new().array::<f64>(3).unwrap();
        let b = WorkspaceSize::new().array::<f32>(5).unwrap();
        assert_eq!((a.bytes(), b.bytes()), (31, 23));
        assert_eq!(a.max(b), a);
        assert_eq!(b.max(a), a);
        assert_eq!(a.then(b).unwrap().bytes(), 54);
        assert_eq!(a.len_of::<f64>(), 3);
        assert_eq!(b.len_of::<f32>(), 5);
        assert_eq!(WorkspaceSize::new().len_of::<f64>(), 0);
        let big = WorkspaceSize::new().array::<u8>(usize::MAX).unwrap();
        assert_eq!(big.then(b).unwrap_err(), Error::Dimension);
    }

    #[test]
    fn overflowing_query_is_a_dimension_error() {
        assert_eq!(
            WorkspaceSize::new()
                .array::<f64>(usize::MAX / 4)
                .unwrap_err(),
            Error::Dimension
        );
        let big = WorkspaceSize::new().array::<u8>(usize::MAX - 8).unwrap();
        assert_eq!(big.array::<u64>(2).unwrap_err(), Error::Dimension);
    }
}
