//! The resource limiter of an instance: linear memory, tables and instances capped, the
//! peak memory recorded.

/// Caps linear memory, tables and instances, and records the peak memory.
pub(crate) struct MemoryLimiter {
    pub(crate) max_bytes: usize,
    pub(crate) max_table_elements: usize,
    pub(crate) peak_bytes: usize,
    pub(crate) refused: bool,
}

/// Most core instances, tables and memories one workflow component may create. A Rust
/// `wasm32-wasip2` component uses a handful of each.
const MAX_INSTANCES_PER_EXECUTION: usize = 64;
const MAX_TABLES_PER_EXECUTION: usize = 64;
const MAX_MEMORIES_PER_EXECUTION: usize = 16;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = true;
            return Ok(false);
        }
        self.peak_bytes = self.peak_bytes.max(desired).max(current);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.max_table_elements)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES_PER_EXECUTION
    }

    fn tables(&self) -> usize {
        MAX_TABLES_PER_EXECUTION
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES_PER_EXECUTION
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn limiter_caps_memory_and_tables_and_records_the_peak() {
        let mut l = MemoryLimiter {
            max_bytes: 1000,
            max_table_elements: 10,
            peak_bytes: 0,
            refused: false,
        };
        assert!(l.memory_growing(0, 600, None).unwrap());
        assert!(!l.memory_growing(600, 1001, None).unwrap());
        assert!(l.refused);
        assert_eq!(l.peak_bytes, 600);
        assert!(l.table_growing(0, 10, None).unwrap());
        assert!(!l.table_growing(10, 11, None).unwrap());
        assert_eq!(l.instances(), MAX_INSTANCES_PER_EXECUTION);
    }
}
