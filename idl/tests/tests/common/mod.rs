//! Servers for every interface, small but real enough that a test can tell
//! whether an operation happened (and whether its undo did), plus the names
//! of the test system's tasks.
#![allow(dead_code)]

pub mod fakes;
pub mod kitchen;

/// The tasks of the in-process test system; indices are positions.
pub const TASKS: [&str; 10] = [
    "supervisor",
    "acpi",
    "iommu",
    "domid",
    "pci",
    "broker",
    "console",
    "kitchen",
    "alice",
    "bob-2",
];
