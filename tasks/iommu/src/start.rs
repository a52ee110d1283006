//! Starting a unit: bring it up on first boot, or take over the running
//! unit after a restart of the task without ever making its context entries
//! unreachable.
//!
//! Taking over is [`vtd::Unit::resume`]: the running root table and (with
//! queued invalidation) the running queue and its wait status word are
//! adopted, checked against the page books, and nothing is written to the
//! unit or allocated, so the books stay exact however often the task
//! restarts. A unit that does not look like this driver's (a root or queue
//! outside the pool, a queue not ending in our wait) is refused with the
//! reason rather than reprogrammed.

use vtd::format::GstsBit;
use vtd::{regs, Config, Delay, Error, PageAllocator, Registers, ResumeError, TableMemory, Unit};

/// How a unit was started.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Started {
    /// Translation was off: brought up with new, empty tables.
    Fresh,
    /// Translation was on: the running unit was adopted as found.
    Resumed(vtd::Resumed),
}

/// Why a unit could not be started.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The library refused or the hardware did not answer.
    Unit(Error),
    /// The unit translates, but not with state this driver can adopt.
    Resume(ResumeError),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Unit(e) => write!(f, "{e}"),
            StartError::Resume(e) => write!(f, "cannot take the running unit over: {e}"),
        }
    }
}

/// A started unit and how it was started.
pub type StartResult<R, M, A, D> = Result<(Unit<R, M, A, D>, Started), StartError>;

/// Brings the unit behind `regs` up, or takes it over if it is translating.
pub fn start_unit<R, M, A, D>(
    regs: R,
    mem: M,
    alloc: A,
    delay: D,
    config: Config,
) -> StartResult<R, M, A, D>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
{
    let mut unit = Unit::new(regs, mem, alloc, delay, config).map_err(StartError::Unit)?;
    let gsts = unit.registers().read32(regs::GSTS);
    if gsts & GstsBit::Te.mask() == 0 {
        unit.bring_up().map_err(StartError::Unit)?;
        return Ok((unit, Started::Fresh));
    }
    let found = unit.resume().map_err(StartError::Resume)?;
    Ok((unit, Started::Resumed(found)))
}
