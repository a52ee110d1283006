//! The IDL compiler: parses idl/*.idl and generates Rust

