//! The `tasks` table: what each task is doing, as `humility tasks` shows
//! it for Hubris. One row per task from the supervisor's report: its
//! generation, faults, refused calls, how much of its stack it has ever
//! used, and its state in words (runnable; blocked sending to whom; waiting
//! for whose reply; receiving from anyone or one task, with the
//! notification bits that wake it; faulted with the reason; stopped).
//! Rendering lives here, not in `main.rs`, so the host tests pin it.

use core::fmt::{self, Write};

use idl_types::{TaskActivity, TaskIndex, TaskReport};

/// Bytes in a KiB, for stack sizes.
const KIB: u32 = 1024;

/// One task's row; `name` gives a task index's name.
pub fn write_row<'a>(
    o: &mut impl Write,
    task: &str,
    r: &TaskReport,
    name: impl Fn(TaskIndex) -> &'a str,
) -> fmt::Result {
    write!(
        o,
        "{task:<12} gen {:<3} faults {:<3} refused {:<4} stack {:<16} ",
        r.generation,
        r.faults,
        r.refusals,
        StackUse(r.stack_used, r.stack_size),
    )?;
    if r.faulted {
        let why = abi::FaultInfo::decode(r.last_fault_kind, r.last_fault_a, r.last_fault_b)
            .map_or("unknown cause", |f| f.describe());
        return writeln!(
            o,
            "faulted: {why} ({:#x}); restart in {} ms",
            r.last_fault_a, r.backoff_ms
        );
    }
    match r.activity {
        TaskActivity::Runnable => write!(o, "runnable")?,
        TaskActivity::Sending(t) => write!(o, "blocked sending to {}", name(t))?,
        TaskActivity::AwaitingReply(t) => write!(o, "awaiting a reply from {}", name(t))?,
        TaskActivity::Receiving { notifications } => {
            write!(o, "receiving")?;
            Notifications(notifications).fmt(o)?;
        }
        TaskActivity::ReceivingFrom {
            from,
            notifications,
        } => {
            write!(o, "receiving from {} only", name(from))?;
            Notifications(notifications).fmt(o)?;
        }
        TaskActivity::Stopped => write!(o, "stopped")?,
    }
    writeln!(o)
}

/// "`used` of `size`" with a percentage, sizes in KiB when large.
struct StackUse(u32, u32);

impl fmt::Display for StackUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let StackUse(used, size) = *self;
        if size == 0 {
            return f.pad("-");
        }
        let percent = u64::from(used) * 100 / u64::from(size);
        let mut text = heapless::String::<32>::new();
        if size >= KIB {
            write!(text, "{}/{} KiB {percent}%", used.div_ceil(KIB), size / KIB)?;
        } else {
            write!(text, "{used}/{size} B {percent}%")?;
        }
        f.pad(&text)
    }
}

/// " or notifications 0x.." when any bit wakes the task.
struct Notifications(u32);

impl Notifications {
    fn fmt(&self, o: &mut impl Write) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            bits => write!(o, " or notifications {bits:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn report(activity: TaskActivity) -> TaskReport {
        TaskReport {
            generation: 2,
            faulted: false,
            faults: 1,
            restarts: 1,
            last_fault_kind: 0,
            last_fault_a: 0,
            last_fault_b: 0,
            refusals: 0,
            backoff_ms: 0,
            activity,
            stack_used: 9 * 1024 + 1,
            stack_size: 64 * 1024,
        }
    }

    fn row(r: &TaskReport) -> String {
        let names = ["supervisor", "pci", "iommu"];
        let mut out = String::new();
        write_row(&mut out, "broker", r, |t| {
            names.get(usize::from(t.0)).copied().unwrap_or("?")
        })
        .unwrap();
        out
    }

    #[test]
    fn the_task_list_names_whom_a_blocked_task_waits_for() {
        let sending = row(&report(TaskActivity::Sending(TaskIndex(2))));
        assert!(sending.ends_with("blocked sending to iommu\n"), "{sending}");
        let awaiting = row(&report(TaskActivity::AwaitingReply(TaskIndex(1))));
        assert!(
            awaiting.ends_with("awaiting a reply from pci\n"),
            "{awaiting}"
        );
        let closed = row(&report(TaskActivity::ReceivingFrom {
            from: TaskIndex(0),
            notifications: 0,
        }));
        assert!(
            closed.ends_with("receiving from supervisor only\n"),
            "{closed}"
        );
    }

    #[test]
    fn the_task_list_shows_the_notifications_a_receiver_waits_for() {
        let open = row(&report(TaskActivity::Receiving { notifications: 0x3 }));
        assert!(open.ends_with("receiving or notifications 0x3\n"), "{open}");
        let quiet = row(&report(TaskActivity::Receiving { notifications: 0 }));
        assert!(quiet.ends_with(" receiving\n"), "{quiet}");
    }

    #[test]
    fn a_row_names_each_figure() {
        let r = row(&report(TaskActivity::Runnable));
        assert!(
            r.starts_with("broker       gen 2   faults 1   refused 0    stack 10/64 KiB 14% "),
            "{r}"
        );
    }

    #[test]
    fn the_task_list_shows_the_stack_margin() {
        let r = row(&report(TaskActivity::Runnable));
        assert!(r.contains("10/64 KiB 14%"), "{r}");
        let small = TaskReport {
            stack_used: 100,
            stack_size: 512,
            ..report(TaskActivity::Runnable)
        };
        assert!(row(&small).contains("100/512 B 19%"), "{}", row(&small));
    }

    #[test]
    fn a_faulted_task_shows_its_reason_in_words() {
        let r = TaskReport {
            faulted: true,
            last_fault_kind: 1,
            last_fault_a: 0xdead_0000,
            last_fault_b: 1,
            backoff_ms: 40,
            ..report(TaskActivity::Stopped)
        };
        let text = row(&r);
        assert!(
            text.ends_with("faulted: page fault on write (0xdead0000); restart in 40 ms\n"),
            "{text}"
        );
    }
}
