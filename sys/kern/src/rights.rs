//! Who may send to and post to whom, checked on every `send`, `post` and
//! `refresh_task_id`. The rights are data xtask generates into each task's
//! descriptor, so they and their reading live in the `config-schema` crate
//! (see its `rights` module for the rules and their tests).
pub use config_schema::rights::*;
