//! A workspace of exactly the queried size, at any address, holds every array the
//! query listed, each aligned and inside the buffer.
#![no_main]

use kernels_core::{Workspace, WorkspaceSize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&offset, spec)) = data.split_first() else {
        return;
    };
    // Each pair of bytes is one array: element type and length.
    let arrays: Vec<(u8, usize)> = spec
        .chunks_exact(2)
        .take(16)
        .map(|c| (c[0] % 4, usize::from(c[1])))
        .collect();
    let mut size = WorkspaceSize::new();
    for &(kind, len) in &arrays {
        size = match kind {
            0 => size.array::<u8>(len),
            1 => size.array::<u32>(len),
            2 => size.array::<f32>(len),
            _ => size.array::<f64>(len),
        }
        .expect("small sizes cannot overflow");
    }
    let offset = usize::from(offset % 8);
    let mut storage = vec![0u64; size.bytes() / 8 + 2];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut storage);
    let buf = &mut bytes[offset..offset + size.bytes()];
    let (lo, hi) = (buf.as_ptr() as usize, buf.as_ptr() as usize + buf.len());
    let mut ws = Workspace::new(buf);
    for &(kind, len) in &arrays {
        let (p, bytes, align) = match kind {
            0 => span(ws.take::<u8>(len).expect("queried size suffices")),
            1 => span(ws.take::<u32>(len).expect("queried size suffices")),
            2 => span(ws.take::<f32>(len).expect("queried size suffices")),
            _ => span(ws.take::<f64>(len).expect("queried size suffices")),
        };
        assert_eq!(p % align, 0);
        assert!(p >= lo && p + bytes <= hi);
    }
});

fn span<T>(s: &mut [T]) -> (usize, usize, usize) {
    (
        s.as_ptr() as usize,
        std::mem::size_of_val(s),
        std::mem::align_of::<T>(),
    )
}
