//! Descriptors of the image, written by xtask into the kernel's config file.
//!
//! Their shapes live in the `config-schema` crate, which xtask compiles
//! against too, so the generator and the kernel cannot disagree on a field.
pub use config_schema::kernel::*;
