//! Validation of list and log queries, from the shared [`bifrost_query`] crate: the virtual
//! provider component applies the same rules.

pub use bifrost_query::query::*;

impl From<bifrost_query::InvalidArgument> for crate::ApiError {
    fn from(e: bifrost_query::InvalidArgument) -> Self {
        Self::InvalidArgument {
            parameter: e.parameter,
            reason: e.reason,
        }
    }
}
