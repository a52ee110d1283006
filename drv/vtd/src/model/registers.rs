//! The model's register page: storage, access widths, and what each write
//! sets off (GCMD commands, CCMD/IOTLB invalidations, IQT processing, W1C
//! status bits), all synchronous like QEMU.
//!
//! QEMU quirks kept on purpose: a 64-bit access to a 32-bit-only register is
//! ignored (and counted); once QIE is set, CCMD/IOTLB writes are ignored and
//! their busy bits never clear; a wait descriptor with SW and IF together is
//! what aborts QEMU, counted here and refused with IQE.

use super::state::State;
use crate::format::{CcGranularity, Ccmd, Descriptor, GstsBit, IotlbCmd, IotlbGranularity, Iva};
use crate::regs::{self, is_32bit_only};

/// Register values the model keeps.
#[derive(Debug, Default, Clone)]
pub(crate) struct RegFile {
    pub(crate) cap: u64,
    pub(crate) ecap: u64,
    pub(crate) gsts: u32,
    pub(crate) rtaddr: u64,
    /// Root table latched by the last SRTP.
    pub(crate) root: Option<u64>,
    pub(crate) ccmd: u64,
    /// PFO, IQE and FRI; PPF is computed from the records.
    pub(crate) fsts: u32,
    pub(crate) fectl: u32,
    pub(crate) fedata: u32,
    pub(crate) feaddr: u32,
    pub(crate) feuaddr: u32,
    pub(crate) pmen: u32,
    pub(crate) iqh: u64,
    pub(crate) iqt: u64,
    pub(crate) iqa: u64,
    pub(crate) ics: u32,
    pub(crate) iectl: u32,
    pub(crate) irta: u64,
    pub(crate) iva: u64,
    pub(crate) iotlb: u64,
    /// Fault recording registers (lo, hi).
    pub(crate) frcd: Vec<(u64, u64)>,
    pub(crate) next_frcd: usize,
}

/// VER as QEMU reports it (1.0).
const VERSION: u32 = 0x10;
/// A descriptor type QEMU accepts and the model treats as a no-op
/// (device-IOTLB: the model has no device TLBs).
const DESC_DEV_IOTLB: u8 = 3;

impl State {
    fn frcd_index(&self, offset: usize) -> Option<(usize, usize)> {
        let base = self.cap().fault_record_offset();
        let rel = offset.checked_sub(base)?;
        let index = rel / regs::FRCD_SIZE;
        (index < self.regs.frcd.len()).then_some((index, rel % regs::FRCD_SIZE))
    }

    pub(crate) fn fsts(&self) -> u32 {
        let ppf = self.regs.frcd.iter().any(|&(_, hi)| hi >> 63 != 0);
        self.regs.fsts | if ppf { regs::FSTS_PPF } else { 0 }
    }

    pub(crate) fn read32(&mut self, offset: usize) -> u32 {
        match offset {
            regs::VER => VERSION,
            regs::GCMD => 0,
            regs::GSTS => self.regs.gsts,
            regs::FSTS => self.fsts(),
            regs::FECTL => self.regs.fectl,
            regs::FEDATA => self.regs.fedata,
            regs::FEADDR => self.regs.feaddr,
            regs::FEUADDR => self.regs.feuaddr,
            regs::PMEN => self.regs.pmen,
            regs::ICS => self.regs.ics,
            regs::IECTL => self.regs.iectl,
            _ => {
                let wide = self.read64_inner(offset & !7);
                (wide >> ((offset & 4) * 8)) as u32
            }
        }
    }

    /// Sets a register's stored value with no side effect (see
    /// `Model::set_register`).
    pub(crate) fn set_register(&mut self, offset: usize, value: u64) -> bool {
        match offset {
            regs::GSTS => self.regs.gsts = value as u32,
            regs::FSTS => self.regs.fsts = value as u32,
            regs::RTADDR => self.regs.rtaddr = value,
            regs::IQA => self.regs.iqa = value,
            regs::IQH => self.regs.iqh = value,
            regs::IQT => self.regs.iqt = value,
            regs::IRTA => self.regs.irta = value,
            _ => return false,
        }
        true
    }

    pub(crate) fn read64(&mut self, offset: usize) -> u64 {
        if is_32bit_only(offset) || is_32bit_only(offset.wrapping_add(4)) {
            self.stats.width_violations += 1;
            return 0;
        }
        self.read64_inner(offset)
    }

    fn read64_inner(&self, offset: usize) -> u64 {
        let ecap = self.ecap();
        match offset {
            regs::CAP => self.regs.cap,
            regs::ECAP => self.regs.ecap,
            regs::RTADDR => self.regs.rtaddr,
            regs::CCMD => self.regs.ccmd,
            regs::IQH => self.regs.iqh,
            regs::IQT => self.regs.iqt,
            regs::IQA => self.regs.iqa,
            regs::IRTA => self.regs.irta,
            o if o == ecap.iva_offset() => self.regs.iva,
            o if o == ecap.iotlb_offset() => self.regs.iotlb,
            o => match self.frcd_index(o) {
                Some((i, 0)) => self.regs.frcd.get(i).map_or(0, |r| r.0),
                Some((i, 8)) => self.regs.frcd.get(i).map_or(0, |r| r.1),
                _ => 0,
            },
        }
    }

