//! The domain-ID allocator
#![no_std]
