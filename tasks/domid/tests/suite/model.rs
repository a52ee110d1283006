//! A HashMap reference model of the allocator and a random-sequence check
//! of any `DidAllocator` against it.
//!
//! The model does not choose DID numbers (that is the implementation's
//! business); it records the ones handed out and checks what must hold of
//! them: the right half, unique on the unit, stable while held, freed exactly
//! when the last device leaves, and refusals exactly when a table or a half is
//! full.

use std::collections::{HashMap, HashSet};

use domid::{
    ContextRecord, Did, DidAllocator, DidClass, DidError, DidOwner, DidSpace, DomainId, Owner,
    Released, Rid, UnitId,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
pub enum Op {
    Acquire(u8, u16, u16),
    Release(u8, u16, u16),
    Quarantine(u8, u16),
    Unquarantine(u8, u16),
    /// The task restarts and is rebuilt from what the hardware holds.
    Restart,
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2u8, 0..20u16, 0..12u16).prop_map(|(u, d, r)| Op::Acquire(u, d, r)),
        3 => (0..2u8, 0..20u16, 0..12u16).prop_map(|(u, d, r)| Op::Release(u, d, r)),
        2 => (0..2u8, 0..12u16).prop_map(|(u, r)| Op::Quarantine(u, r)),
        1 => (0..2u8, 0..12u16).prop_map(|(u, r)| Op::Unquarantine(u, r)),
        1 => Just(Op::Restart),
    ]
}

/// Unit 0: ND=0 with CM (7 domain DIDs, 8 pseudo); unit 1: ND=1 (32 + 32).
pub const CAPS: [(u8, bool); 2] = [(0, true), (1, false)];

#[derive(Default)]
pub struct Model {
    domains: HashMap<(u8, u16), (Did, HashSet<u16>)>,
    pseudo: HashMap<(u8, u16), Did>,
}

impl Model {
    fn members(&self, unit: u8) -> usize {
        self.domains
            .iter()
            .filter(|((u, _), _)| *u == unit)
            .map(|(_, (_, set))| set.len())
            .sum()
    }

    fn slots(&self, unit: u8) -> usize {
        self.domains.keys().filter(|(u, _)| *u == unit).count()
    }

    fn quarantined(&self, unit: u8) -> usize {
        self.pseudo.keys().filter(|(u, _)| *u == unit).count()
    }

    fn dids(&self, unit: u8) -> HashSet<Did> {
        let d = self
            .domains
            .iter()
            .filter(|((u, _), _)| *u == unit)
            .map(|(_, (did, _))| *did);
        let p = self
            .pseudo
            .iter()
            .filter(|((u, _), _)| *u == unit)
            .map(|(_, did)| *did);
        d.chain(p).collect()
    }

    /// What the hardware would report: one record per counted device.
    fn records(&self) -> std::vec::Vec<ContextRecord> {
        let mut out = std::vec::Vec::new();
        for ((u, d), (did, set)) in &self.domains {
            for r in set {
                out.push((UnitId(*u), Rid(*r), *did, Owner::Domain(DomainId(*d))).into());
            }
        }
        for ((u, r), did) in &self.pseudo {
            out.push((UnitId(*u), Rid(*r), *did, Owner::Quarantine).into());
        }
        out
    }
}

fn space(unit: u8) -> DidSpace {
    let (nd, cm) = CAPS[unit as usize];
    DidSpace::new(nd, cm).unwrap()
}

fn expect_new_did<T: DidAllocator>(
    model: &Model,
    unit: u8,
    class: DidClass,
    got: Result<Did, DidError>,
) -> Result<Did, TestCaseError> {
    let s = space(unit);
    let (table_full, capacity) = match class {
        DidClass::Domain => (model.slots(unit) >= T::DOMAINS, T::DOMAINS),
        DidClass::Pseudo => (model.quarantined(unit) >= T::DEVICES, T::DEVICES),
    };
    let in_class = model
        .dids(unit)
        .iter()
        .filter(|d| s.class_of(**d) == Some(class))
        .count() as u32;
    if table_full {
        let full = match class {
            DidClass::Domain => DidError::DomainTableFull {
                unit: UnitId(unit),
                capacity,
            },
            DidClass::Pseudo => DidError::QuarantineTableFull {
                unit: UnitId(unit),
                capacity,
            },
        };
        prop_assert_eq!(got, Err(full));
        return Err(TestCaseError::reject("full"));
    }
    if in_class >= s.usable(class) {
        prop_assert_eq!(
            got,
            Err(DidError::Exhausted {
                unit: UnitId(unit),
                class,
                space: s,
                usable: s.usable(class)
            })
        );
        return Err(TestCaseError::reject("exhausted"));
    }
    let did = got.map_err(|e| TestCaseError::fail(format!("unexpected {e}")))?;
    prop_assert_eq!(s.class_of(did), Some(class), "{:?} in the wrong half", did);
    prop_assert!(
        !model.dids(unit).contains(&did),
        "{:?} handed out twice",
        did
    );
    Ok(did)
}

