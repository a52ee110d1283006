//! The host-testable part of the VT-d QEMU test task: what the scenarios
//! expect (store paths, fault records), how they talk to PCI config space
//! through ports 0xCF8/0xCFC, and the byte patterns DMA carries.
//!
//! The firmware binary (`main.rs`, feature `firmware`) binds these to the
//! kernel, the VT-d register page, the DMA pool and two edu devices.
#![no_std]

pub mod bridge;
pub mod expect;
pub mod pattern;
pub mod portcfg;
