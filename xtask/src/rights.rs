//! The kernel's rights table, generated from app.toml: whom each task may
//! send to (its `task-slots`) and which notification bits it may post to
//! whom (its `notify`). The kernel checks every `send`, `post` and
//! `refresh_task_id` against it (`sys/kern/src/rights.rs`); a task's
//! interrupts and timers are posted by the kernel itself and need no right.

use proc_macro2::TokenStream;
use quote::quote;

use crate::app::App;

/// One task's rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRights {
    /// Bit `i`: may send to task `i`.
    pub send: u64,
    /// (task index, bits) it may post, one entry per task, by index.
    pub post: Vec<(usize, u32)>,
}

/// The rights of task `index` of `app`.
pub fn of(app: &App, index: usize) -> TaskRights {
    let t = &app.tasks[index];
    let send = t.slots.iter().fold(0u64, |set, (_, peer)| {
        set | 1u64.checked_shl(*peer as u32).unwrap_or(0)
    });
    let mut post: Vec<(usize, u32)> = Vec::new();
    for (_, peer, bits) in &t.notify {
        match post.iter_mut().find(|(p, _)| p == peer) {
            Some((_, b)) => *b |= bits,
            None => post.push((*peer, *bits)),
        }
    }
    post.sort_unstable();
    TaskRights { send, post }
}

/// The `kern::rights::Rights` value of task `index`, for the kernel's
/// generated task table.
pub fn literal(app: &App, index: usize) -> TokenStream {
    let r = of(app, index);
    let send = crate::generate::hex(r.send);
    let post = r.post.iter().map(|&(task, bits)| {
        let task = task as u16;
        let bits = crate::generate::hex(u64::from(bits));
        quote!(kern::rights::PostRight { task: #task, bits: #bits })
    });
    quote!(kern::rights::Rights { send: #send, post: &[#(#post),*] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::CrateInfo;

    const APP: &str = r#"
name = "rights"
[tasks.supervisor]
crate = "task-supervisor"
priority = 0
supervisor = true
notifications = ["fault", "timer"]
notify = { client = "death" }
[tasks.server]
crate = "task-ping"
priority = 2
notifications = ["go", "stop", "irq"]
interrupts = { irq = 48 }
[tasks.client]
crate = "task-ping"
priority = 3
notifications = ["death"]
task-slots = ["server", { boss = "supervisor" }]
notify = { server = ["go", "stop"] }
[tasks.idle]
crate = "task-idle"
priority = 9
"#;

    fn app() -> App {
        let dir = std::env::temp_dir().join(format!("custody-rights-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.join(format!("app{n}.toml"));
        std::fs::write(&path, APP).unwrap();
        let crates: Vec<CrateInfo> = ["task-supervisor", "task-ping", "task-idle"]
            .iter()
            .map(|c| CrateInfo::named(c))
            .collect();
        App::load(&path, &crates).unwrap()
    }

    #[test]
    fn send_rights_are_exactly_the_task_slots() {
        let app = app();
        assert_eq!(of(&app, 2).send, 0b011, "client: server and supervisor");
        assert_eq!(of(&app, 1).send, 0, "server: no slots");
        assert_eq!(of(&app, 0).send, 0, "supervisor: only kernel IPC");
        assert_eq!(of(&app, 3).send, 0);
    }

    #[test]
    fn post_rights_are_exactly_the_notify_bits() {
        let app = app();
        assert_eq!(of(&app, 2).post, vec![(1, 0b011)], "go and stop, not irq");
        assert_eq!(of(&app, 0).post, vec![(2, 0b1)]);
        assert!(of(&app, 1).post.is_empty(), "interrupts need no right");
    }

    #[test]
    fn the_kernel_gets_a_rights_literal_per_task() {
        let app = app();
        assert_eq!(
            literal(&app, 2).to_string(),
            quote!(kern::rights::Rights {
                send: 0x3,
                post: &[kern::rights::PostRight {
                    task: 1u16,
                    bits: 0x3
                }]
            })
            .to_string()
        );
        assert_eq!(
            literal(&app, 3).to_string(),
            quote!(kern::rights::Rights {
                send: 0x0,
                post: &[]
            })
            .to_string()
        );
    }
}
