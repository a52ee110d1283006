//! Each mistake app.toml can hold is reported naming its table and key.

use super::*;

const CRATES: &[&str] = &["task-supervisor", "task-idle", "task-ping"];

fn load(text: &str) -> Result<App, String> {
    let dir = std::env::temp_dir().join(format!("custody-app-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = dir.join(format!("app{n}.toml"));
    std::fs::write(&path, text).unwrap();
    let crates: Vec<String> = CRATES.iter().map(|s| s.to_string()).collect();
    App::load(&path, &crates).map_err(|e| e.to_string())
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

const GOOD: &str = r#"
name = "t"
[tasks.supervisor]
crate = "task-supervisor"
priority = 0
supervisor = true
notifications = ["fault", "timer"]
[tasks.pong]
crate = "task-ping"
priority = 2
[tasks.ping]
crate = "task-ping"
priority = 3
task-slots = ["pong", { boss = "supervisor" }]
regions = ["buf"]
[tasks.idle]
crate = "task-idle"
priority = 9
[regions.buf]
kind = "dma"
size = 0x1000
"#;

fn with(old: &str, new: &str) -> String {
    assert!(GOOD.contains(old), "test bug: {old:?} not in GOOD");
    GOOD.replacen(old, new, 1)
}

#[test]
fn a_correct_app_loads_with_tasks_in_file_order() {
    let app = load(GOOD).unwrap();
    let names: Vec<_> = app.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["supervisor", "pong", "ping", "idle"]);
    assert_eq!(
        app.tasks[2].slots,
        vec![("pong".into(), 1), ("boss".into(), 0)]
    );
    assert_eq!(app.fault_bit, 1);
}

#[test]
fn unknown_task_crate_is_named() {
    let e = load(&with(
        "crate = \"task-ping\"\npriority = 2",
        "crate = \"task-pingg\"\npriority = 2",
    ))
    .unwrap_err();
    assert!(
        e.contains("[tasks.pong]") && e.contains("crate") && e.contains("task-pingg"),
        "{e}"
    );
}

#[test]
fn task_slot_naming_no_task_is_named() {
    let e = load(&with("task-slots = [\"pong\"", "task-slots = [\"pongg\"")).unwrap_err();
    assert!(
        e.contains("[tasks.ping] task-slots") && e.contains("pongg"),
        "{e}"
    );
}

#[test]
fn ipc_edge_that_is_not_uphill_is_refused() {
    let e = load(&with("priority = 2", "priority = 4")).unwrap_err();
    assert!(
        e.contains("[tasks.ping] task-slots") && e.contains("uphill"),
        "{e}"
    );
}

#[test]
fn equal_priority_edge_is_not_uphill() {
    let e = load(&with("priority = 2", "priority = 3")).unwrap_err();
    assert!(e.contains("uphill"), "{e}");
}

#[test]
fn second_task_at_supervisor_priority_is_refused() {
    let e = load(&with("priority = 9", "priority = 0")).unwrap_err();
    assert!(
        e.contains("[tasks.idle] priority") && e.contains("supervisor"),
        "{e}"
    );
}

#[test]
fn overlapping_regions_are_refused() {
    let text = format!(
        "{GOOD}[regions.a]\nkind = \"mmio\"\nsize = 0x2000\nbase = 0xfea00000\n[regions.b]\nkind = \"mmio\"\nsize = 0x1000\nbase = 0xfea01000\n"
    );
    let e = load(&text).unwrap_err();
    assert!(
        e.contains("[regions.b] base") && e.contains("overlaps"),
        "{e}"
    );
}

#[test]
fn region_of_odd_size_is_refused() {
    let e = load(&with("size = 0x1000", "size = 0x1001")).unwrap_err();
    assert!(e.contains("[regions.buf] size"), "{e}");
}

#[test]
fn unknown_key_is_named_with_its_table() {
    let e = load(&with("priority = 9", "priority = 9\nprioritty = 3")).unwrap_err();
    assert!(e.contains("[tasks.idle]") && e.contains("prioritty"), "{e}");
}

#[test]
fn toml_syntax_error_is_named_with_its_line() {
    let e = load(&with("priority = 9", "priority = = 9")).unwrap_err();
    assert!(e.contains("line "), "{e}");
}

#[test]
fn supervisor_without_fault_notification_is_refused() {
    let e = load(&with(
        "notifications = [\"fault\", \"timer\"]",
        "notifications = [\"timer\"]",
    ))
    .unwrap_err();
    assert!(e.contains("[tasks.supervisor] notifications"), "{e}");
}

#[test]
fn interrupt_on_reserved_vector_is_refused() {
    let e = load(&with(
        "priority = 9",
        "priority = 9\nnotifications = [\"irq\"]\ninterrupts = { irq = 32 }",
    ))
    .unwrap_err();
    assert!(
        e.contains("[tasks.idle] interrupts") && e.contains("32"),
        "{e}"
    );
}

#[test]
fn granting_an_unknown_region_is_refused() {
    let e = load(&with("regions = [\"buf\"]", "regions = [\"buff\"]")).unwrap_err();
    assert!(
        e.contains("[tasks.ping] regions") && e.contains("buff"),
        "{e}"
    );
}

#[test]
fn error_is_one_line() {
    let e = load(&with("task-slots = [\"pong\"", "task-slots = [\"pongg\"")).unwrap_err();
    assert_eq!(e.lines().count(), 1, "{e}");
}
