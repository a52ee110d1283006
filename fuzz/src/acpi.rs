//! Firmware tables: the DMAR parser alone, and the whole boot path over
//! arbitrary memory (RSDP search → the kernel's window over the boot
//! memory map → the acpi task's walk RSDP → XSDT/RSDT → DMAR and MCFG →
//! the acpi server built over what it found).

use abi::acpi_window::{MemEntry, WindowHeader, E820_RAM, E820_RESERVED, MEMORY_MAP_MAX};
use acpi::mcfg::{Mcfg, MCFG_SIGNATURE};
use acpi::quirks::{check, MemRange};
use acpi::walk::{find_rsdp, find_table, read_table, PhysMem, BIOS_RSDP_AREA};
use acpi::Dmar;
use pci::q35;
use task_acpi::{AcpiServer, AcpiWindow, PciConfigSpace};

use crate::servers::QEMU_DMAR;

/// Fuzz target `dmar`: any bytes as a DMAR. Parsing, every structure and
/// scope, the warnings and both reports must not panic; a table that
/// parses must render.
pub fn dmar(data: &[u8]) {
    let Ok(dmar) = Dmar::parse_header_only(data) else {
        return;
    };
    for structure in dmar.structures() {
        let Ok(structure) = structure else { break };
        for scope in structure.scopes() {
            let Ok(scope) = scope else { break };
            let _ = scope.to_string();
        }
    }
    if Dmar::parse(data).is_ok() {
        let ram = [MemRange {
            base: 0,
            end: 0xffff_ffff,
        }];
        check(&dmar, &ram, &mut |w| {
            let _ = w.to_string();
        });
        acpi::report::render_text("fuzz", data).expect("a parsed table renders as text");
        acpi::report::render_json("fuzz", data).expect("a parsed table renders as JSON");
    }
}

/// Where the fuzzed memory lies: the legacy BIOS area, where the RSDP is
/// searched for.
pub const MEMORY_BASE: u64 = BIOS_RSDP_AREA.start;
/// The most fuzzed memory (the BIOS area's size).
pub const MEMORY_MAX: usize = (BIOS_RSDP_AREA.end - BIOS_RSDP_AREA.start) as usize;

/// Physical memory: the input at [`MEMORY_BASE`], nothing else readable.
struct Memory<'a>(&'a [u8]);

