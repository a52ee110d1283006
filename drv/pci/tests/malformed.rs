//! Config space is input: random bytes must give answers or errors, never
//! panics or hangs.

use pci::fake::{FakeConfig, FakeFunction};
use pci::{probe_bar_size, read_bar, Bdf, Direction, MsiCapability, Topology};
use proptest::prelude::*;

fn function(bus: u8, dev: u8, bytes: &[u8]) -> FakeFunction {
    let at = Bdf::new(0, bus, dev % 32, 0).unwrap();
    // Keep a vendor ID so the function is seen, the rest is random.
    FakeFunction::new(at, 0x8086, 1, 0, 0).raw(4, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn random_config_space_never_panics(
        funcs in proptest::collection::vec((0..4u8, 0..32u8, proptest::collection::vec(any::<u8>(), 0..252)), 1..6)
    ) {
        let mut m = FakeConfig::<6>::new();
        for (bus, dev, bytes) in &funcs {
            let _ = m.add(function(*bus, *dev, bytes));
        }
        {
            let t = Topology::<64>::enumerate(&m, 0);
            for f in t.functions() {
                let _ = t.requester_ids(f.bdf, Direction::Assign);
                let _ = t.requester_ids(f.bdf, Direction::Deassign);
                let _ = t.upstream_bridge(f.bdf);
                for i in 0..7 {
                    let _ = read_bar(&m, f.bdf, i);
                }
            }
        }
        for (bus, dev, _) in &funcs {
            let at = Bdf::new(0, *bus, dev % 32, 0).unwrap();
            let _ = MsiCapability::find(&m, at);
            for i in 0..6 {
                let _ = probe_bar_size(&mut m, at, i);
            }
        }
    }
}
