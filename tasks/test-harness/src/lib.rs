//! What every QEMU test image's runner does: run named scenarios in order,
//! report each as xtask reads it (`TEST <name> start`, then `TEST <name>
//! ok` or `TEST <name> FAIL <why>`), and end the machine with the verdict.
//!
//! A scenario is a function over the runner's own context returning
//! [`Outcome`]; [`ensure`] turns a condition into one.
#![no_std]

/// What a scenario returns: `Err(why)` fails it, naming the reason.
pub type Outcome = Result<(), &'static str>;

/// A named scenario over the runner's context `C`.
pub type Scenario<C> = (&'static str, fn(&mut C) -> Outcome);

/// `Ok` when `cond` holds, else the failure `why`.
pub fn ensure(cond: bool, why: &'static str) -> Outcome {
    if cond {
        Ok(())
    } else {
        Err(why)
    }
}

/// The exit value a run ends the machine with.
pub fn verdict(failures: u32) -> u8 {
    if failures == 0 {
        abi::DEBUG_EXIT_SUCCESS
    } else {
        abi::DEBUG_EXIT_FAILURE
    }
}

#[cfg(feature = "firmware")]
mod run;
#[cfg(feature = "firmware")]
pub use run::{fail_all, finish, run};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_names_the_failure() {
        assert_eq!(ensure(true, "x"), Ok(()));
        assert_eq!(ensure(false, "why"), Err("why"));
    }

    #[test]
    fn any_failure_fails_the_machine() {
        assert_eq!(verdict(0), abi::DEBUG_EXIT_SUCCESS);
        assert_eq!(verdict(3), abi::DEBUG_EXIT_FAILURE);
    }
}
