//! Hostile arguments decoded from fuzz bytes, and the judgement of a call's status
//! against an independent statement of the rules, shared by the dense-kernel checks
//! (sinkhorn, h2o, linattn).
//!
//! Sizes are small (zero included) or, rarely, so large that no buffer of that many
//! elements can exist (`HUGE`): a function must then refuse them before touching memory.
//! Every pointer passed is NULL or a real buffer of the claimed length; a claim that no
//! buffer can meet is only ever made where the byte length overflows, and the buffer is
//! then a one-element stand-in.

use bytemuck::Pod;
use core::ffi::c_void;
use core::mem::size_of;
use kernels::{
    KN_ERR_INTERNAL, KN_ERR_NON_FINITE, KN_ERR_NULL, KN_ERR_NUMERICAL, KN_OK, kn_status,
};
use kernels_core::Real;

/// The most elements the harness allocates for one array.
const CAP: usize = 1 << 16;

/// Sizes with which an array of 4-byte (or larger) elements overflows `usize` bytes.
const HUGE: [usize; 4] = [
    usize::MAX,
    usize::MAX / 2 + 1,
    usize::MAX / 4 + 1,
    usize::MAX / 4 + 7,
];

/// Whether `len` values of `T` can exist: the length is known (its product did not
/// overflow) and its byte length fits `isize`.
pub fn fits<T>(len: Option<usize>) -> bool {
    len.and_then(|n| n.checked_mul(size_of::<T>()))
        .is_some_and(|b| b <= isize::MAX as usize)
}

/// The product of sizes, `None` on overflow.
pub fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// How array values are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// Small ordinary values only.
    Tame,
    /// Ordinary values mixed with denormals and huge finite values.
    Extreme,
    /// Ordinary values mixed with NaN, infinities, denormals and huge values.
    Hostile,
}

/// The sign of the ordinary values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// In [-7, 9).
    Any,
    /// In (0, 8].
    Positive,
    /// In [0, 8], zero one time in eight.
    NonNegative,
}

/// The magnitude above which a finite value counts as huge (enough to overflow a
/// logit or a sum of products of a few of them); ordinary values stay far below.
pub const TAME_LIMIT: f64 = 1e4;

/// Whether every value is finite and at most [`TAME_LIMIT`] in magnitude.
pub fn tame<T: Real>(x: &[T]) -> bool {
    x.iter().all(|v| v.to_f64_lossless().abs() <= TAME_LIMIT)
}

/// Whether any value is NaN or infinite.
pub fn non_finite<T: Real>(x: &[T]) -> bool {
    x.iter().any(|v| !v.is_finite())
}

