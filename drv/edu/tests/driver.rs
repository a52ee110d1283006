//! The edu driver against a fake device that behaves as QEMU's edu.c does:
//! liveness complement, interrupt status bits, a DMA that stays running for
//! a number of polls and ignores commands meanwhile, and access widths
//! (4-byte only below 0x80) checked on every access.

use edu::{regs, Direction, Edu, EduBus, EduError, MmioBus, Sleep};

#[derive(Default)]
struct FakeEdu {
    id: u32,
    liveness: u32,
    irq_status: u32,
    src: u64,
    dst: u64,
    count: u64,
    cmd: u64,
    /// Polls of DMA_CMD a transfer stays running (u32::MAX: forever).
    busy_polls: u32,
    polls_left: u32,
    /// (src, dst, count, cmd) of every started transfer.
    started: Vec<(u64, u64, u64, u64)>,
    writes: usize,
    bad_width: Vec<(usize, u8)>,
}

impl FakeEdu {
    fn new() -> FakeEdu {
        FakeEdu {
            id: 0x0100_00ed,
            busy_polls: 3,
            ..FakeEdu::default()
        }
    }

    fn check_width(&mut self, offset: usize, width: u8) {
        let ok = if offset < regs::WIDE_REGS_START {
            width == 4
        } else {
            width == 4 || width == 8
        };
        if !ok {
            self.bad_width.push((offset, width));
        }
    }
}

impl EduBus for FakeEdu {
    fn read32(&mut self, offset: usize) -> u32 {
        self.check_width(offset, 4);
        match offset {
            regs::ID => self.id,
            regs::LIVENESS => !self.liveness,
            regs::IRQ_STATUS => self.irq_status,
            _ => 0,
        }
    }

    fn write32(&mut self, offset: usize, value: u32) {
        self.check_width(offset, 4);
        self.writes += 1;
        match offset {
            regs::LIVENESS => self.liveness = value,
            regs::IRQ_RAISE => self.irq_status |= value,
            regs::IRQ_ACK => self.irq_status &= !value,
            _ => {}
        }
    }

    fn read64(&mut self, offset: usize) -> u64 {
        self.check_width(offset, 8);
        match offset {
            regs::DMA_CMD => {
                if self.cmd & regs::DMA_CMD_RUN != 0 && self.busy_polls != u32::MAX {
                    if self.polls_left == 0 {
                        self.cmd &= !regs::DMA_CMD_RUN;
                        if self.cmd & regs::DMA_CMD_IRQ != 0 {
                            self.irq_status |= regs::IRQ_DMA_DONE;
                        }
                    } else {
                        self.polls_left -= 1;
                    }
                }
                self.cmd
            }
            regs::DMA_SRC => self.src,
            regs::DMA_DST => self.dst,
            regs::DMA_COUNT => self.count,
            _ => 0,
        }
    }

    fn write64(&mut self, offset: usize, value: u64) {
        self.check_width(offset, 8);
        self.writes += 1;
        // edu.c: every DMA register ignores writes while a transfer runs.
        if self.cmd & regs::DMA_CMD_RUN != 0 {
            return;
        }
        match offset {
            regs::DMA_SRC => self.src = value,
            regs::DMA_DST => self.dst = value,
            regs::DMA_COUNT => self.count = value,
            regs::DMA_CMD if value & regs::DMA_CMD_RUN != 0 => {
                self.cmd = value;
                self.polls_left = self.busy_polls;
                self.started.push((self.src, self.dst, self.count, value));
            }
            _ => {}
        }
    }
}

#[derive(Default)]
struct CountingSleep(u32);

impl Sleep for CountingSleep {
    fn sleep(&mut self) {
        self.0 += 1;
    }
}

#[test]
fn identify_reads_version_from_id_register() {
    let mut edu = Edu::new(FakeEdu::new());
    let id = edu.identify().unwrap();
    assert_eq!((id.major, id.minor), (1, 0));
}

#[test]
fn identify_rejects_register_without_edu_signature() {
    let mut fake = FakeEdu::new();
    fake.id = 0xffff_ffff;
    let mut edu = Edu::new(fake);
    assert_eq!(edu.identify(), Err(EduError::NotEdu { id: 0xffff_ffff }));
}

