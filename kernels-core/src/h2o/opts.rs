//! The budget and scale of H2O attention.

use crate::{Error, Result};

/// The per-kv-head budget and the logit scale.
///
/// Build it from [`Default`] and the setters, e.g.
/// `H2oOpts::default().heavy(28).recent(32)`: the struct is `#[non_exhaustive]` so
/// that options can be added without breaking callers. The fields stay readable.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct H2oOpts {
    /// First positions never evicted (attention sinks).
    pub sink: usize,
    /// Slots for heavy hitters chosen by accumulated score.
    pub heavy: usize,
    /// Newest positions (the current token included) never evicted.
    pub recent: usize,
    /// Logit scale; 0 means `1 / sqrt(d)`.
    pub scale: f32,
}

impl Default for H2oOpts {
    /// A budget of 128 per kv head: `sink = 4`, `heavy = 60`, `recent = 64`; `scale =
    /// 0` (`1 / sqrt(d)`).
    fn default() -> Self {
        H2oOpts {
            sink: 4,
            heavy: 60,
            recent: 64,
            scale: 0.0,
        }
    }
}

impl H2oOpts {
    /// Sets `sink`, the first positions never evicted.
    #[must_use]
    pub fn sink(mut self, sink: usize) -> Self {
        self.sink = sink;
        self
    }

    /// Sets `heavy`, the heavy-hitter slots.
    #[must_use]
    pub fn heavy(mut self, heavy: usize) -> Self {
        self.heavy = heavy;
        self
    }

    /// Sets `recent`, the newest positions never evicted.
    #[must_use]
    pub fn recent(mut self, recent: usize) -> Self {
        self.recent = recent;
        self
    }

    /// Sets `scale`, the logit scale (0: `1 / sqrt(d)`).
    #[must_use]
    pub fn scale(mut self, scale: f32) -> Self {
        self.scale = scale;
        self
    }

    /// `sink + heavy + recent` after checking the rule can run.
    ///
    /// [`Error::Dimension`] when the sum overflows; [`Error::Argument`] when it is 0 or
    /// `heavy + recent == 0` (the newest token would find no evictable slot).
    pub fn budget(&self) -> Result<usize> {
        budget(self.sink, self.heavy, self.recent)
    }

    /// The scale actually used: `scale`, or `1 / sqrt(d)` when it is 0.
    ///
    /// [`Error::Argument`] when `scale` is NaN or infinite.
    pub fn scale_for(&self, d: usize) -> Result<f32> {
        resolve_scale(self.scale, d)
    }
}

pub(crate) fn budget(sink: usize, heavy: usize, recent: usize) -> Result<usize> {
    let evictable = heavy.checked_add(recent).ok_or(Error::Dimension)?;
    let total = evictable.checked_add(sink).ok_or(Error::Dimension)?;
    if evictable == 0 {
        return Err(Error::Argument);
    }
    Ok(total)
}

pub(crate) fn resolve_scale(scale: f32, d: usize) -> Result<f32> {
    if !scale.is_finite() {
        return Err(Error::Argument);
    }
    if scale == 0.0 {
        // d fits f64 exactly enough; the root is rounded once to f32.
        return Ok((1.0 / libm::sqrt(d as f64)) as f32);
    }
    Ok(scale)
}
