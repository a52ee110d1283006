//! What the library did to the hardware, counted so benchmarks and tests can
//! compare paths (atomic vs fallback, register vs queued invalidation).

/// Counts per invalidation granularity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByGranularity {
    pub global: u64,
    pub domain: u64,
    /// Device-selective (context cache) or page-selective (IOTLB).
    pub selective: u64,
}

/// The unit's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Plain 64-bit stores to context entries.
    pub context_stores: u64,
    /// 128-bit compare-exchanges of context entries.
    pub context_cmpxchg: u64,
    /// Context-cache invalidations.
    pub context_invalidations: ByGranularity,
    /// IOTLB invalidations.
    pub iotlb_invalidations: ByGranularity,
    /// Invalidation wait descriptors submitted.
    pub wait_descriptors: u64,
    /// Write-buffer flushes (CAP.RWBF).
    pub write_buffer_flushes: u64,
    /// Register writes of any width.
    pub register_writes: u64,
    /// Fault records drained.
    pub faults_drained: u64,
    /// Interrupt-remapping entries changed.
    pub irte_writes: u64,
    /// Of those, written by the blocked-first fallback (no CX16).
    pub irte_fallbacks: u64,
    /// Interrupt-entry-cache invalidations.
    pub iec_invalidations: u64,
}
