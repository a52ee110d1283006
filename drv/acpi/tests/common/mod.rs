//! Shared test helpers: where the fixtures are, and a builder for synthetic
//! DMAR tables (the tests' own encoder, so each error and warning can be
//! produced from a table that is otherwise well formed).
#![allow(dead_code)]

use std::path::PathBuf;

/// `fixtures/dmar` at the repository's top.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/dmar")
}

pub fn qemu_table() -> Vec<u8> {
    let path = fixtures().join("qemu-7.2-q35-edu-bridge.bin");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every linuxhw fixture as (hwid, bin bytes, dsl text), sorted by name.
pub fn linuxhw_tables() -> Vec<(String, Vec<u8>, String)> {
    let dir = fixtures().join("linuxhw");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|bin| {
            let dsl = bin.with_extension("dsl");
            let hwid = bin.file_stem().unwrap().to_string_lossy().into_owned();
            (
                hwid,
                std::fs::read(&bin).unwrap(),
                std::fs::read_to_string(&dsl).unwrap_or_else(|e| panic!("{}: {e}", dsl.display())),
            )
        })
        .collect()
}

/// Makes the table's bytes sum to zero again (byte 9 is the checksum).
pub fn fix_checksum(table: &mut [u8]) {
    if table.len() > 9 {
        table[9] = 0;
        let sum = table.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        table[9] = 0u8.wrapping_sub(sum);
    }
}

/// A device scope: type, enumeration ID, start bus, path.
pub fn scope(kind: u8, enumeration_id: u8, bus: u8, path: &[(u8, u8)]) -> Vec<u8> {
    let mut s = vec![kind, (6 + 2 * path.len()) as u8, 0, 0, enumeration_id, bus];
    for &(d, f) in path {
        s.extend([d, f]);
    }
    s
}

pub fn endpoint(bus: u8, dev: u8, func: u8) -> Vec<u8> {
    scope(1, 0, bus, &[(dev, func)])
}

/// Builds a DMAR: header, then structures in call order; `build` fixes the
/// length and checksum.
pub struct DmarBuilder {
    bytes: Vec<u8>,
}

impl DmarBuilder {
    pub fn new(haw_field: u8, flags: u8) -> Self {
        let mut bytes = Vec::new();
        bytes.extend(b"DMAR");
        bytes.extend(0u32.to_le_bytes());
        bytes.extend([1, 0]);
        bytes.extend(b"CUSTDY");
        bytes.extend(b"TESTTBL ");
        bytes.extend(1u32.to_le_bytes());
        bytes.extend(b"TEST");
        bytes.extend(1u32.to_le_bytes());
        bytes.extend([haw_field, flags]);
        bytes.extend([0u8; 10]);
        DmarBuilder { bytes }
    }

    fn structure(mut self, kind: u16, fixed: &[u8], scopes: &[Vec<u8>]) -> Self {
        let len = 4 + fixed.len() + scopes.iter().map(Vec::len).sum::<usize>();
        self.bytes.extend(kind.to_le_bytes());
        self.bytes.extend((len as u16).to_le_bytes());
        self.bytes.extend(fixed);
        for s in scopes {
            self.bytes.extend(s);
        }
        self
    }

    pub fn drhd(self, flags: u8, segment: u16, base: u64, scopes: &[Vec<u8>]) -> Self {
        let mut f = vec![flags, 0];
        f.extend(segment.to_le_bytes());
        f.extend(base.to_le_bytes());
        self.structure(0, &f, scopes)
    }

    pub fn rmrr(self, segment: u16, base: u64, end: u64, scopes: &[Vec<u8>]) -> Self {
        let mut f = vec![0, 0];
        f.extend(segment.to_le_bytes());
        f.extend(base.to_le_bytes());
        f.extend(end.to_le_bytes());
        self.structure(1, &f, scopes)
    }

    pub fn atsr(self, flags: u8, segment: u16, scopes: &[Vec<u8>]) -> Self {
        let mut f = vec![flags, 0];
        f.extend(segment.to_le_bytes());
        self.structure(2, &f, scopes)
    }

