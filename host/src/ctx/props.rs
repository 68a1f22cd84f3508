//! Property tests of the host functions (being written).
