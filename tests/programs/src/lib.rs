//! Guest programs of the integration tests live in this crate's `[[example]]` targets.