impl PhysMem for Memory<'_> {
    type Error = ();
    fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), ()> {
        let start = usize::try_from(address.checked_sub(MEMORY_BASE).ok_or(())?).map_err(|_| ())?;
        let src = self
            .0
            .get(start..start.checked_add(buf.len()).ok_or(())?)
            .ok_or(())?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// The boot memory map: RAM below, the input's window reserved by the
/// firmware, RAM above (so the kernel's check is what decides).
fn memory_map(len: usize) -> [MemEntry; 3] {
    [
        MemEntry {
            base: 0,
            size: MEMORY_BASE,
            kind: E820_RAM,
        },
        MemEntry {
            base: MEMORY_BASE,
            size: len as u64,
            kind: E820_RESERVED,
        },
        MemEntry {
            base: MEMORY_BASE + len as u64,
            size: 0x1000_0000,
            kind: E820_RAM,
        },
    ]
}

/// Fuzz target `acpi_walk`: the input is physical memory at
/// [`MEMORY_BASE`], reserved by the firmware in the boot memory map. An
/// input of odd length has its last byte dropped and every checksum in it
/// repaired first, so mutations reach past the checksums into the tables'
/// contents (firmware that checksums its lies).
pub fn walk(data: &[u8]) {
    if data.len() % 2 == 1 {
        let mut mem = data[..data.len() - 1].to_vec();
        repair_checksums(&mut mem);
        let _ = walk_reaches(&mem);
    } else {
        let _ = walk_reaches(data);
    }
}

/// Tables whose checksums [`repair_checksums`] fixes.
const SIGNATURES: [&[u8; 4]; 5] = [b"XSDT", b"RSDT", b"DMAR", b"MCFG", b"FACP"];

fn fix(bytes: &mut [u8], at: usize) {
    let sum = bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    if let Some(b) = bytes.get_mut(at) {
        *b = b.wrapping_sub(sum);
    }
}

/// Makes every RSDP (at 16-byte boundaries) and every table with a known
/// signature (at 4-byte boundaries) checksum, as far as it lies in `mem`.
pub fn repair_checksums(mem: &mut [u8]) {
    for at in (0..mem.len()).step_by(4) {
        let rest = &mut mem[at..];
        if at % 16 == 0 && rest.starts_with(b"RSD PTR ") && rest.len() >= 20 {
            fix(&mut rest[..20], 8);
            if rest.len() >= 36 && rest[15] >= 2 {
                fix(&mut rest[..36], 32);
            }
        } else if rest.len() >= 36 && SIGNATURES.iter().any(|s| rest.starts_with(*s)) {
            let len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            let len = len.clamp(36, rest.len());
            fix(&mut rest[..len], 9);
        }
    }
}

/// [`walk`], saying where the boot path stopped (`Ok` when the acpi server
/// was built over the DMAR found).
pub fn walk_reaches(data: &[u8]) -> Result<(), String> {
    let data = &data[..data.len().min(MEMORY_MAX)];
    let mem = Memory(data);
    let rsdp = find_rsdp(&mem, BIOS_RSDP_AREA).map_err(|e| format!("RSDP: {e:?}"))?;
    // The acpi crate's walk straight over memory.
    let direct = find_table(&mem, rsdp, &acpi::dmar::DMAR_SIGNATURE).ok();
    let mut buf = vec![0u8; 64 * 1024];
    let direct_table = direct
        .and_then(|loc| read_table(&mem, &loc, &mut buf).ok())
        .map(<[u8]>::to_vec);
    if let Some(t) = &direct_table {
        let _ = Dmar::parse(t);
    }

    // The kernel's window, then the acpi task's walk over it.
    let map = memory_map(data.len());
    let mut read = |pa: u64, buf: &mut [u8]| mem.read(pa, buf).is_ok();
    let (lo, hi) = kern::acpi_window::table_range(&map, rsdp, 1 << 20, None, &mut read)
        .map_err(|e| format!("kernel: {e}"))?;
    assert!(lo <= hi, "the window is a range");
    let mut rsdp_copy = [0u8; abi::acpi_window::RSDP_COPY_LEN];
    for (i, b) in rsdp_copy.iter_mut().enumerate() {
        let mut one = [0u8];
        if mem.read(rsdp + i as u64, &mut one).is_ok() {
            *b = one[0];
        }
    }
    let mut memory_map = [MemEntry::default(); MEMORY_MAP_MAX];
    memory_map[..map.len()].copy_from_slice(&map);
    let header = WindowHeader {
        rsdp,
        base: lo,
        len: hi - lo,
        rsdp_copy,
        memory_map,
        map_len: map.len(),
    };
    let mut region = header.encode().to_vec();
    let mut tables = vec![0u8; (hi - lo) as usize];
    mem.read(lo, &mut tables)
        .expect("the kernel copies only memory it could read");
    region.extend_from_slice(&tables);
    let window = AcpiWindow::new(&region).map_err(|e| format!("window: {e}"))?;
    if let Ok(loc) = find_table(&window, window.rsdp(), &MCFG_SIGNATURE) {
        if let Some(t) = window.table(&loc) {
            if let Ok(mcfg) = Mcfg::parse(t) {
                for a in mcfg.allocations() {
                    let _ = a.config_address(0, 0, 0);
                }
            }
        }
    }
    let loc = find_table(&window, window.rsdp(), &acpi::dmar::DMAR_SIGNATURE)
        .map_err(|e| format!("walk: {e}"))?;
    let table = window.table(&loc).ok_or("the DMAR outside the window")?;
    if let Some(direct) = &direct_table {
        assert_eq!(direct, table, "the window shows the table memory holds");
    }
    AcpiServer::new(table, &[], &[], PciConfigSpace(q35::machine()))
        .map(drop)
        .map_err(|e| format!("server: {e}"))
}

/// An ACPI table with `signature` and `body` after a standard header,
/// checksummed.
pub fn table(signature: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(signature);
    t.extend_from_slice(&((36 + body.len()) as u32).to_le_bytes());
    t.push(1);
    t.push(0);
    t.extend_from_slice(b"CUSTDY");
    t.extend_from_slice(b"FUZZSEED");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(b"CSTD");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(body);
    let sum = t.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    t[9] = 0u8.wrapping_sub(sum);
    t
}

/// An RSDP of `revision` naming `rsdt` and (v2) `xsdt`.
pub fn rsdp(revision: u8, rsdt: u32, xsdt: u64) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(b"RSD PTR ");
    r.push(0);
    r.extend_from_slice(b"CUSTDY");
    r.push(revision);
    r.extend_from_slice(&rsdt.to_le_bytes());
    let v1 = r.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    r[8] = 0u8.wrapping_sub(v1);
    if revision >= 2 {
        r.extend_from_slice(&36u32.to_le_bytes());
        r.extend_from_slice(&xsdt.to_le_bytes());
        r.extend_from_slice(&[0, 0, 0, 0]);
        let all = r.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        r[32] = 0u8.wrapping_sub(all);
    }
    r
}

/// A seed for `acpi_walk`: QEMU's DMAR and an MCFG behind an XSDT (v2
/// RSDP) or RSDT (v1), laid out as firmware lays them out.
pub fn walk_seed(xsdt: bool) -> Vec<u8> {
    const ROOT: usize = 0x40;
    const MCFG: usize = 0x100;
    const DMAR: usize = 0x200;
    let mut mem = vec![0u8; DMAR + QEMU_DMAR.len()];
    let at = |o: usize| MEMORY_BASE + o as u64;
    let entries = [at(MCFG), at(DMAR)];
    let root = if xsdt {
        let body: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
        table(b"XSDT", &body)
    } else {
        let body: Vec<u8> = entries
            .iter()
            .flat_map(|e| (*e as u32).to_le_bytes())
            .collect();
        table(b"RSDT", &body)
    };
    let mut mcfg_body = vec![0u8; 8];
    mcfg_body.extend_from_slice(&0xb000_0000u64.to_le_bytes());
    mcfg_body.extend_from_slice(&[0, 0, 0, 0xff, 0, 0, 0, 0]);
    let r = if xsdt {
        rsdp(2, 0, at(ROOT))
    } else {
        rsdp(0, at(ROOT) as u32, 0)
    };
    for (offset, bytes) in [
        (0, r),
        (ROOT, root),
        (MCFG, table(&MCFG_SIGNATURE, &mcfg_body)),
        (DMAR, QEMU_DMAR.to_vec()),
    ] {
        mem[offset..offset + bytes.len()].copy_from_slice(&bytes);
    }
    mem
}
