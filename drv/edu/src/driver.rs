//! The edu driver proper: identity and liveness, DMA between guest memory
//! (by IOVA) and edu's buffer, completion polling with a budget, and the
//! interrupt status bits.
//!
//! Every DMA request is checked whole before a register is written: QEMU
//! aborts the whole machine on a buffer range outside edu's buffer, and
//! masks IOVAs to 28 bits without telling anyone.

use crate::bus::EduBus;
use crate::error::EduError;
use crate::regs;

/// What the driver does between two polls of a running DMA.
pub trait Sleep {
    /// Waits a short while (a few milliseconds in the image).
    fn sleep(&mut self);
}

/// Which way a DMA moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Guest memory (read at the IOVA) into edu's buffer.
    ToDevice,
    /// edu's buffer into guest memory (written at the IOVA).
    ToRam,
}

/// The version edu reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub major: u8,
    pub minor: u8,
}

/// An edu device behind a register bus.
#[derive(Debug)]
pub struct Edu<B> {
    bus: B,
    /// One past the highest address edu's DMA reaches.
    dma_limit: u64,
}

impl<B: EduBus> Edu<B> {
    /// Wraps the device (QEMU's default 28-bit DMA mask); touches no
    /// register.
    pub fn new(bus: B) -> Edu<B> {
        Edu {
            bus,
            dma_limit: regs::DMA_ADDR_LIMIT,
        }
    }

    /// The same device created with `dma_mask=0xffffffff`: its DMA reaches
    /// any 32-bit address, the MSI window included (what a hostile device
    /// needs to forge an interrupt).
    pub fn with_32_bit_dma(mut self) -> Edu<B> {
        self.dma_limit = regs::DMA_ADDR_LIMIT_32;
        self
    }

    /// Reads the ID register and checks edu's signature.
    pub fn identify(&mut self) -> Result<Identity, EduError> {
        let id = self.bus.read32(regs::ID);
        if id & 0xff != regs::ID_MAGIC {
            return Err(EduError::NotEdu { id });
        }
        Ok(Identity {
            major: (id >> regs::ID_MAJOR_SHIFT) as u8,
            minor: (id >> regs::ID_MINOR_SHIFT) as u8,
        })
    }

    /// Writes `probe` to the liveness register and expects its complement.
    pub fn check_liveness(&mut self, probe: u32) -> Result<(), EduError> {
        self.bus.write32(regs::LIVENESS, probe);
        let read = self.bus.read32(regs::LIVENESS);
        if read != !probe {
            return Err(EduError::NotAlive { wrote: probe, read });
        }
        Ok(())
    }

    /// Starts a DMA of `len` bytes between `iova` and edu's buffer at
    /// `buffer_offset`; with `irq`, edu raises [`regs::IRQ_DMA_DONE`] at the
    /// end. Nothing is written when the request is invalid or a DMA runs.
    pub fn start_dma(
        &mut self,
        direction: Direction,
        iova: u64,
        buffer_offset: u32,
        len: u32,
        irq: bool,
    ) -> Result<(), EduError> {
        check_transfer(iova, buffer_offset, len, self.dma_limit)?;
        if self.dma_running() {
            return Err(EduError::DmaBusy);
        }
        let device = regs::BUFFER_ADDR + buffer_offset as u64;
        let (src, dst, dir_bit) = match direction {
            Direction::ToDevice => (iova, device, 0),
            Direction::ToRam => (device, iova, regs::DMA_CMD_TO_RAM),
        };
        self.bus.write64(regs::DMA_SRC, src);
        self.bus.write64(regs::DMA_DST, dst);
        self.bus.write64(regs::DMA_COUNT, len as u64);
        let irq_bit = if irq { regs::DMA_CMD_IRQ } else { 0 };
        self.bus
            .write64(regs::DMA_CMD, regs::DMA_CMD_RUN | dir_bit | irq_bit);
        Ok(())
    }

    /// Whether a DMA is still running.
    pub fn dma_running(&mut self) -> bool {
        self.bus.read64(regs::DMA_CMD) & regs::DMA_CMD_RUN != 0
    }

    /// Polls until the running DMA ends, sleeping between polls, at most
    /// `max_polls` times. Returns the number of sleeps it took.
    pub fn wait_dma(&mut self, sleep: &mut impl Sleep, max_polls: u32) -> Result<u32, EduError> {
        for slept in 0..max_polls {
            if !self.dma_running() {
                return Ok(slept);
            }
            sleep.sleep();
        }
        if !self.dma_running() {
            return Ok(max_polls);
        }
        Err(EduError::DmaTimeout { polls: max_polls })
    }

    /// Starts a DMA (without interrupt) and waits for it to end.
    #[allow(clippy::too_many_arguments)]
    pub fn dma(
        &mut self,
        direction: Direction,
        iova: u64,
        buffer_offset: u32,
        len: u32,
        sleep: &mut impl Sleep,
        max_polls: u32,
    ) -> Result<u32, EduError> {
        self.start_dma(direction, iova, buffer_offset, len, false)?;
        self.wait_dma(sleep, max_polls)
    }

    /// Raises `bits` in the interrupt status (asserts the interrupt).
    pub fn raise_irq(&mut self, bits: u32) {
        self.bus.write32(regs::IRQ_RAISE, bits);
    }

    /// The interrupt bits raised and not acknowledged.
    pub fn irq_status(&mut self) -> u32 {
        self.bus.read32(regs::IRQ_STATUS)
    }

    /// Acknowledges `bits` (the interrupt deasserts when none is left).
    pub fn ack_irq(&mut self, bits: u32) {
        self.bus.write32(regs::IRQ_ACK, bits);
    }

    /// The bus (for diagnostics and tests).
    pub fn bus(&mut self) -> &mut B {
        &mut self.bus
    }
}

/// Refuses a transfer edu would abort on or silently change.
fn check_transfer(iova: u64, buffer_offset: u32, len: u32, limit: u64) -> Result<(), EduError> {
    if len == 0 {
        return Err(EduError::EmptyTransfer);
    }
    // QEMU 7.2's edu checks that the range's end lies strictly *inside*
    // the buffer (its `within(end, start, end_of_buffer)`), so a transfer
    // reaching the buffer's last byte aborts the whole machine: the usable
    // length is one byte short of the buffer.
    if buffer_offset
        .checked_add(len)
        .is_none_or(|end| end >= regs::BUFFER_SIZE)
    {
        return Err(EduError::BufferRange {
            offset: buffer_offset,
            len,
        });
    }
    if iova.checked_add(len as u64).is_none_or(|end| end > limit) {
        return Err(EduError::IovaBeyondMask { iova, len });
    }
    Ok(())
}
