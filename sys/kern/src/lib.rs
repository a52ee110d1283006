//! The custody kernel
#![no_std]