    pub fn rhsa(self, base: u64, domain: u32) -> Self {
        let mut f = vec![0; 4];
        f.extend(base.to_le_bytes());
        f.extend(domain.to_le_bytes());
        self.structure(3, &f, &[])
    }

    pub fn andd(self, number: u8, name: &str) -> Self {
        let mut f = vec![0, 0, 0, number];
        f.extend(name.as_bytes());
        f.push(0);
        self.structure(4, &f, &[])
    }

    pub fn satc(self, flags: u8, segment: u16, scopes: &[Vec<u8>]) -> Self {
        let mut f = vec![flags, 0];
        f.extend(segment.to_le_bytes());
        self.structure(5, &f, scopes)
    }

    /// A structure of any type with a body given as is.
    pub fn other(self, kind: u16, body: &[u8]) -> Self {
        self.structure(kind, body, &[])
    }

    /// Raw bytes appended as they are (for malformed structures).
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.bytes.extend(bytes);
        self
    }

    pub fn build(mut self) -> Vec<u8> {
        let len = self.bytes.len() as u32;
        self.bytes[4..8].copy_from_slice(&len.to_le_bytes());
        fix_checksum(&mut self.bytes);
        self.bytes
    }
}

/// One PCI function of a [`Machine`].
#[derive(Clone, Copy)]
pub struct Function {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
    pub vendor: u16,
    pub device_id: u16,
    /// `Some((secondary, subordinate))` for a PCI-to-PCI bridge.
    pub bridge: Option<(u8, u8)>,
}

/// A table-backed config space: the functions listed exist on segment 0,
/// every other function of segment 0 reads as all ones, and other segments
/// cannot be read at all.
pub struct Machine {
    pub functions: Vec<Function>,
}

impl acpi::resolve::ConfigSpace for Machine {
    fn read32(&self, segment: u16, bus: u8, device: u8, function: u8, offset: u16) -> Option<u32> {
        if segment != 0 {
            return None;
        }
        let Some(f) = self
            .functions
            .iter()
            .find(|f| (f.bus, f.device, f.function) == (bus, device, function))
        else {
            return Some(u32::MAX);
        };
        Some(match offset {
            0x00 => u32::from(f.vendor) | (u32::from(f.device_id) << 16),
            0x0c => u32::from(u8::from(f.bridge.is_some())) << 16,
            0x18 => match f.bridge {
                Some((secondary, subordinate)) => {
                    u32::from(bus) | (u32::from(secondary) << 8) | (u32::from(subordinate) << 16)
                }
                None => 0,
            },
            _ => 0,
        })
    }
}

fn function(bus: u8, device: u8, func: u8, vendor: u16, device_id: u16) -> Function {
    Function {
        bus,
        device,
        function: func,
        vendor,
        device_id,
        bridge: None,
    }
}

/// The machine QEMU 7.2 builds for the fixture's command line: q35 host
/// bridge, VGA, edu at 00:02.0, pcie-pci-bridge at 00:03.0 (secondary bus
/// 1), the ICH9 LPC/SATA/SMBus functions, and a second edu at 01:01.0.
pub fn qemu_machine() -> Machine {
    const INTEL: u16 = 0x8086;
    const REDHAT: u16 = 0x1b36;
    const QEMU: u16 = 0x1234;
    let mut bridge = function(0, 3, 0, REDHAT, 0x000e);
    bridge.bridge = Some((1, 1));
    Machine {
        functions: vec![
            function(0, 0, 0, INTEL, 0x29c0),
            function(0, 1, 0, QEMU, 0x1111),
            function(0, 2, 0, QEMU, 0x11e8),
            bridge,
            function(0, 0x1f, 0, INTEL, 0x2918),
            function(0, 0x1f, 2, INTEL, 0x2922),
            function(0, 0x1f, 3, INTEL, 0x2930),
            function(1, 1, 0, QEMU, 0x11e8),
        ],
    }
}