/// The fuzz input, read front to back; past its end every byte reads 0.
pub struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    /// Wraps the input.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes(data)
    }

    /// The next byte.
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// True with probability `per256 / 256`.
    pub fn chance(&mut self, per256: u8) -> bool {
        self.byte() < per256
    }

    /// A size: usually `0..=max`, rarely one from `HUGE`.
    pub fn size(&mut self, max: usize) -> usize {
        let b = self.byte();
        if b >= 250 {
            HUGE[usize::from(b - 250) % HUGE.len()]
        } else {
            usize::from(b) % (max + 1)
        }
    }

    /// A `u64` near the edges (0, 1, the maximum and below it) or small.
    pub fn edge_u64(&mut self, small: u64) -> u64 {
        match self.byte() {
            0..=239 => u64::from(self.byte()) % (small + 1),
            240..=243 => u64::MAX,
            244..=247 => u64::MAX - 1,
            _ => u64::from(self.byte()) << 40,
        }
    }

    /// An option value: ordinary positive values most of the time, else 0, negative,
    /// NaN, infinities, denormals, tiny or huge values.
    pub fn option(&mut self) -> f64 {
        let b = self.byte();
        match b % 16 {
            0 => 0.0,
            1 => -1.0,
            2 => f64::NAN,
            3 => f64::INFINITY,
            4 => f64::NEG_INFINITY,
            5 => 5e-324,
            6 => 1e300,
            7 => f64::MAX,
            8 => 1e-300,
            9 => 1e-40,
            _ => 10f64.powi(i32::from(b / 16) - 8) * (1.0 + f64::from(self.byte()) / 64.0),
        }
    }

    /// One value drawn by `mix` and `sign`.
    pub fn value<T: Real>(&mut self, mix: Mix, sign: Sign) -> T {
        let b = self.byte();
        let specials = match mix {
            Mix::Tame => 0,
            Mix::Extreme => 5,
            Mix::Hostile => 8,
        };
        if b >= 240 && specials > 0 {
            let huge = T::max_value() / T::of(4.0);
            let denormal = T::min_positive_value() / T::of(8.0);
            return match (b - 240) % specials {
                0 => denormal,
                1 => -denormal,
                2 => huge,
                3 => -huge,
                4 => T::max_value(),
                5 => T::nan(),
                6 => T::infinity(),
                _ => T::neg_infinity(),
            };
        }
        let x = f64::from(b);
        T::of(match sign {
            Sign::Any => (x - 112.0) / 16.0,
            Sign::Positive => (x + 1.0) / 32.0,
            Sign::NonNegative if b.is_multiple_of(8) => 0.0,
            Sign::NonNegative => x / 32.0,
        })
    }

    /// An array claimed to hold `len` values (`None`: the length overflowed). A length
    /// beyond what the harness allocates gets a one-element stand-in; that only
    /// happens when no buffer of that length can exist.
    pub fn values<T: Real>(&mut self, len: Option<usize>, mix: Mix, sign: Sign) -> Vec<T> {
        match len {
            Some(n) if n <= CAP => (0..n).map(|_| self.value(mix, sign)).collect(),
            _ => {
                assert!(!fits::<T>(len), "harness: a real length it cannot allocate");
                vec![T::one()]
            }
        }
    }

    /// How the values of one call are mixed: hostile one time in three, extreme
    /// (finite) one in six, else tame.
    pub fn mix(&mut self) -> Mix {
        match self.byte() % 6 {
            0 | 1 => Mix::Hostile,
            2 => Mix::Extreme,
            _ => Mix::Tame,
        }
    }

    /// Which of `count` pointers are NULL (bit `i` for pointer `i`): none most of the
    /// time, else one, rarely two.
    pub fn nulls(&mut self, count: u32) -> u32 {
        let b = self.byte();
        match b {
            0..=219 => 0,
            220..=249 => 1 << (u32::from(b) % count),
            _ => (1 << (u32::from(b) % count)) | (1 << (u32::from(self.byte()) % count)),
        }
    }

    /// A workspace for a function whose query gave `need` bytes (`None`: it failed):
    /// exact, one short, zero, larger, or NULL, at any alignment.
    pub fn work(&mut self, need: Option<usize>) -> Work {
        let sel = self.byte();
        let offset = usize::from(self.byte() % 8);
        let extra = usize::from(self.byte());
        let need = need.filter(|&n| n <= CAP);
        let (len, null) = match (need, sel % 8) {
            (None, _) => (extra % 64, sel % 8 == 7),
            (Some(n), 0..=2) => (n, false),
            (Some(n), 3) => (n.saturating_sub(1), false),
            (Some(_), 4) => (0, false),
            (Some(n), 5) => (n + extra, false),
            (Some(_), 6) => (0, true),
            (Some(n), _) => (n, true),
        };
        Work {
            buf: vec![0u8; offset + len],
            offset,
            len,
            null,
        }
    }
}

/// A caller's workspace.
pub struct Work {
    buf: Vec<u8>,
    offset: usize,
    len: usize,
    null: bool,
}

impl Work {
    /// The pointer passed (NULL or into the buffer, at the chosen offset).
    pub fn ptr(&mut self) -> *mut c_void {
        if self.null {
            core::ptr::null_mut()
        } else {
            self.buf[self.offset..].as_mut_ptr().cast()
        }
    }

    /// The byte count passed.
    pub fn bytes(&self) -> usize {
        self.len
    }

    /// Whether the pointer is NULL with a nonzero byte count (KN_ERR_NULL).
    pub fn null_fault(&self) -> bool {
        self.null && self.len > 0
    }
}

