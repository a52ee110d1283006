//! ACPI table walk and DMAR parser
#![no_std]