#[test]
fn liveness_accepts_complement_of_probe() {
    let mut edu = Edu::new(FakeEdu::new());
    assert_eq!(edu.check_liveness(0x1234_5678), Ok(()));
}

#[test]
fn liveness_reports_written_and_read_values_when_not_complemented() {
    struct Dead;
    impl EduBus for Dead {
        fn read32(&mut self, _: usize) -> u32 {
            0xffff_ffff
        }
        fn write32(&mut self, _: usize, _: u32) {}
        fn read64(&mut self, _: usize) -> u64 {
            u64::MAX
        }
        fn write64(&mut self, _: usize, _: u64) {}
    }
    let mut edu = Edu::new(Dead);
    let err = edu.check_liveness(0xa5a5_0000).unwrap_err();
    assert_eq!(
        err,
        EduError::NotAlive {
            wrote: 0xa5a5_0000,
            read: 0xffff_ffff
        }
    );
    assert!(err.to_string().contains("0xa5a50000"));
}

#[test]
fn dma_to_ram_reads_buffer_and_writes_iova() {
    let mut edu = Edu::new(FakeEdu::new());
    edu.start_dma(Direction::ToRam, 0x10_0000, 0x10, 64, false)
        .unwrap();
    let (src, dst, count, cmd) = edu.bus().started[0];
    assert_eq!(src, regs::BUFFER_ADDR + 0x10);
    assert_eq!(dst, 0x10_0000);
    assert_eq!(count, 64);
    assert_eq!(cmd, regs::DMA_CMD_RUN | regs::DMA_CMD_TO_RAM);
}

#[test]
fn dma_to_device_reads_iova_and_writes_buffer() {
    let mut edu = Edu::new(FakeEdu::new());
    edu.start_dma(Direction::ToDevice, 0x20_0000, 0, 4095, false)
        .unwrap();
    let (src, dst, count, cmd) = edu.bus().started[0];
    assert_eq!(
        (src, dst, count, cmd),
        (0x20_0000, regs::BUFFER_ADDR, 4095, regs::DMA_CMD_RUN)
    );
}

#[test]
fn dma_with_irq_raises_dma_done_at_completion() {
    let mut edu = Edu::new(FakeEdu::new());
    edu.start_dma(Direction::ToRam, 0x1000, 0, 8, true).unwrap();
    assert_eq!(edu.irq_status(), 0);
    edu.wait_dma(&mut CountingSleep::default(), 10).unwrap();
    assert_eq!(edu.irq_status(), regs::IRQ_DMA_DONE);
    edu.ack_irq(regs::IRQ_DMA_DONE);
    assert_eq!(edu.irq_status(), 0);
}

#[test]
fn transfer_reaching_the_buffers_last_byte_is_refused_as_qemu_aborts_on_it() {
    let mut edu = Edu::new(FakeEdu::new());
    let err = edu.start_dma(Direction::ToRam, 0x1000, 0, 4096, false);
    assert_eq!(
        err,
        Err(EduError::BufferRange {
            offset: 0,
            len: 4096
        })
    );
    assert!(edu
        .start_dma(Direction::ToRam, 0x1000, 0, 4095, false)
        .is_ok());
}

#[test]
fn buffer_range_beyond_4k_is_refused_before_any_write() {
    let mut edu = Edu::new(FakeEdu::new());
    let err = edu.start_dma(Direction::ToRam, 0x1000, 4000, 200, false);
    assert_eq!(
        err,
        Err(EduError::BufferRange {
            offset: 4000,
            len: 200
        })
    );
    let err = edu.start_dma(Direction::ToRam, 0x1000, u32::MAX, 2, false);
    assert!(matches!(err, Err(EduError::BufferRange { .. })));
    assert_eq!(edu.bus().writes, 0);
}

#[test]
fn iova_range_beyond_28_bits_is_refused() {
    let mut edu = Edu::new(FakeEdu::new());
    let iova = regs::DMA_ADDR_LIMIT - 8;
    assert_eq!(
        edu.start_dma(Direction::ToDevice, iova, 0, 16, false),
        Err(EduError::IovaBeyondMask { iova, len: 16 })
    );
    assert!(edu
        .start_dma(Direction::ToDevice, iova, 0, 8, false)
        .is_ok());
    let err = edu.start_dma(Direction::ToDevice, u64::MAX, 0, 8, false);
    assert!(matches!(err, Err(EduError::IovaBeyondMask { .. })));
}