    pub(crate) fn write32(&mut self, offset: usize, value: u32) {
        match offset {
            regs::GCMD => self.gcmd(value),
            regs::FSTS => self.regs.fsts &= !(value & (regs::FSTS_PFO | regs::FSTS_IQE)),
            regs::FECTL => {
                self.regs.fectl = (self.regs.fectl & !regs::FECTL_IM) | (value & regs::FECTL_IM);
                // Unmasking with an event pending signals it (VT-d 10.4.10,
                // as QEMU's vtd_fectl_write does).
                let pending = regs::FECTL_IP;
                if self.regs.fectl & (regs::FECTL_IM | pending) == pending {
                    self.regs.fectl &= !pending;
                    self.stats.fault_interrupts += 1;
                }
            }
            regs::FEDATA => self.regs.fedata = value,
            regs::FEADDR => self.regs.feaddr = value,
            regs::FEUADDR => self.regs.feuaddr = value,
            regs::PMEN => self.regs.pmen = value,
            regs::ICS => self.regs.ics &= !(value & regs::ICS_IWC),
            regs::IECTL => self.regs.iectl = value,
            regs::VER | regs::GSTS => {}
            o => {
                if let Some((i, regs::FRCD_F_DWORD)) = self.frcd_index(o) {
                    if value & regs::FRCD_F_IN_DWORD != 0 {
                        self.clear_fault_record(i);
                    }
                    return;
                }
                // A 32-bit half of a 64-bit register: merge, and act only
                // when the half that starts the command is written.
                let base = o & !7;
                let shift = (o & 4) * 8;
                let old = self.read64_inner(base);
                let merged = (old & !(0xffff_ffffu64 << shift)) | ((value as u64) << shift);
                let triggers_high = base == regs::CCMD || base == self.ecap().iotlb_offset();
                if triggers_high && shift == 0 {
                    if base == regs::CCMD {
                        self.regs.ccmd = merged;
                    } else {
                        self.regs.iotlb = merged;
                    }
                } else {
                    self.write64_inner(base, merged);
                }
            }
        }
    }

    pub(crate) fn write64(&mut self, offset: usize, value: u64) {
        if is_32bit_only(offset) || is_32bit_only(offset.wrapping_add(4)) {
            self.stats.width_violations += 1;
            return;
        }
        self.write64_inner(offset, value);
    }

    fn write64_inner(&mut self, offset: usize, value: u64) {
        let ecap = self.ecap();
        match offset {
            regs::RTADDR => self.regs.rtaddr = value,
            regs::CCMD => self.ccmd(value),
            regs::IQT => {
                self.regs.iqt = value & 0x7fff0;
                self.process_queue();
            }
            regs::IQA => self.regs.iqa = value,
            regs::IRTA => self.regs.irta = value,
            o if o == ecap.iva_offset() => self.regs.iva = value,
            o if o == ecap.iotlb_offset() => self.iotlb_reg(value),
            o => {
                if let Some((i, 8)) = self.frcd_index(o) {
                    if value >> 63 != 0 {
                        self.clear_fault_record(i);
                    }
                }
            }
        }
    }

    fn gcmd(&mut self, value: u32) {
        self.stats.gcmd_writes += 1;
        let stuck = self.knobs.stuck_gsts;
        let set = |gsts: &mut u32, bit: GstsBit, on: bool| {
            if stuck & bit.mask() != 0 {
                return;
            }
            if on {
                *gsts |= bit.mask();
            } else {
                *gsts &= !bit.mask();
            }
        };
        let mut gsts = self.regs.gsts;
        let cmd = |bit: GstsBit| value & bit.mask() != 0;
        set(&mut gsts, GstsBit::Te, cmd(GstsBit::Te));
        if cmd(GstsBit::Rtps) {
            self.regs.root = Some(self.regs.rtaddr & !0xfff);
            self.rebuild_context_pages();
            self.caches.context.clear();
            self.caches.iotlb.clear();
            set(&mut gsts, GstsBit::Rtps, true);
        }
        if cmd(GstsBit::Fls) {
            set(&mut gsts, GstsBit::Fls, true);
        }
        if cmd(GstsBit::Wbfs) {
            self.stats.write_buffer_flushes += 1;
            // Done at once; a stuck WBFS stays busy.
            if stuck & GstsBit::Wbfs.mask() != 0 {
                gsts |= GstsBit::Wbfs.mask();
            }
        }
        let qie = cmd(GstsBit::Qies);
        if qie && gsts & GstsBit::Qies.mask() == 0 {
            self.regs.iqh = 0;
        }
        set(&mut gsts, GstsBit::Qies, qie);
        set(&mut gsts, GstsBit::Ires, cmd(GstsBit::Ires));
        if cmd(GstsBit::Irtps) {
            self.latch_interrupt_table();
            set(&mut gsts, GstsBit::Irtps, true);
        }
        set(&mut gsts, GstsBit::Cfis, cmd(GstsBit::Cfis));
        self.regs.gsts = gsts;
    }

