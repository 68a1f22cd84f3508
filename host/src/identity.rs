//! Who an instance runs as, which execution it runs in, and the visibility rule, from the
//! shared [`bifrost_query`] crate: the virtual provider component applies the same rule.

pub use bifrost_query::identity::*;
