//! Types shared by the IDL interfaces
#![no_std]