/// `p` or NULL.
pub fn ptr<T>(x: &[T], null: bool) -> *const T {
    if null { core::ptr::null() } else { x.as_ptr() }
}

/// `p` or NULL, mutable.
pub fn ptr_mut<T>(x: &mut [T], null: bool) -> *mut T {
    if null {
        core::ptr::null_mut()
    } else {
        x.as_mut_ptr()
    }
}

/// `len` values of the canary pattern (every byte 0xA5), or a one-element stand-in for
/// a length no buffer can have.
pub fn canary<T: Pod>(len: Option<usize>) -> Vec<T> {
    let n = match len {
        Some(n) if n <= CAP => n,
        _ => {
            assert!(!fits::<T>(len), "harness: a real length it cannot allocate");
            1
        }
    };
    let mut v = vec![T::zeroed(); n];
    bytemuck::cast_slice_mut::<T, u8>(&mut v).fill(0xA5);
    v
}

/// The bytes of `x`, to compare before and after a call.
pub fn bits<T: Pod>(x: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(x).to_vec()
}

/// What the rules say about one call: the faults its arguments have (when several
/// apply, the function may report any of them: their order is unspecified), codes
/// allowed either way at a boundary the rules leave open, and the outcomes of a valid
/// call.
pub struct Expect {
    faults: Vec<(kn_status, &'static str)>,
    either: Vec<kn_status>,
    valid: Vec<kn_status>,
}

impl Expect {
    /// A call whose valid outcomes are `valid`.
    pub fn new(valid: &[kn_status]) -> Self {
        Expect {
            faults: Vec::new(),
            either: Vec::new(),
            valid: valid.to_vec(),
        }
    }

    /// Records the fault `code` when `yes`.
    pub fn fault(&mut self, yes: bool, code: kn_status, why: &'static str) {
        if yes {
            self.faults.push((code, why));
        }
    }

    /// Records KN_ERR_NULL when `yes`.
    pub fn null(&mut self, yes: bool, why: &'static str) {
        self.fault(yes, KN_ERR_NULL, why);
    }

    /// Records KN_ERR_NON_FINITE when `x` holds NaN or infinity.
    pub fn finite<T: Real>(&mut self, x: &[T], why: &'static str) {
        self.fault(non_finite(x), KN_ERR_NON_FINITE, why);
    }

    /// Allows `code` whether or not the call is otherwise valid (a boundary case).
    pub fn either(&mut self, yes: bool, code: kn_status) {
        if yes {
            self.either.push(code);
        }
    }

    /// Also allows `code` for a valid call.
    pub fn allow(&mut self, yes: bool, code: kn_status) {
        if yes {
            self.valid.push(code);
        }
    }

    /// Whether the arguments are valid so far.
    pub fn is_valid(&self) -> bool {
        self.faults.is_empty()
    }

    /// Asserts that `status` agrees with the rules; returns whether it is an argument
    /// error (-1 to -5), after which nothing may have been written.
    pub fn judge(&self, status: kn_status, what: &str) -> bool {
        assert_ne!(
            status, KN_ERR_INTERNAL,
            "{what}: a panic or a broken invariant"
        );
        let ok = if self.faults.is_empty() {
            self.valid.contains(&status)
        } else {
            self.faults.iter().any(|&(c, _)| c == status)
        };
        assert!(
            ok || self.either.contains(&status),
            "{what}: status {status}, expected one of the faults {:?} or, if none, {:?} \
             (either way {:?})",
            self.faults,
            self.valid,
            self.either
        );
        (-5..=-1).contains(&status)
    }
}

/// The valid outcomes of a direct (non-iterative) kernel: KN_OK, and
/// KN_ERR_NUMERICAL when `overflow_possible`.
pub fn direct(overflow_possible: bool) -> Expect {
    let mut e = Expect::new(&[KN_OK]);
    e.allow(overflow_possible, KN_ERR_NUMERICAL);
    e
}

/// Asserts that an output is bit-identical to its state before the call.
pub fn untouched(name: &str, before: &[u8], after: &[u8]) {
    assert!(before == after, "{name} was written on an argument error");
}
