//! Intel VT-d programming and a software model of the hardware
#![no_std]