#[test]
fn a_32_bit_edu_reaches_the_msi_window_and_no_further() {
    let mut edu = Edu::new(FakeEdu::new()).with_32_bit_dma();
    assert!(edu
        .start_dma(Direction::ToRam, 0xfee0_0000, 0, 4, false)
        .is_ok());
    let iova = regs::DMA_ADDR_LIMIT_32 - 2;
    assert_eq!(
        Edu::new(FakeEdu::new())
            .with_32_bit_dma()
            .start_dma(Direction::ToRam, iova, 0, 4, false),
        Err(EduError::IovaBeyondMask { iova, len: 4 })
    );
}

#[test]
fn zero_length_dma_is_refused() {
    let mut edu = Edu::new(FakeEdu::new());
    assert_eq!(
        edu.start_dma(Direction::ToRam, 0, 0, 0, false),
        Err(EduError::EmptyTransfer)
    );
}

#[test]
fn start_while_a_dma_runs_is_busy_and_changes_nothing() {
    let mut edu = Edu::new(FakeEdu::new());
    edu.start_dma(Direction::ToRam, 0x1000, 0, 8, false)
        .unwrap();
    assert_eq!(
        edu.start_dma(Direction::ToRam, 0x2000, 0, 8, false),
        Err(EduError::DmaBusy)
    );
    assert_eq!(edu.bus().started.len(), 1);
}

#[test]
fn wait_returns_once_run_bit_clears() {
    let mut edu = Edu::new(FakeEdu::new());
    let mut sleep = CountingSleep::default();
    let slept = edu
        .dma(Direction::ToRam, 0x1000, 0, 8, &mut sleep, 10)
        .unwrap();
    assert_eq!(slept, 3);
    assert_eq!(sleep.0, 3);
    assert!(!edu.dma_running());
}

#[test]
fn wait_gives_up_after_budget_when_dma_never_ends() {
    let mut fake = FakeEdu::new();
    fake.busy_polls = u32::MAX;
    let mut edu = Edu::new(fake);
    let mut sleep = CountingSleep::default();
    let err = edu.dma(Direction::ToRam, 0x1000, 0, 8, &mut sleep, 7);
    assert_eq!(err, Err(EduError::DmaTimeout { polls: 7 }));
    assert_eq!(sleep.0, 7);
}

#[test]
fn registers_below_0x80_are_only_accessed_32_bits_wide() {
    let mut edu = Edu::new(FakeEdu::new());
    edu.identify().unwrap();
    edu.check_liveness(1).unwrap();
    edu.raise_irq(1);
    edu.irq_status();
    edu.ack_irq(1);
    edu.dma(
        Direction::ToRam,
        0x1000,
        0,
        8,
        &mut CountingSleep::default(),
        10,
    )
    .unwrap();
    assert!(edu.bus().bad_width.is_empty(), "{:?}", edu.bus().bad_width);
}

#[test]
fn raised_irq_bits_stay_until_acknowledged() {
    let mut edu = Edu::new(FakeEdu::new());
    edu.raise_irq(0x5);
    assert_eq!(edu.irq_status(), 0x5);
    edu.ack_irq(0x1);
    assert_eq!(edu.irq_status(), 0x4);
}

#[test]
fn mmio_bus_accesses_bar_memory_and_ignores_out_of_range() {
    let mut bar = vec![0u64; regs::BAR0_SIZE as usize / 8];
    // SAFETY: `bar` is BAR0_SIZE bytes, 8-byte aligned, and outlives `bus`.
    let mut bus = unsafe { MmioBus::new(bar.as_mut_ptr() as *mut u8) };
    bus.write32(regs::LIVENESS, 0xdead_beef);
    bus.write64(regs::DMA_DST, 0x1122_3344_5566_7788);
    assert_eq!(bus.read32(regs::LIVENESS), 0xdead_beef);
    assert_eq!(bus.read64(regs::DMA_DST), 0x1122_3344_5566_7788);
    bus.write32(regs::BAR0_SIZE as usize, 1);
    assert_eq!(bus.read32(regs::BAR0_SIZE as usize), u32::MAX);
    assert_eq!(bus.read64(regs::DMA_DST + 4), u64::MAX, "misaligned 64-bit");
    assert_eq!(bar[regs::DMA_DST / 8], 0x1122_3344_5566_7788);
}
