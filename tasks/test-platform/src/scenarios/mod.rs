//! The scenarios, in the order they run (domid's build on each other: the
//! units are configured and rebuilt once, then used).

mod acpi;
mod domid;
mod pci;

use crate::Peers;

/// A named scenario.
pub type Scenario = test_harness::Scenario<Peers>;

pub const ALL: &[Scenario] = &[
    ("acpi_reports_the_unit_at_fed90000", acpi::unit_at_fed90000),
    (
        "acpi_resolves_the_bridge_scope_to_the_device_behind_it",
        acpi::bridge_scope,
    ),
    (
        "acpi_reports_the_configured_rmrr_for_its_device_only",
        acpi::configured_rmrr,
    ),
    ("acpi_reads_back_the_raw_dmar", acpi::raw_dmar),
    (
        "pci_lists_edu_and_the_pcie_to_pci_bridge_with_their_kinds",
        pci::devices_and_kinds,
    ),
    (
        "pci_requester_ids_of_device_behind_bridge_include_secbus_alias",
        pci::bridge_aliases,
    ),
    (
        "pci_config_read_answers_listed_functions_and_refuses_others",
        pci::config_reads,
    ),
    (
        "an_owners_config_write_to_a_bar_msi_or_decode_bits_is_refused_and_changes_nothing",
        pci::owner_writes_refused,
    ),
    (
        "domid_refuses_before_its_books_are_rebuilt",
        domid::refuses_before_the_books_are_rebuilt,
    ),
    (
        "domid_acquires_reuses_and_releases",
        domid::acquires_reuses_and_releases,
    ),
    (
        "domid_exhaustion_is_an_error_not_a_panic",
        domid::exhaustion,
    ),
    (
        "domid_restart_loses_nothing_after_rebuild",
        domid::restart_and_rebuild,
    ),
];