    fn qie(&self) -> bool {
        self.regs.gsts & GstsBit::Qies.mask() != 0
    }

    fn ccmd(&mut self, value: u64) {
        let mut cmd = Ccmd::decode(value);
        if !cmd.icc {
            self.regs.ccmd = value;
            return;
        }
        if self.qie() {
            self.stats.ignored_register_invalidations += 1;
            self.regs.ccmd = value;
            return;
        }
        cmd.actual = if self.context_invalidation(cmd.request, cmd.sid, cmd.fm) {
            cmd.request
        } else {
            CcGranularity::None
        };
        cmd.icc = false;
        self.regs.ccmd = cmd.encode();
    }

    fn iotlb_reg(&mut self, value: u64) {
        let mut cmd = IotlbCmd::decode(value);
        if !cmd.ivt {
            self.regs.iotlb = value;
            return;
        }
        if self.qie() {
            self.stats.ignored_register_invalidations += 1;
            self.regs.iotlb = value;
            return;
        }
        let iva = Iva::decode(self.regs.iva);
        cmd.actual = if self.iotlb_invalidation(cmd.request, cmd.did, iva.addr, iva.am) {
            cmd.request
        } else {
            IotlbGranularity::None
        };
        cmd.ivt = false;
        self.regs.iotlb = cmd.encode();
    }

    fn context_invalidation(&mut self, granularity: CcGranularity, sid: u16, fm: u8) -> bool {
        let done = self.caches.invalidate_context(granularity, sid, fm);
        if done {
            let counts = &mut self.stats.context_invalidations;
            match granularity {
                CcGranularity::Global => counts.global += 1,
                CcGranularity::Domain => counts.domain += 1,
                _ => counts.selective += 1,
            }
        }
        done
    }

    fn iotlb_invalidation(
        &mut self,
        granularity: IotlbGranularity,
        did: u16,
        addr: u64,
        am: u8,
    ) -> bool {
        if self.knobs.accept_iotlb_invalidations > 0 {
            self.knobs.accept_iotlb_invalidations -= 1;
        } else if self.knobs.reject_iotlb_invalidations > 0 {
            self.knobs.reject_iotlb_invalidations -= 1;
            return false;
        }
        let done = self.caches.invalidate_iotlb(granularity, did, addr, am);
        if done {
            let counts = &mut self.stats.iotlb_invalidations;
            match granularity {
                IotlbGranularity::Global => counts.global += 1,
                IotlbGranularity::Domain => counts.domain += 1,
                _ => counts.selective += 1,
            }
        }
        done
    }

    /// Runs descriptors from IQH to IQT (only while QIE is set, as QEMU).
    fn process_queue(&mut self) {
        if !self.qie() {
            return;
        }
        let entries = 1u64 << (8 + (self.regs.iqa & regs::IQA_QS_MASK));
        let base = self.regs.iqa & regs::IQA_BASE_MASK;
        while self.regs.iqh != self.regs.iqt && self.regs.fsts & regs::FSTS_IQE == 0 {
            let slot = base + self.regs.iqh;
            let desc = Descriptor::decode(self.mem.read_u64(slot), self.mem.read_u64(slot + 8));
            if !self.run_descriptor(desc) {
                self.stats.queue_errors += 1;
                self.regs.fsts |= regs::FSTS_IQE;
                return;
            }
            self.regs.iqh = (self.regs.iqh + 16) % (entries * 16);
        }
    }

    fn run_descriptor(&mut self, desc: Descriptor) -> bool {
        match desc {
            Descriptor::ContextCache {
                granularity,
                sid,
                fm,
                ..
            } => self.context_invalidation(granularity, sid, fm),
            Descriptor::Iotlb {
                granularity,
                did,
                addr,
                am,
                ..
            } => self.iotlb_invalidation(granularity, did, addr, am),
            Descriptor::Wait {
                interrupt: true,
                status_write: true,
                ..
            } => {
                self.stats.qemu_aborts += 1;
                false
            }
            Descriptor::Wait {
                interrupt,
                status_write,
                status_data,
                status_addr,
                ..
            } => {
                self.stats.wait_descriptors += 1;
                if status_write && !self.knobs.never_complete_waits {
                    self.mem.write_u32(status_addr, status_data);
                }
                if interrupt {
                    self.regs.ics |= regs::ICS_IWC;
                }
                true
            }
            Descriptor::InterruptEntryCache { index } => {
                self.invalidate_iec(index);
                true
            }
            Descriptor::Other { kind, .. } => kind == DESC_DEV_IOTLB,
        }
    }
}
