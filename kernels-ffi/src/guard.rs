//! The one way an exported function turns its body's result into a status.

use crate::status::{KN_NOT_CONVERGED, KN_OK, kn_status};
use kernels_core::Result;

/// How a body that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Done {
    /// `KN_OK`.
    Ok,
    /// `KN_NOT_CONVERGED`: outputs written, tolerance not reached.
    NotConverged,
}

impl Done {
    /// `Ok` when converged, else `NotConverged`.
    pub(crate) fn converged(yes: bool) -> Done {
        if yes { Done::Ok } else { Done::NotConverged }
    }
}

/// Runs an exported function's body and maps its result to a status code.
///
/// With `std`, a panic (a bug: bodies validate instead of panicking) is caught here
/// and reported as `KN_ERR_INTERNAL` instead of unwinding into C, which is undefined
/// behaviour. Without `std` there is no unwinding: the target's panic strategy is
/// abort.
pub(crate) fn status(body: impl FnOnce() -> Result<Done>) -> kn_status {
    #[cfg(feature = "std")]
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or(Err(kernels_core::Error::Internal));
    #[cfg(not(feature = "std"))]
    let result = body();
    match result {
        Ok(Done::Ok) => KN_OK,
        Ok(Done::NotConverged) => KN_NOT_CONVERGED,
        Err(e) => e.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernels_core::Error;

    #[test]
    fn results_map_to_codes() {
        assert_eq!(status(|| Ok(Done::Ok)), 0);
        assert_eq!(status(|| Ok(Done::converged(false))), 1);
        assert_eq!(status(|| Err(Error::Workspace)), -3);
    }

    #[cfg(feature = "std")]
    #[test]
    fn a_panic_becomes_internal() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let code = status(|| panic!("bug"));
        std::panic::set_hook(hook);
        assert_eq!(code, Error::Internal.code());
    }
}
