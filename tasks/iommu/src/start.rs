//! Starting a unit: bring it up on first boot, or take over the running
//! unit after a restart of the task without ever making its context entries
//! unreachable.
//!
//! Taking over relies on the order [`vtd::Unit::bring_up`] allocates in
//! (queue page and its status page when the queue is used, then the root
//! table): the root-table allocation is answered with the running root
//! ([`crate::Adopting`]), so bring-up re-latches the same root, flushes the
//! caches and leaves translation on. The queue is disabled first (a new
//! queue is set up with new pages; the old two pages are not reclaimed), and
//! the result is checked: a different root latched is reported as
//! `ResumeFailed`. A `vtd::Unit::resume` would make this adapter
//! unnecessary.

use vtd::format::{GstsBit, GCMD_ONE_SHOT};
use vtd::{
    regs, Config, Delay, Ecap, Error, InvalidationChoice, PageAllocator, Registers, TableMemory,
    Unit,
};

use crate::adopt::Adopting;

/// How a unit was started.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Started {
    /// Translation was off: brought up with new, empty tables.
    Fresh,
    /// Translation was on: the running root table was adopted.
    Resumed { root: u64 },
}

/// Why a unit could not be started.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The library refused or the hardware did not answer.
    Unit(Error),
    /// Bring-up latched another root than the running one.
    RootNotAdopted { running: u64, latched: u64 },
}

/// The unit type the server drives: the library's unit over an adopting
/// allocator.
pub type AdoptedUnit<R, M, A, D> = Unit<R, M, Adopting<A>, D>;

/// A started unit and how it was started.
pub type StartResult<R, M, A, D> = Result<(AdoptedUnit<R, M, A, D>, Started), StartError>;

/// Root-table address bits of RTADDR (legacy mode: bits 63:12).
const RTADDR_MASK: u64 = !0xfff;

/// Brings the unit behind `regs` up, or takes it over if it is running.
pub fn start_unit<R, M, A, D>(
    mut regs: R,
    mem: M,
    alloc: A,
    mut delay: D,
    config: Config,
) -> StartResult<R, M, A, D>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
{
    let gsts = regs.read32(regs::GSTS);
    if gsts & GstsBit::Te.mask() == 0 {
        let mut unit = Unit::new(regs, mem, Adopting::fresh(alloc), delay, config)
            .map_err(StartError::Unit)?;
        unit.bring_up().map_err(StartError::Unit)?;
        return Ok((unit, Started::Fresh));
    }

    let running = regs.read64(regs::RTADDR) & RTADDR_MASK;
    if gsts & GstsBit::Qies.mask() != 0 {
        // A new queue is set up by bring-up; the old one must be off first
        // (its head would otherwise run over the new, empty descriptors).
        let command = gsts & !GCMD_ONE_SHOT & !GstsBit::Qies.mask();
        regs.write32(regs::GCMD, command);
        wait_queue_off(&mut regs, &mut delay, config.poll_limit)?;
    }
    let ecap = Ecap::decode(regs.read64(regs::ECAP));
    let queue = match config.invalidation {
        InvalidationChoice::Auto => ecap.qi,
        InvalidationChoice::Registers => false,
        InvalidationChoice::Queue => true,
    };
    // Bring-up allocates the queue and its status page before the root.
    let skip = if queue { 2 } else { 0 };
    let adopting = Adopting::resuming(alloc, skip, running);
    let mut unit = Unit::new(regs, mem, adopting, delay, config).map_err(StartError::Unit)?;
    unit.bring_up().map_err(StartError::Unit)?;
    let latched = unit.registers().read64(regs::RTADDR) & RTADDR_MASK;
    if latched != running {
        return Err(StartError::RootNotAdopted { running, latched });
    }
    Ok((unit, Started::Resumed { root: running }))
}

fn wait_queue_off<R: Registers, D: Delay>(
    regs: &mut R,
    delay: &mut D,
    limit: u32,
) -> Result<(), StartError> {
    for _ in 0..limit {
        if regs.read32(regs::GSTS) & GstsBit::Qies.mask() == 0 {
            return Ok(());
        }
        delay.pause();
    }
    Err(StartError::Unit(Error::Timeout {
        what: vtd::WaitFor::Gsts {
            bit: GstsBit::Qies,
            set: false,
        },
        polls: limit,
    }))
}