fn step<T: DidAllocator + Default>(a: &mut T, m: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match *op {
        Op::Acquire(u, d, r) => {
            let got = a.acquire(UnitId(u), DomainId(d), Rid(r));
            match m.domains.get(&(u, d)) {
                Some((did, set)) if set.contains(&r) => {
                    let acq = got.map_err(|e| TestCaseError::fail(format!("{e}")))?;
                    prop_assert_eq!(acq.did, *did);
                    prop_assert!(!acq.counted && !acq.fresh);
                }
                _ if m.members(u) >= T::DEVICES => {
                    prop_assert_eq!(
                        got,
                        Err(DidError::DeviceTableFull {
                            unit: UnitId(u),
                            capacity: T::DEVICES
                        })
                    );
                }
                Some((did, _)) => {
                    let acq = got.map_err(|e| TestCaseError::fail(format!("{e}")))?;
                    prop_assert_eq!(acq.did, *did);
                    prop_assert!(acq.counted && !acq.fresh);
                    if let Some((_, set)) = m.domains.get_mut(&(u, d)) {
                        set.insert(r);
                    }
                }
                None => {
                    let fresh = got.map(|a| {
                        assert!(a.fresh && a.counted);
                        a.did
                    });
                    if let Ok(did) = expect_new_did::<T>(m, u, DidClass::Domain, fresh) {
                        m.domains.insert((u, d), (did, HashSet::from([r])));
                    }
                }
            }
        }
        Op::Release(u, d, r) => {
            let got = a.release(UnitId(u), DomainId(d), Rid(r));
            let expected = match m.domains.get_mut(&(u, d)) {
                Some((did, set)) if set.contains(&r) => {
                    set.remove(&r);
                    if set.is_empty() {
                        let did = *did;
                        m.domains.remove(&(u, d));
                        Released::Freed(did)
                    } else {
                        Released::Kept {
                            did: *did,
                            remaining: set.len(),
                        }
                    }
                }
                _ => Released::NotCounted,
            };
            prop_assert_eq!(got, Ok(expected));
        }
        Op::Quarantine(u, r) => {
            let got = a.quarantine(UnitId(u), Rid(r));
            if let Some(did) = m.pseudo.get(&(u, r)) {
                let acq = got.map_err(|e| TestCaseError::fail(format!("{e}")))?;
                prop_assert_eq!(acq.did, *did);
                prop_assert!(!acq.counted);
            } else if let Ok(did) = expect_new_did::<T>(m, u, DidClass::Pseudo, got.map(|a| a.did))
            {
                m.pseudo.insert((u, r), did);
            }
        }
        Op::Unquarantine(u, r) => {
            let got = a.unquarantine(UnitId(u), Rid(r));
            let expected = match m.pseudo.remove(&(u, r)) {
                Some(did) => Released::Freed(did),
                None => Released::NotCounted,
            };
            prop_assert_eq!(got, Ok(expected));
        }
        Op::Restart => {
            let mut fresh = T::default();
            for (i, (nd, cm)) in CAPS.iter().enumerate() {
                fresh.configure_unit(UnitId(i as u8), *nd, *cm).unwrap();
            }
            prop_assert_eq!(
                fresh.acquire(UnitId(0), DomainId(0), Rid(0)),
                Err(DidError::NotRebuilt)
            );
            fresh
                .rebuild_from(m.records())
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
            *a = fresh;
        }
    }
    Ok(())
}

fn agrees<T: DidAllocator>(a: &T, m: &Model) -> Result<(), TestCaseError> {
    prop_assert!(a.is_consistent());
    for u in 0..2u8 {
        let unit = UnitId(u);
        prop_assert_eq!(a.dids_in_use(unit), Ok(m.dids(u).len()));
        for d in 0..20u16 {
            let expected = m.domains.get(&(u, d));
            prop_assert_eq!(
                a.did_of(unit, DomainId(d)),
                Ok(expected.map(|(did, _)| *did))
            );
            prop_assert_eq!(
                a.devices_of(unit, DomainId(d)),
                Ok(expected.map_or(0, |(_, s)| s.len()))
            );
            if let Some((did, _)) = expected {
                prop_assert_eq!(
                    a.owner_of(unit, *did),
                    Ok(Some(DidOwner::Domain(DomainId(d))))
                );
            }
        }
        for r in 0..12u16 {
            let expected = m.pseudo.get(&(u, r)).copied();
            prop_assert_eq!(a.pseudo_did_of(unit, Rid(r)), Ok(expected));
            if let Some(did) = expected {
                prop_assert_eq!(
                    a.owner_of(unit, did),
                    Ok(Some(DidOwner::Quarantine(Rid(r))))
                );
            }
        }
    }
    Ok(())
}

/// Run `ops` on a fresh allocator and the model side by side.
pub fn run<T: DidAllocator + Default>(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut a = T::default();
    for (i, (nd, cm)) in CAPS.iter().enumerate() {
        a.configure_unit(UnitId(i as u8), *nd, *cm).unwrap();
    }
    a.rebuild_from(std::iter::empty()).unwrap();
    let mut m = Model::default();
    for op in ops {
        step(&mut a, &mut m, op)?;
        agrees(&a, &m)?;
    }
    Ok(())
}
