//! Every `DidAllocator` implementation against the same behaviour suite.

mod suite;

/// Instantiate every behaviour of the suite as a `#[test]` for `$ty`.
macro_rules! suite {
    ($name:ident, $($ty:tt)+) => {
        mod $name {
            use super::suite;
            use proptest::prelude::*;

            type T = domid::$($ty)+;

            suite!(@tests
                nd7_is_refused_as_reserved,
                nd0_unit_gives_8_domain_dids_then_reports_exhaustion,
                caching_mode_never_hands_out_did_0,
                nd0_unit_gives_8_pseudo_dids_from_the_upper_half,
                a_domain_reuses_its_did_for_every_device_behind_the_unit,
                the_did_is_freed_only_when_the_last_device_leaves,
                replayed_acquire_and_release_do_not_double_count,
                replayed_compensation_of_a_failed_move_restores_the_books,
                acquire_for_a_device_already_counted_reports_no_new_count,
                pseudo_dids_never_collide_with_domain_dids,
                quarantine_gives_one_pseudo_did_per_device_idempotently,
                lookups_answer_both_ways_per_unit,
                everything_is_refused_before_the_rebuild,
                rebuild_restores_the_books_from_context_entries,
                rebuild_replaces_whatever_was_there,
                rebuild_refuses_inconsistent_entries_and_stays_not_rebuilt,
                rebuild_of_an_unconfigured_unit_is_refused,
                full_tables_are_errors_that_leak_no_did,
                unknown_and_unconfigured_units_are_errors,
                reconfiguring_a_unit_in_use_is_refused,
            );

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(64))]
                #[test]
                fn random_sequences_agree_with_the_reference_model(
                    ops in proptest::collection::vec(suite::model::op(), 1..200)
                ) {
                    suite::model::run::<T>(&ops)?;
                }
            }
        }
    };
    (@tests $($test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                suite::$test::<T>();
            }
        )*
    };
}

suite!(bitmap, BitmapAllocator<2, 16, 24>);
suite!(free_list, FreeListAllocator<2, 16, 24>);
