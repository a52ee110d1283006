//! What every task links: entry, syscalls, logging
#![no_std]
