//! Each mistake app.toml can hold is reported naming its table and key.

use super::*;

const CRATES: &[&str] = &["task-supervisor", "task-idle", "task-ping"];

fn load(text: &str) -> Result<App, String> {
    let crates: Vec<CrateInfo> = CRATES.iter().map(|s| CrateInfo::named(s)).collect();
    load_with(text, &crates)
}

fn load_with(text: &str, crates: &[CrateInfo]) -> Result<App, String> {
    let dir = std::env::temp_dir().join(format!("custody-app-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = dir.join(format!("app{n}.toml"));
    std::fs::write(&path, text).unwrap();
    App::load(&path, crates).map_err(|e| e.to_string())
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

const SYSTEM: &str = r#"
[devices.edu0]
address = "00:02.0"
domain = "a"
[devices.edu1]
address = "0000:01:01.0"
[domains.a]
owner = "ping"
maps = [{ iova = 0x100000, region = "buf" }]
[[platform.rmrr]]
base = 0x3000000
end = 0x3000fff
devices = ["00:02.0"]
[broker]
operators = ["pong"]
"#;

fn system(old: &str, new: &str) -> Result<App, String> {
    assert!(SYSTEM.contains(old), "test bug: {old:?}");
    load(&format!("{GOOD}{}", SYSTEM.replacen(old, new, 1)))
}

#[test]
fn system_tables_load_with_devices_domains_rmrrs_and_operators() {
    let app = system("", "").unwrap();
    let s = &app.system;
    assert_eq!(s.devices.len(), 2);
    assert_eq!(s.devices[0].address.rid(), 0x0010);
    assert_eq!(s.devices[1].address.rid(), 0x0108);
    assert_eq!(s.devices[0].domain, Some(0));
    assert_eq!(s.domains[0].owner, 2);
    assert_eq!(s.rmrrs[0].devices[0].rid(), 0x0010);
    assert_eq!(s.operators, vec![1]);
}

#[test]
fn the_brokers_fault_budget_is_read_and_defaults_when_left_out() {
    assert_eq!(
        system("", "").unwrap().system.fault_budget,
        crate::system::DEFAULT_FAULT_BUDGET
    );
    let app = system(
        "operators = [\"pong\"]",
        "operators = [\"pong\"]\nfault-budget = 5",
    )
    .unwrap();
    assert_eq!(app.system.fault_budget, 5);
}

#[test]
fn a_fault_budget_out_of_range_is_refused_naming_the_key() {
    for bad in ["0", "-3", "1000001", "\"many\""] {
        let e = system(
            "operators = [\"pong\"]",
            &format!("operators = [\"pong\"]\nfault-budget = {bad}"),
        )
        .unwrap_err();
        assert!(e.contains("[broker]"), "{bad}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    let e = system(
        "operators = [\"pong\"]",
        "operators = [\"pong\"]\nfault-budget = 0",
    )
    .unwrap_err();
    assert!(
        e.contains("fault-budget") && e.contains("1..=1000000"),
        "{e}"
    );
}

#[test]
fn device_naming_an_unknown_domain_is_refused() {
    let e = system("domain = \"a\"", "domain = \"b\"").unwrap_err();
    assert!(
        e.contains("[devices.edu0] domain") && e.contains("\"b\""),
        "{e}"
    );
}

#[test]
fn malformed_device_address_is_refused() {
    let e = system("address = \"00:02.0\"", "address = \"00:20.0\"").unwrap_err();
    assert!(
        e.contains("[devices.edu0] address") && e.contains("00:20.0"),
        "{e}"
    );
}

#[test]
fn two_devices_at_one_address_are_refused() {
    let e = system("address = \"0000:01:01.0\"", "address = \"00:02.0\"").unwrap_err();
    assert!(
        e.contains("[devices.edu1] address") && e.contains("edu0"),
        "{e}"
    );
}

#[test]
fn domain_owner_must_be_a_task() {
    let e = system("owner = \"ping\"", "owner = \"pingg\"").unwrap_err();
    assert!(
        e.contains("[domains.a] owner") && e.contains("pingg"),
        "{e}"
    );
}

#[test]
fn rmrr_with_end_below_base_is_refused() {
    let e = system("end = 0x3000fff", "end = 0x2000fff").unwrap_err();
    assert!(e.contains("[[platform.rmrr]] #1 end"), "{e}");
}

#[test]
fn rmrr_not_covering_whole_pages_is_refused() {
    let e = system("end = 0x3000fff", "end = 0x3000ffe").unwrap_err();
    assert!(
        e.contains("[[platform.rmrr]] #1") && e.contains("4 KiB"),
        "{e}"
    );
}

#[test]
fn rmrr_for_an_unknown_device_is_refused() {
    let e = system("devices = [\"00:02.0\"]", "devices = [\"00:05.0\"]").unwrap_err();
    assert!(
        e.contains("[[platform.rmrr]] #1 devices") && e.contains("00:05.0"),
        "{e}"
    );
}

#[test]
fn domain_map_of_a_non_dma_region_is_refused() {
    let text = format!(
        "{GOOD}[regions.mm]\nkind = \"mmio\"\nsize = 0x1000\nbase = 0xfe000000\n{}",
        SYSTEM.replacen("region = \"buf\"", "region = \"mm\"", 1)
    );
    let e = load(&text).unwrap_err();
    assert!(e.contains("[domains.a] maps") && e.contains("dma"), "{e}");
}

#[test]
fn notify_needs_an_existing_task_and_notification() {
    let ok = load(&with(
        "supervisor = true\n",
        "supervisor = true\nnotify = { ping = \"death\" }\n",
    ));
    let e = ok.unwrap_err();
    assert!(
        e.contains("[tasks.supervisor] notify") && e.contains("death"),
        "{e}"
    );
    let e = load(&with(
        "supervisor = true\n",
        "supervisor = true\nnotify = { pingg = \"x\" }\n",
    ))
    .unwrap_err();
    assert!(
        e.contains("[tasks.supervisor] notify") && e.contains("pingg"),
        "{e}"
    );
}

#[test]
fn notify_may_point_downhill() {
    let text = with(
        "supervisor = true\n",
        "supervisor = true\nnotify = { ping = \"death\" }\n",
    )
    .replacen(
        "task-slots = [\"pong\", { boss = \"supervisor\" }]",
        "task-slots = [\"pong\", { boss = \"supervisor\" }]\nnotifications = [\"death\"]",
        1,
    );
    let app = load(&text).unwrap();
    assert_eq!(app.tasks[0].notify, vec![("ping".to_string(), 2, 1)]);
}

#[test]
fn graph_draws_every_task_and_every_call() {
    let app = load(GOOD).unwrap();
    let dot = crate::graph::dot(&app);
    assert!(
        dot.contains("t2 -> t1 [label=\"pong\"]") && dot.contains("t2 -> t0 [label=\"boss\"]"),
        "{dot}"
    );
    let svg = crate::graph::svg(&app);
    assert_eq!(svg.matches("<rect").count(), app.tasks.len());
    assert_eq!(svg.matches("marker-end").count(), 2);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
}

#[test]
fn ioapic_input_gets_its_own_vector_above_msi_vectors() {
    let app = load(&with(
        "priority = 9",
        "priority = 9\nnotifications = [\"uart\"]\nioapic = { uart = 4 }",
    ))
    .unwrap();
    assert_eq!(
        app.tasks[3].irqs,
        vec![(IOAPIC_VECTOR_BASE + 4, 1, Some(4))]
    );
}

#[test]
fn ioapic_input_beyond_the_ioapic_is_refused() {
    let e = load(&with(
        "priority = 9",
        "priority = 9\nnotifications = [\"uart\"]\nioapic = { uart = 24 }",
    ))
    .unwrap_err();
    assert!(e.contains("[tasks.idle] ioapic") && e.contains("24"), "{e}");
}

#[test]
fn msi_vector_in_the_ioapic_range_is_refused() {
    let e = load(&with(
        "priority = 9",
        "priority = 9\nnotifications = [\"irq\"]\ninterrupts = { irq = 230 }",
    ))
    .unwrap_err();
    assert!(
        e.contains("[tasks.idle] interrupts") && e.contains("230"),
        "{e}"
    );
}

/// The crates of GOOD, with `task-ping` calling interface Pong through its
/// `pong` slot and the pong task's crate being `pong_crate`.
fn interface_crates(pong_crate: CrateInfo) -> Vec<CrateInfo> {
    let mut ping = CrateInfo::named("task-ping");
    ping.uses.insert("pong".into(), "Pong".into());
    vec![
        CrateInfo::named("task-supervisor"),
        CrateInfo::named("task-idle"),
        ping,
        pong_crate,
    ]
}

fn serving(name: &str, interfaces: &[&str]) -> CrateInfo {
    CrateInfo {
        serves: interfaces.iter().map(|s| s.to_string()).collect(),
        ..CrateInfo::named(name)
    }
}

#[test]
fn swapping_in_a_crate_that_does_not_implement_the_slots_interface_is_an_error_naming_both() {
    let text = GOOD.replacen(
        "[tasks.pong]\ncrate = \"task-ping\"",
        "[tasks.pong]\ncrate = \"task-counter\"",
        1,
    );
    let crates = interface_crates(serving("task-counter", &["Counter"]));
    let e = load_with(&text, &crates).unwrap_err();
    assert!(
        e.contains("[tasks.ping] task-slots: \"pong\" is task \"pong\", whose crate task-counter does not implement interface Pong that task-ping calls through this slot (it implements: Counter)"),
        "{e}"
    );
}

#[test]
fn swapping_in_another_crate_that_implements_the_interface_is_accepted() {
    let text = GOOD.replacen(
        "[tasks.pong]\ncrate = \"task-ping\"",
        "[tasks.pong]\ncrate = \"task-pong-fast\"",
        1,
    );
    let crates = interface_crates(serving("task-pong-fast", &["Pong", "Stats"]));
    let app = load_with(&text, &crates).unwrap();
    assert!(app.tasks.iter().any(|t| t.krate == "task-pong-fast"));
}

#[test]
fn a_slot_the_crate_calls_through_but_app_toml_does_not_bind_is_an_error() {
    let mut crates = interface_crates(serving("task-pong", &["Pong"]));
    crates[2].uses.insert("log".into(), "Log".into());
    let text = GOOD.replacen(
        "[tasks.pong]\ncrate = \"task-ping\"",
        "[tasks.pong]\ncrate = \"task-pong\"",
        1,
    );
    let e = load_with(&text, &crates).unwrap_err();
    assert!(
        e.contains(
            "[tasks.ping] task-slots: crate task-ping calls interface Log through a slot \"log\""
        ),
        "{e}"
    );
}

#[test]
fn malformed_custody_metadata_is_an_error_naming_the_crate_and_key() {
    let manifest: toml::Value = toml::from_str(
        "[package]\nname = \"task-x\"\n[package.metadata.custody]\nserves = \"Iommu\"\n",
    )
    .unwrap();
    let e = CrateInfo::from_manifest(&manifest).unwrap().unwrap_err();
    assert_eq!(
        e,
        "task-x's Cargo.toml: [package.metadata.custody] serves: expected a list of interface names"
    );
}

#[test]
fn every_task_crate_of_the_workspace_declares_valid_interface_metadata() {
    let crates = crate::workspace_crates().unwrap();
    let iommu = crates.iter().find(|c| c.name == "task-iommu").unwrap();
    assert_eq!(iommu.serves, ["Iommu"]);
    let broker = crates.iter().find(|c| c.name == "task-broker").unwrap();
    assert_eq!(broker.uses.get("iommu").map(String::as_str), Some("Iommu"));
}

// ---- the memory custody uses (xtask/src/memory.rs) ----

/// `GOOD` + `SYSTEM` with `extra` tables appended and `old` replaced.
fn memory(old: &str, new: &str, extra: &str) -> Result<App, String> {
    let text = format!("{GOOD}{SYSTEM}{extra}");
    assert!(text.contains(old), "test bug: {old:?}");
    load(&text.replacen(old, new, 1))
}

#[test]
fn explicit_base_inside_the_kernel_or_its_frame_pool_is_refused() {
    let e = memory(
        "",
        "",
        "[regions.low]\nkind = \"persist\"\nsize = 0x1000\nbase = 0x1000000\n",
    )
    .unwrap_err();
    assert!(
        e.contains("[regions.low] base") && e.contains("the kernel image and its frame pool"),
        "{e}"
    );
}

#[test]
fn explicit_base_on_a_region_the_layout_places_is_refused() {
    let e = memory(
        "",
        "",
        "[regions.fixed]\nkind = \"persist\"\nsize = 0x1000\nbase = 0x2000000\n",
    )
    .unwrap_err();
    assert!(
        e.contains("[regions.fixed] base") && e.contains("region \"buf\""),
        "{e}"
    );
}

#[test]
fn an_app_rmrr_over_the_kernel_is_refused() {
    let e = memory(
        "base = 0x3000000\nend = 0x3000fff",
        "base = 0x100000\nend = 0x100fff",
        "",
    )
    .unwrap_err();
    assert!(
        e.contains("[[platform.rmrr]] #1 base") && e.contains("the kernel image"),
        "{e}"
    );
}

#[test]
fn an_app_rmrr_over_a_region_is_refused() {
    let e = memory(
        "base = 0x3000000\nend = 0x3000fff",
        "base = 0x2000000\nend = 0x2000fff",
        "",
    )
    .unwrap_err();
    assert!(
        e.contains("[[platform.rmrr]] #1 base") && e.contains("region buf"),
        "{e}"
    );
}

#[test]
fn an_as_firmware_rmrr_is_left_to_run_time_and_only_in_test_images() {
    let hostile = "base = 0x1f00000\nend = 0x1f00fff\nas-firmware = true";
    let e = memory("base = 0x3000000\nend = 0x3000fff", hostile, "").unwrap_err();
    assert!(
        e.contains("as-firmware") && e.contains("test images"),
        "{e}"
    );
    let app = memory(
        "base = 0x3000000\nend = 0x3000fff",
        hostile,
        "[test]\nscenarios = []\n",
    )
    .unwrap();
    assert!(app.system.rmrrs[0].as_firmware);
}

#[test]
fn a_domain_map_of_a_region_its_owner_does_not_hold_is_refused() {
    // Page tables: a dma region granted to another task (say the iommu).
    let e = memory(
        "region = \"buf\"",
        "region = \"tables\"",
        "[regions.tables]\nkind = \"dma\"\nsize = 0x1000\n",
    )
    .unwrap_err();
    assert!(
        e.contains("[domains.a] maps") && e.contains("not granted to the domain's owner ping"),
        "{e}"
    );
}

#[test]
fn a_domain_map_of_a_region_another_task_also_holds_is_refused() {
    let e = memory(
        "crate = \"task-ping\"\npriority = 2",
        "crate = \"task-ping\"\npriority = 2\nregions = [\"buf\"]",
        "",
    )
    .unwrap_err();
    assert!(
        e.contains("[domains.a] maps") && e.contains("also granted to task pong"),
        "{e}"
    );
}

#[test]
fn a_region_mapped_by_two_domains_is_refused() {
    let e = memory(
        "",
        "",
        "[domains.b]\nowner = \"ping\"\nmaps = [{ iova = 0x100000, region = \"buf\" }]\n",
    )
    .unwrap_err();
    assert!(
        e.contains("[domains.b] maps") && e.contains("already mapped by domain a"),
        "{e}"
    );
}

#[test]
fn overlapping_iovas_in_one_domain_are_refused() {
    let both = format!("{GOOD}{SYSTEM}[regions.buf2]\nkind = \"dma\"\nsize = 0x1000\n")
        .replacen("regions = [\"buf\"]", "regions = [\"buf\", \"buf2\"]", 1)
        .replacen(
            "maps = [{ iova = 0x100000, region = \"buf\" }]",
            "maps = [{ iova = 0x100000, region = \"buf\" }, { iova = 0x100000, region = \"buf2\" }]",
            1,
        );
    let e = load(&both).unwrap_err();
    assert!(
        e.contains("[domains.a] maps") && e.contains("overlaps \"buf\""),
        "{e}"
    );
}

#[test]
fn a_domain_map_over_an_rmrr_is_refused() {
    let e = memory(
        "maps = [{ iova = 0x100000, region = \"buf\" }]",
        "maps = [{ iova = 0x3000000, region = \"buf\" }]",
        "",
    )
    .unwrap_err();
    assert!(
        e.contains("[domains.a] maps") && e.contains("RMRR #1"),
        "{e}"
    );
}

#[test]
fn the_acpi_root_hook_is_refused_outside_test_images() {
    let e = load(&format!("{GOOD}[kernel]\ntest-acpi-root = 0xffffffe0\n")).unwrap_err();
    assert!(e.contains("[kernel] test-acpi-root"), "{e}");
}

#[test]
fn a_log_scenario_needs_every_string_in_one_line() {
    let expect = LogExpect {
        name: "n".into(),
        line_with: vec!["kernel".into(), "was at 0x".into(), "main.rs:".into()],
    };
    let split = ["[ 1ms] kernel WARN task v was at 0x10", "x (main.rs:3)"];
    assert!(!expect.met_by(split.into_iter()));
    let whole = ["[ 1ms] kernel WARN task v was at 0x10 in f (main.rs:3)"];
    assert!(expect.met_by(whole.into_iter()));
}

#[test]
fn a_control_character_in_a_comment_is_a_clear_error() {
    // Found by the `app_toml` fuzz target: the TOML parser's message for
    // it is empty.
    let text = GOOD.replacen("name = \"t\"", "# a comment\u{0}\nname = \"t\"", 1);
    let e = load(&text).unwrap_err();
    assert!(e.contains("line 2:"), "{e}");
    assert!(e.contains("control character"), "{e}");
}

#[test]
fn a_domains_interrupt_takes_the_vector_its_owner_routes() {
    let routed = with(
        "regions = [\"buf\"]\n[tasks.idle]",
        "regions = [\"buf\"]\nnotifications = [\"irq\"]\ninterrupts = { irq = 64 }\n[tasks.idle]",
    );
    let text = format!(
        "{routed}{}",
        SYSTEM.replacen(
            "maps = [{ iova = 0x100000, region = \"buf\" }]",
            "maps = [{ iova = 0x100000, region = \"buf\" }]\ninterrupt = \"irq\"",
            1
        )
    );
    let app = load(&text).unwrap();
    assert_eq!(app.system.domains[0].vector, Some(64));
    assert_eq!(system("", "").unwrap().system.domains[0].vector, None);
}

#[test]
fn a_domains_interrupt_its_owner_does_not_route_is_refused_naming_both() {
    let e = system(
        "maps = [{ iova = 0x100000, region = \"buf\" }]",
        "maps = [{ iova = 0x100000, region = \"buf\" }]\ninterrupt = \"irq\"",
    )
    .unwrap_err();
    assert!(
        e.contains("[domains.a] interrupt") && e.contains("\"ping\"") && e.contains("\"irq\""),
        "{e}"
    );
}

// Registers in custody (`bar0-size`): one device's registers, one task.

/// GOOD with pong as the device custodian and `extra` appended, over SYSTEM
/// with edu0's BAR0 at 0xfe800000 (`bar0_keys` replaces its address line).
fn custody_app(bar0_keys: &str, extra: &str) -> Result<App, String> {
    let good = GOOD.replacen(
        "crate = \"task-ping\"\npriority = 2",
        "crate = \"task-ping\"\npriority = 2\ndevice-custodian = true",
        1,
    );
    let system = SYSTEM.replacen(
        "address = \"00:02.0\"",
        &format!("address = \"00:02.0\"\n{bar0_keys}"),
        1,
    );
    load(&format!("{good}{extra}{system}"))
}

#[test]
fn a_device_with_bar0_size_has_its_registers_in_a_window_of_every_domain_owner_only() {
    let app = custody_app("bar0 = 0xfe800000\nbar0-size = 0x100000", "").unwrap();
    assert_eq!(app.custodian, Some(1));
    assert_eq!(app.system.devices[0].bar0_size, Some(0x10_0000));
    let layout = crate::layout::layout(&app).unwrap();
    assert_eq!(layout.device_offsets, vec![Some(0), None]);
    let windows: Vec<bool> = layout
        .tasks
        .iter()
        .map(|t| t.device_window.is_some())
        .collect();
    assert_eq!(windows, [false, false, true, false], "ping owns domain a");
}

#[test]
fn bar0_size_without_bar0_misaligned_or_not_a_power_of_two_is_refused() {
    for (keys, words) in [
        ("bar0-size = 0x100000", "without bar0"),
        ("bar0 = 0xfe800000\nbar0-size = 0x3000", "power of two"),
        (
            "bar0 = 0xfe801000\nbar0-size = 0x100000",
            "not aligned to its size",
        ),
        (
            "bar0 = 0xfe800000\nbar0-size = 0x800",
            "power of two from 0x1000",
        ),
    ] {
        let e = custody_app(keys, "").unwrap_err();
        assert!(
            e.contains("[devices.edu0] bar0-size") && e.contains(words),
            "{keys}: {e}"
        );
    }
}

#[test]
fn registers_in_custody_without_a_custodian_are_refused() {
    let system = SYSTEM.replacen(
        "address = \"00:02.0\"",
        "address = \"00:02.0\"\nbar0 = 0xfe800000\nbar0-size = 0x100000",
        1,
    );
    let e = load(&format!("{GOOD}{system}")).unwrap_err();
    assert!(
        e.contains("[devices.edu0] bar0-size") && e.contains("device-custodian"),
        "{e}"
    );
}

#[test]
fn a_second_device_custodian_is_refused() {
    let text = GOOD
        .replacen("priority = 2", "priority = 2\ndevice-custodian = true", 1)
        .replacen("priority = 3", "priority = 3\ndevice-custodian = true", 1);
    let e = load(&text).unwrap_err();
    assert!(
        e.contains("[tasks.ping] device-custodian") && e.contains("second"),
        "{e}"
    );
}

#[test]
fn a_region_over_registers_in_custody_is_refused() {
    let region = "[regions.edu0-bar]\nkind = \"mmio\"\nbase = 0xfe800000\nsize = 0x100000\n";
    let e = custody_app("bar0 = 0xfe800000\nbar0-size = 0x100000", region).unwrap_err();
    assert!(
        e.contains("[regions.edu0-bar]") && e.contains("in custody"),
        "{e}"
    );
}

#[test]
fn a_region_over_a_devices_bar0_granted_to_two_tasks_is_refused() {
    let text = GOOD
        .replacen("priority = 2", "priority = 2\nregions = [\"edu0-bar\"]", 1)
        .replacen(
            "regions = [\"buf\"]",
            "regions = [\"buf\", \"edu0-bar\"]",
            1,
        );
    let system = SYSTEM.replacen(
        "address = \"00:02.0\"",
        "address = \"00:02.0\"\nbar0 = 0xfe800000",
        1,
    );
    let region = "[regions.edu0-bar]\nkind = \"mmio\"\nbase = 0xfe800000\nsize = 0x100000\n";
    let e = load(&format!("{text}{region}{system}")).unwrap_err();
    assert!(
        e.contains("[regions.edu0-bar]") && e.contains("granted to pong and ping"),
        "{e}"
    );
}

#[test]
fn two_task_names_that_are_one_constant_are_refused_naming_both() {
    let text = format!(
        "{GOOD}[tasks.ping-2]\ncrate = \"task-ping\"\npriority = 4\n[tasks.ping_2]\ncrate = \"task-ping\"\npriority = 5\n"
    );
    let e = load(&text).unwrap_err();
    assert!(
        e.contains("[tasks]")
            && e.contains("\"ping-2\" and \"ping_2\" are both config::tasks::PING_2"),
        "{e}"
    );
}
