//! Decoding fuzz bytes into arguments: integers, tables of interesting values, and
//! floats that hit the edges (zero, signed zero, denormals, huge, NaN, infinities).
//! Reads past the end give zeros, so every input decodes to something.

/// A cursor over the fuzz input.
pub struct Reader<'a> {
    data: &'a [u8],
}

/// Edge values every float argument should meet.
const SPECIAL: [f64; 16] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.0,
    1e-310,
    -1e-310,
    1e-40,
    1e30,
    -1e30,
    1e300,
    f64::MAX,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 past the end.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next `N` bytes little-endian, zero-padded past the end.
    fn le<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for v in &mut b {
            *v = self.u8();
        }
        b
    }

    /// The next u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.le())
    }

    /// The next u64.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.le())
    }

    /// The next byte's lowest bit.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A value below `n` (`n` > 0) from one byte.
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.u8()) % n
    }

    /// One entry of `table` (non-empty), chosen by one byte.
    pub fn pick<T: Copy>(&mut self, table: &[T]) -> T {
        table[self.below(table.len())]
    }

    /// A float: half the time an edge value, else a plain value in [-4, 4) with a
    /// few bits of fraction, or (rarely) arbitrary bits.
    pub fn f64(&mut self) -> f64 {
        let tag = self.u8();
        match tag % 8 {
            0..=3 => SPECIAL[usize::from(tag >> 3) % SPECIAL.len()],
            4 => f64::from_bits(self.u64()),
            _ => (f64::from(self.u8()) - 128.0) / 32.0,
        }
    }
}
