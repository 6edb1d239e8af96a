//! End-to-end browser tests (placeholder while being written).
